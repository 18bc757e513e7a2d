// The timeline: newest first, what changed in each version, more on demand.

import { capfirst, h, replace } from "./dom.js";
import { KIND, changeNodes, timeNode, valueNode, who } from "./versions.js";

function reasonNode(version) {
  const reason = version.historyChangeReason;
  return reason
    ? h("p", { class: "reason" }, h("span", { class: "sr-only", text: "Reason: " }), `“${reason}”`)
    : h("p", { class: "reason muted", text: "No reason given" });
}

function changesNode(state, version) {
  if (version.historyType === "DELETED") return null;
  if (version.historyType === "CREATED") {
    const rows = state.fields.map((field) =>
      h(
        "div",
        { class: "row" },
        h("dt", { text: capfirst(field.label) }),
        h("dd", {}, valueNode(state, field, version[field.name], version))
      )
    );
    return h("dl", { class: "values", "aria-label": "Values at creation" }, rows);
  }
  if (!version.changes.length) return h("p", { class: "muted", text: "No tracked field changed." });
  return h(
    "ul",
    { class: "changes", "aria-label": "Changed fields" },
    version.changes.map((change) => {
      const field = state.byName.get(change.field) || { name: change.field, label: change.field, kind: "STRING" };
      return h(
        "li",
        {},
        h("span", { class: "field", text: `${capfirst(field.label)}: ` }),
        changeNodes(state, field, change.old, change.new, version.prevVersion, version)
      );
    })
  );
}

function actions(ctx, version, index) {
  const { state } = ctx;
  const latest = state.versions[0];
  if (index === 0) return null;
  const deleted = latest.historyType === "DELETED";
  const mayRevert = deleted ? state.model.canRestore : state.model.canRevert;
  const buttons = [
    h("button", {
      type: "button",
      class: "button",
      onClick: () => ctx.compare(version, latest),
      text: deleted ? "Compare with the deletion" : "Compare with current",
    }),
  ];
  if (mayRevert && version.historyType !== "DELETED") {
    buttons.push(
      h("button", {
        type: "button",
        class: "button",
        onClick: () => ctx.revert(version, deleted),
        text: deleted ? "Restore this version…" : "Revert to this version…",
      })
    );
  }
  return h("div", { class: "entry-actions" }, buttons);
}

function entry(ctx, version, index) {
  const kind = version.historyType.toLowerCase();
  const revertedFrom = version.historyContext && version.historyContext.reverted_from;
  return h(
    "li",
    { class: `entry entry-${kind}`, "data-history-id": version.historyId },
    h(
      "div",
      { class: "entry-head" },
      h("span", { class: `badge badge-${kind}`, text: KIND[version.historyType] }),
      timeNode(version.historyDate),
      h("span", { class: "who", text: `by ${who(version)}` }),
      index === 0 && h("span", { class: "tag", text: kind === "deleted" ? "Latest" : "Current" }),
      revertedFrom && h("span", { class: "tag", text: `Revert to version ${revertedFrom}` })
    ),
    reasonNode(version),
    changesNode(ctx.state, version),
    actions(ctx, version, index)
  );
}

export function renderTimeline(ctx) {
  const { state } = ctx;
  const list = h("ol", { class: "timeline", "aria-label": "Versions, newest first" });
  const footer = h("div", { class: "timeline-footer" });
  const element = h("section", { class: "panel" }, h("h2", { class: "sr-only", text: "Timeline" }), list, footer);

  const renderFooter = () => {
    const shown = `${state.versions.length} of ${state.totalCount} versions shown`;
    const newer = state.totalCount - state.versions.length;
    if (!state.pageInfo.hasNextPage && newer > 0) {
      // Pages follow the versions loaded first: ones recorded since are not in them.
      replace(
        footer,
        h("p", {
          class: "notice",
          text: `${shown}: ${newer} newer ${newer === 1 ? "version was" : "versions were"} recorded since the page loaded.`,
        }),
        h("button", { type: "button", class: "button", onClick: () => ctx.reload(), text: "Reload the history" })
      );
      return;
    }
    if (!state.pageInfo.hasNextPage) {
      replace(footer, h("p", { class: "muted", text: `All ${state.totalCount} versions shown.` }));
      return;
    }
    const button = h("button", { type: "button", class: "button", text: "Load more versions" });
    const error = h("p", { class: "form-error", role: "alert" });
    button.addEventListener("click", async () => {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      button.textContent = "Loading…";
      try {
        const start = state.versions.length;
        const added = await ctx.loadMore();
        added.forEach((version, i) => list.append(entry(ctx, version, start + i)));
        ctx.announce(`${added.length} more versions loaded.`, true);
        renderFooter();
        list.children[start]?.querySelector("time")?.setAttribute("tabindex", "-1");
        list.children[start]?.querySelector("time")?.focus();
      } catch (failure) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
        button.textContent = "Load more versions";
        replace(error, `Loading more failed: ${failure.message}`);
      }
    });
    replace(footer, h("p", { class: "muted", text: shown }), button, error);
  };

  state.versions.forEach((version, i) => list.append(entry(ctx, version, i)));
  renderFooter();
  return { element, refresh: () => {} };
}
