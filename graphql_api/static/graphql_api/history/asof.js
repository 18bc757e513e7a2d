// The object as of any instant: a slider across the loaded versions' dates, or a
// date and time picker (the browser's time zone), answered by the asOf query.

import { capfirst, h, replace, uid } from "./dom.js";
import { formatInstant, timeZone } from "./format.js";
import * as Q from "./queries.js";
import { learnRelated, timeNode, valueNode, versionLabel, who } from "./versions.js";

/** "2025-01-03T14:02" in the browser's time zone, for a datetime-local input. */
function localInputValue(iso) {
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

function stateCard(state, at, data) {
  const name = state.model.verboseName;
  const inForce = data.inForce.edges[0]?.node;
  if (!data.state) {
    const first = data.first.edges[0]?.node;
    const message = !inForce
      ? `The ${name} did not exist yet at ${formatInstant(at)}` +
        (first ? `: it was created on ${formatInstant(first.historyDate)}.` : ".")
      : `The ${name} had been deleted at ${formatInstant(at)}: it was deleted on ` +
        `${formatInstant(inForce.historyDate)} by ${who(inForce)}.`;
    return h("p", { class: "notice", text: message });
  }
  const version = data.state;
  learnRelated(state, version);
  return h(
    "article",
    { class: "card as-of-card", "aria-labelledby": "as-of-title" },
    h("h3", { id: "as-of-title" }, `${version.display}, as of `, timeNode(at)),
    h("p", { class: "muted", text: `Version #${version.historyId}: ${versionLabel(version)}` }),
    h(
      "dl",
      { class: "values" },
      state.fields.map((field) =>
        h("div", { class: "row" }, h("dt", { text: capfirst(field.label) }), h("dd", {}, valueNode(state, field, version[field.name], version)))
      )
    )
  );
}

export function renderAsOf(ctx) {
  const { state } = ctx;
  const sliderId = uid("slider");
  const pickerId = uid("at");
  const slider = h("input", { id: sliderId, type: "range", min: "0", step: "1" });
  const sliderText = h("output", { for: sliderId, class: "slider-value" });
  const picker = h("input", { id: pickerId, type: "datetime-local", step: "1" });
  const button = h("button", { type: "submit", class: "button primary", text: "Show" });
  const output = h("div", { class: "as-of-result", "aria-live": "polite" });
  const oldestFirst = () => [...state.versions].reverse();

  let latest = 0; // answers may come back out of order: only the last asked is shown
  const show = async (iso) => {
    const asked = ++latest;
    button.disabled = true;
    replace(output, h("p", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Loading…"));
    let shown;
    try {
      const data = await state.api.query(Q.asOf(state.model), { id: state.objectId, at: iso });
      shown = () => stateCard(state, iso, data);
    } catch (error) {
      shown = () => h("p", { class: "form-error", role: "alert", text: `That moment could not be shown: ${error.message}` });
    }
    if (asked !== latest) return;
    replace(output, shown());
    button.disabled = false;
  };

  const sliderMoved = (load) => {
    const version = oldestFirst()[Number(slider.value)];
    if (!version) return;
    const text = versionLabel(version);
    sliderText.textContent = text;
    slider.setAttribute("aria-valuetext", text);
    picker.value = localInputValue(version.historyDate);
    if (load) show(version.historyDate);
  };
  slider.addEventListener("input", () => sliderMoved(false));
  slider.addEventListener("change", () => sliderMoved(true));

  const form = h(
    "form",
    { class: "as-of-form" },
    h(
      "div",
      { class: "field-group wide" },
      h("label", { for: sliderId, text: "Move through the versions (oldest on the left)" }),
      slider,
      sliderText
    ),
    h(
      "div",
      { class: "field-group" },
      h("label", { for: pickerId, text: `Or pick a date and time (${timeZone()})` }),
      picker
    ),
    button
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const date = new Date(picker.value); // local time, as the picker shows it
    if (!picker.value || Number.isNaN(date.getTime())) {
      replace(output, h("p", { class: "form-error", role: "alert", text: "Pick a date and time first." }));
      return;
    }
    show(date.toISOString());
  });

  const element = h(
    "section",
    { class: "panel" },
    h("h2", { text: "The object as of a date" }),
    h("p", { class: "muted", text: "See every tracked field as it was at any moment." }),
    form,
    output
  );
  let count = 0;
  const refresh = () => {
    if (count === state.versions.length) return;
    const first = count === 0;
    count = state.versions.length; // more were loaded: the slider spans them all
    slider.max = String(count - 1);
    slider.value = slider.max;
    sliderMoved(false);
    if (first) show(state.versions[0].historyDate);
  };
  return { element, refresh };
}
