// The version history page: the reference client of the GraphQL API.
// Boot: who is signed in (me) -> the model's description (trackedModel) -> the
// first page of the timeline. Every failure is shown with what to do next.

import { Api } from "./api.js";
import { capfirst, h, replace } from "./dom.js";
import { timeZone } from "./format.js";
import * as Q from "./queries.js";
import { renderAsOf } from "./asof.js";
import { renderCompare } from "./compare.js";
import { openRevert } from "./revert.js";
import { renderTimeline } from "./timeline.js";
import { loadMore, newState, versionLabel } from "./versions.js";

const bootstrap = JSON.parse(document.getElementById("history-bootstrap").textContent);
const api = new Api(bootstrap.endpoint);
const root = document.getElementById("app");
const sessionBox = document.getElementById("session");
const statusBox = document.getElementById("status");

const HINTS = {
  FORBIDDEN:
    "Ask an administrator for the permission named above, or sign out and sign in " +
    "as someone who has it.",
  NOT_FOUND:
    "Check the address: it should look like /history/catalog.product/1/ (the " +
    "model's app label and name, then the object's id).",
  BAD_USER_INPUT: "Check the object's id in the address.",
  NETWORK: "Check your connection, then try again.",
  QUERY_TOO_COSTLY: "Try again with fewer versions on screen.",
};

/**
 * Announce a message: shown to everyone, or with `quiet` to screen readers only
 * (progress that the page itself already shows).
 */
function announce(text, quiet = false) {
  replace(statusBox, text ? h("p", { class: quiet ? "sr-only" : null, text }) : null);
}

function showLoading(text) {
  root.setAttribute("aria-busy", "true");
  replace(
    root,
    h("div", { class: "card loading" }, h("span", { class: "spinner", "aria-hidden": "true" }), text)
  );
  announce(text, true);
}

function showError(error, retry) {
  root.removeAttribute("aria-busy");
  const hint = HINTS[error.code] || "Try again; if it keeps failing, tell the site's administrators.";
  replace(
    root,
    h(
      "section",
      { class: "card error-state", role: "alert", "aria-labelledby": "error-title" },
      h("h2", { id: "error-title", text: "The history could not be shown" }),
      h("p", { class: "api-message", text: error.message }),
      h("p", { class: "hint", text: hint }),
      retry && h("button", { type: "button", class: "button", onClick: retry, text: "Try again" })
    )
  );
  announce("");
}

function renderSession(user) {
  if (!user) {
    replace(sessionBox);
    return;
  }
  replace(
    sessionBox,
    h("span", {}, "Signed in as ", h("strong", { text: user.username })),
    h("button", { type: "button", class: "button link", onClick: signOut, text: "Sign out" })
  );
}

async function signOut() {
  try {
    await api.mutate(Q.LOGOUT);
  } catch (error) {
    announce(`Signing out failed: ${error.message}`);
    return;
  }
  api.csrfToken = null;
  renderSession(null);
  showSignIn("You are signed out.");
}

function showSignIn(notice = "") {
  root.removeAttribute("aria-busy");
  const failure = h("p", { class: "form-error", role: "alert" });
  const username = h("input", { id: "signin-username", name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    id: "signin-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const submit = h("button", { type: "submit", class: "button primary", text: "Sign in" });
  const form = h(
    "form",
    { class: "stack", onSubmit: (event) => signIn(event, { username, password, submit, failure }) },
    h("label", { for: "signin-username", text: "Username" }),
    username,
    h("label", { for: "signin-password", text: "Password" }),
    password,
    failure,
    submit
  );
  replace(
    root,
    h(
      "section",
      { class: "card signin", "aria-labelledby": "signin-title" },
      h("h2", { id: "signin-title", text: "Sign in to see this history" }),
      notice && h("p", { class: "notice", text: notice }),
      h("p", {
        text:
          "The history is read through the GraphQL API with your own permissions: " +
          "you see only what your account may read.",
      }),
      form
    )
  );
  announce("Sign in to continue.", true);
  username.focus();
}

async function signIn(event, { username, password, submit, failure }) {
  event.preventDefault();
  submit.disabled = true;
  submit.textContent = "Signing in…";
  replace(failure);
  try {
    const data = await api.mutate(Q.LOGIN, { username: username.value, password: password.value });
    const result = data.login;
    if (result.__typename === "LoginSuccess") {
      api.csrfToken = result.csrfToken; // login rotates the token
      renderSession(result.user);
      await loadModel();
      return;
    }
    replace(failure, result.messages[0].message);
  } catch (error) {
    replace(failure, error.message);
  }
  submit.disabled = false;
  submit.textContent = "Sign in";
  password.focus();
}

async function start() {
  showLoading("Loading…");
  let me;
  try {
    me = (await api.query(Q.SESSION)).me;
  } catch (error) {
    showError(error, start);
    return;
  }
  renderSession(me);
  if (!me) showSignIn();
  else await loadModel();
}

async function loadModel() {
  showLoading("Loading the history…");
  try {
    const { trackedModel } = await api.query(Q.MODEL, { label: bootstrap.label });
    const state = newState(api, trackedModel, bootstrap.objectId);
    await loadMore(state);
    renderPage(state);
  } catch (error) {
    if (error.code === "UNAUTHENTICATED") showSignIn("Your session has ended.");
    else showError(error, loadModel);
  }
}

function objectHeader(state) {
  const latest = state.versions[0];
  const model = state.model;
  const count = state.totalCount;
  return h(
    "header",
    { class: "object-header" },
    h("p", { class: "eyebrow", text: `${capfirst(model.verboseName)} #${state.objectId} · ${model.label}` }),
    h("h1", { id: "object-title", text: latest ? latest.display : `${capfirst(model.verboseName)} #${state.objectId}` }),
    latest &&
      h("p", {
        class: "meta",
        text: `${count} ${count === 1 ? "version" : "versions"} · last change ${versionLabel(latest)}`,
      })
  );
}

function emptyState(state) {
  return h(
    "section",
    { class: "card empty-state", "aria-labelledby": "empty-title" },
    h("h2", { id: "empty-title", text: "No history recorded" }),
    h("p", {
      text:
        `There are no recorded versions of ${state.model.verboseName} #${state.objectId}. ` +
        "Check the id in the address; an object created before its history was " +
        "recorded gets a first version with manage.py populate_history.",
    })
  );
}

function deletedBanner(state, ctx) {
  const latest = state.versions[0];
  if (!latest || latest.historyType !== "DELETED") return null;
  const before = state.versions.find((v) => v.historyType !== "DELETED");
  const name = state.model.verboseName;
  return h(
    "section",
    { class: "banner deleted", "aria-labelledby": "deleted-title" },
    h("h2", { id: "deleted-title", text: `This ${name} was deleted` }),
    h("p", { text: `Deleted ${versionLabel(latest).replace(/ · Deleted/, "")}.` }),
    state.model.canRestore && before
      ? h("button", {
          type: "button",
          class: "button primary",
          onClick: () => ctx.revert(before, true),
          text: `Restore this ${name}…`,
        })
      : h("p", {
          class: "muted",
          text: state.model.canRevert
            ? "Restoring it needs the add permission as well."
            : "You may read this history; restoring needs the add and change permissions.",
        })
  );
}

function permissionNote(state) {
  if (state.model.canRevert) return null;
  return h("p", {
    class: "note",
    text: "You may read this history. Reverting needs the change permission.",
  });
}

function tabs(panels) {
  const list = h("div", { class: "tabs", role: "tablist", "aria-label": "Views of the history" });
  const buttons = [];
  const select = (index, focus = false) => {
    panels.forEach((panel, i) => {
      buttons[i].setAttribute("aria-selected", String(i === index));
      buttons[i].tabIndex = i === index ? 0 : -1;
      panel.element.hidden = i !== index;
    });
    if (focus) buttons[index].focus();
    panels[index].onShow?.();
  };
  panels.forEach((panel, index) => {
    const id = `tab-${panel.key}`;
    panel.element.id = `panel-${panel.key}`;
    panel.element.setAttribute("role", "tabpanel");
    panel.element.setAttribute("aria-labelledby", id);
    const button = h("button", {
      type: "button",
      role: "tab",
      id,
      "aria-controls": panel.element.id,
      onClick: () => select(index),
      onKeydown: (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (step) select((index + step + panels.length) % panels.length, true);
      },
      text: panel.title,
    });
    buttons.push(button);
    list.append(button);
  });
  return { list, select };
}

function renderPage(state) {
  root.removeAttribute("aria-busy");
  document.title = `${state.versions[0]?.display || state.model.verboseName} · Version history`;
  if (!state.versions.length) {
    replace(root, objectHeader(state), emptyState(state));
    announce("No history recorded.", true);
    return;
  }
  const ctx = {
    state,
    announce,
    // After a reload (a revert, a conflict, newer versions), focus goes to the
    // object's heading rather than being lost on the body.
    reload: async () => {
      await loadModel();
      const heading = root.querySelector("h1");
      if (heading) {
        heading.tabIndex = -1;
        heading.focus();
      }
    },
    loadMore: () => loadMore(state),
    revert: (target, restoring = false) => openRevert(ctx, target, restoring),
    compare: (from, to) => {
      view.select(1, true);
      compare.show(from, to);
    },
  };
  const timeline = renderTimeline(ctx);
  const compare = renderCompare(ctx);
  const asOf = renderAsOf(ctx);
  const view = tabs([
    { key: "timeline", title: "Timeline", element: timeline.element, onShow: timeline.refresh },
    { key: "compare", title: "Compare versions", element: compare.element, onShow: compare.refresh },
    { key: "asof", title: "As of a date", element: asOf.element, onShow: asOf.refresh },
  ]);
  replace(
    root,
    objectHeader(state),
    deletedBanner(state, ctx),
    permissionNote(state),
    view.list,
    timeline.element,
    compare.element,
    asOf.element,
    h("p", { class: "footnote", text: `Dates and times are shown in your time zone (${timeZone()}).` })
  );
  view.select(0);
  announce(`History loaded: ${state.versions.length} of ${state.totalCount} versions shown.`, true);
}

start();
