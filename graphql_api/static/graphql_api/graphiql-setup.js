// Boots GraphiQL against this page's own URL, sending the CSRF token Django set
// in the csrftoken cookie, so mutations (login, revert) work from the explorer.
(function () {
  "use strict";
  var endpoint = window.location.origin + window.location.pathname;
  var container = document.getElementById("graphiql");
  var historyPage = window.location.origin + container.getAttribute("data-history-page");
  var starter = [
    "# See this API at work: the version history page of product 1,",
    "#   " + historyPage,
    "# (any tracked object: /history/<app_label>.<model>/<id>/) is its reference",
    "# client: timeline, compare, as of, revert. Its queries are built like these.",
    "#",
    "# Log in first: uncomment the next line and run Login (the demo's users: editor",
    "# may revert, auditor reads only; password demo-pass-123), then run Timeline.",
    "# mutation Login { login(username: \"editor\", password: \"demo-pass-123\") { __typename } }",
    "query Timeline {",
    "  productHistory(id: \"1\", first: 5) {",
    "    totalCount",
    "    pageInfo { hasNextPage endCursor }",
    "    edges {",
    "      node {",
    "        historyId historyDate historyType price",
    "        historyUser { username }",
    "        historyChangeReason display",
    "        changes { field old new }",
    "      }",
    "    }",
    "  }",
    "}",
  ].join("\n");

  function fetcher(params) {
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    var token = window.Cookies.get("csrftoken");
    if (token) headers["X-CSRFToken"] = token;
    return fetch(endpoint, {
      method: "POST",
      headers: headers,
      credentials: "same-origin",
      body: JSON.stringify(params),
    }).then(function (response) { return response.json(); });
  }

  var explorer = window.GraphiQLPluginExplorer.explorerPlugin();
  var root = window.ReactDOM.createRoot(container);
  root.render(
    window.React.createElement(window.GraphiQL, {
      fetcher: fetcher,
      defaultQuery: starter,
      plugins: [explorer],
      defaultEditorToolsVisibility: true,
    })
  );
})();
