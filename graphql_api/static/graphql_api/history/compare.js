// Two versions side by side (the diff query); unchanged fields folded.

import { capfirst, h, replace, uid } from "./dom.js";
import * as Q from "./queries.js";
import { learnRelated, timeNode, valueNode, versionLabel, who } from "./versions.js";
import { wordDiff } from "./format.js";

function options(state, selected) {
  return state.versions.map((version) =>
    h("option", {
      value: version.historyId,
      selected: version.historyId === selected,
      text: `#${version.historyId} · ${versionLabel(version)}`,
    })
  );
}

function textCells(before, after) {
  const parts = wordDiff(before, after);
  const side = (keep) =>
    h(
      "td",
      { class: "word-diff" },
      parts.filter((p) => p.op === "same" || p.op === keep).map((p) => (p.op === "same" ? p.text : h(p.op, {}, p.text)))
    );
  return [side("del"), side("ins")];
}

function row(state, field, older, newer, changed) {
  const before = older[field.name];
  const after = newer[field.name];
  const cells =
    changed && field.kind === "TEXT" && before && after
      ? textCells(before, after)
      : [h("td", {}, valueNode(state, field, before, older)), h("td", {}, valueNode(state, field, after, newer))];
  return h(
    "tr",
    { class: changed ? "changed" : "" },
    h("th", { scope: "row" }, capfirst(field.label), changed && h("span", { class: "sr-only", text: " (changed)" })),
    cells
  );
}

function header(version) {
  return h("th", { scope: "col" }, `Version #${version.historyId}`, h("br"), timeNode(version.historyDate), h("br"), h("span", { class: "muted", text: `by ${who(version)}` }));
}

function table(state, older, newer, fields, changed, caption) {
  return h(
    "table",
    { class: "diff" },
    h("caption", { text: caption }),
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Field" }), header(older), header(newer))),
    h("tbody", {}, fields.map((field) => row(state, field, older, newer, changed)))
  );
}

function result(state, diff) {
  const changedNames = new Set(diff.changes.map((c) => c.field));
  const changed = state.fields.filter((f) => changedNames.has(f.name));
  const same = state.fields.filter((f) => !changedNames.has(f.name));
  const parts = [];
  if (changed.length) {
    const what = `${changed.length} ${changed.length === 1 ? "field differs" : "fields differ"}`;
    parts.push(table(state, diff.from, diff.to, changed, true, what));
  } else {
    parts.push(h("p", { class: "notice", text: "These two versions are the same in every tracked field." }));
  }
  if (same.length) {
    parts.push(
      h(
        "details",
        { class: "unchanged" },
        h("summary", { text: `${same.length} unchanged ${same.length === 1 ? "field" : "fields"}` }),
        table(state, diff.from, diff.to, same, false, "Unchanged fields")
      )
    );
  }
  return parts;
}

export function renderCompare(ctx) {
  const { state } = ctx;
  const fromId = uid("from");
  const toId = uid("to");
  const from = h("select", { id: fromId });
  const to = h("select", { id: toId });
  const output = h("div", { class: "compare-result", "aria-live": "polite" });
  const button = h("button", { type: "submit", class: "button primary", text: "Compare" });
  const form = h(
    "form",
    { class: "compare-form" },
    h("div", { class: "field-group" }, h("label", { for: fromId, text: "Older version" }), from),
    h("div", { class: "field-group" }, h("label", { for: toId, text: "Newer version" }), to),
    button
  );
  const element = h(
    "section",
    { class: "panel" },
    h("h2", { text: "Compare two versions" }),
    h("p", { class: "muted", text: "Choose any two versions loaded in the timeline (load more there to reach older ones)." }),
    form,
    output
  );

  const refresh = () => {
    const versions = state.versions;
    const keepFrom = from.value || versions[Math.min(1, versions.length - 1)].historyId;
    const keepTo = to.value || versions[0].historyId;
    replace(from, options(state, keepFrom));
    replace(to, options(state, keepTo));
  };

  let latest = 0; // answers may come back out of order: only the last asked is shown
  const show = async (older, newer) => {
    refresh();
    let [a, b] = [older, newer];
    const position = (v) => state.versions.findIndex((x) => x.historyId === v.historyId);
    if (position(a) < position(b)) [a, b] = [b, a]; // the list is newest first
    from.value = a.historyId;
    to.value = b.historyId;
    const asked = ++latest;
    button.disabled = true;
    replace(output, h("p", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Comparing…"));
    let shown;
    try {
      const data = await state.api.query(Q.diff(state.model), { id: state.objectId, from: a.historyId, to: b.historyId });
      learnRelated(state, data.diff.from);
      learnRelated(state, data.diff.to);
      shown = () => result(state, data.diff);
    } catch (error) {
      shown = () => h("p", { class: "form-error", role: "alert", text: `The comparison failed: ${error.message}` });
    }
    if (asked !== latest) return; // a later comparison was asked for meanwhile
    replace(output, shown());
    button.disabled = false;
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const find = (id) => state.versions.find((v) => v.historyId === id);
    show(find(from.value), find(to.value));
  });
  refresh();
  return { element, refresh, show };
}
