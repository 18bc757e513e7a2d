// The versions the page has loaded, and how to show them: shared by the views.

import { h } from "./dom.js";
import { EMPTY, formatInstant, formatValue, wordDiff } from "./format.js";
import * as Q from "./queries.js";

export const KIND = { CREATED: "Created", UPDATED: "Updated", DELETED: "Deleted" };

/** The page's state: the model, and the versions loaded so far (newest first). */
export function newState(api, model, objectId) {
  return {
    api,
    model,
    objectId,
    fields: model.fieldInfo.filter((f) => !f.primaryKey),
    byName: new Map(model.fieldInfo.map((f) => [f.name, f])),
    versions: [],
    totalCount: 0,
    pageInfo: { hasNextPage: false, endCursor: null },
    related: new Map(), // field name -> Map(id -> display)
  };
}

/** Remember the names of related objects seen in `version` (foreign keys by name). */
export function learnRelated(state, version) {
  for (const field of state.fields) {
    const related = field.relatedField && version && version[field.relatedField];
    if (!related) continue;
    if (!state.related.has(field.name)) state.related.set(field.name, new Map());
    state.related.get(field.name).set(String(related.objectId), related.display);
  }
}

/** Load the next page of the timeline into `state`; return the new versions. */
export async function loadMore(state) {
  const data = await state.api.query(Q.timeline(state.model), {
    id: state.objectId,
    first: Q.PAGE_SIZE,
    after: state.pageInfo.endCursor,
  });
  const page = data.history;
  for (const { node } of page.edges) {
    learnRelated(state, node);
    learnRelated(state, node.prevVersion);
    state.versions.push(node);
  }
  state.totalCount = page.totalCount;
  state.pageInfo = page.pageInfo;
  return page.edges.map((edge) => edge.node);
}

export function who(version) {
  return version.historyUser ? version.historyUser.username : "an unknown user";
}

/** "3 Jan 2025, 14:02:11 · Updated by editor" */
export function versionLabel(version) {
  return `${formatInstant(version.historyDate)} · ${KIND[version.historyType]} by ${who(version)}`;
}

/**
 * A value as text for people (foreign keys by the related object's name). When
 * `version` (the version the value comes from) carries the related object, its
 * name as of that version wins over the last name the page saw for that id.
 */
export function valueText(state, field, value, version = null) {
  const own = field.relatedField && version && version[field.relatedField];
  if (own && String(own.objectId) === String(value)) {
    return formatValue(field, value, new Map([[String(value), own.display]]));
  }
  return formatValue(field, value, state.related.get(field.name));
}

/** A value as a node: empty values are marked as such. */
export function valueNode(state, field, value, version = null) {
  const text = valueText(state, field, value, version);
  if (text === EMPTY) return h("span", { class: "empty", text: "empty" });
  return h("span", { class: `value kind-${field.kind.toLowerCase()}`, text });
}

/** A <time> for an instant, readable, with the exact ISO value in its title. */
export function timeNode(iso) {
  return h("time", { datetime: iso, title: iso, text: formatInstant(iso) });
}

/** Old -> new of one change (from `older` to `newer`); long text as a word diff. */
export function changeNodes(state, field, before, after, older = null, newer = null) {
  if (field.kind === "TEXT" && before && after) {
    return h(
      "span",
      { class: "word-diff" },
      wordDiff(before, after).map((part) =>
        part.op === "same"
          ? part.text
          : h(part.op, { "aria-label": part.op === "del" ? "removed" : "added" }, part.text)
      )
    );
  }
  return h(
    "span",
    { class: "change-values" },
    h("del", {}, valueNode(state, field, before, older)),
    h("span", { class: "arrow", role: "img", "aria-label": "changed to", text: " → " }),
    h("ins", {}, valueNode(state, field, after, newer))
  );
}
