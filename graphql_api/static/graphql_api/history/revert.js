// Revert (or restore) with a preview: a dry run shows what would change, then a
// reason and a confirmation write it, expecting the latest version the page saw.

import { operationError } from "./api.js";
import { capfirst, h, replace, uid } from "./dom.js";
import { formatInstant } from "./format.js";
import * as Q from "./queries.js";
import { changeNodes } from "./versions.js";

function changeList(state, changes, target) {
  if (!changes.length) {
    return h("p", { class: "notice", text: "Nothing would change: every tracked field already has this version's value." });
  }
  return h(
    "ul",
    { class: "changes", "aria-label": "Fields that will change" },
    changes.map((change) => {
      const field = state.byName.get(change.field) || { name: change.field, label: change.field, kind: "STRING" };
      return h("li", {}, h("span", { class: "field", text: `${capfirst(field.label)}: ` }), changeNodes(state, field, change.old, change.new, state.versions[0], target));
    })
  );
}

function run(state, target, dryRun, reason = null) {
  return state.api.mutate(Q.revert(state.model), {
    id: state.objectId,
    to: target.historyId,
    reason,
    expected: state.versions[0].historyId,
    dryRun,
  });
}

export function openRevert(ctx, target, restoring) {
  const { state } = ctx;
  const name = state.model.verboseName;
  const titleId = uid("revert-title");
  const reasonId = uid("reason");
  const body = h("div", { class: "dialog-body", "aria-live": "polite" });
  const problem = h("div", { class: "dialog-problem" });
  const reason = h("input", { id: reasonId, name: "reason", maxlength: "500", autocomplete: "off" });
  const confirm = h("button", { type: "submit", class: "button primary", disabled: true, text: restoring ? "Confirm restore" : "Confirm revert" });
  const cancel = h("button", { type: "button", class: "button", text: "Cancel" });
  const form = h(
    "form",
    { class: "stack" },
    h("label", { for: reasonId, text: "Reason (kept in the history)" }),
    reason,
    problem,
    h("div", { class: "dialog-actions" }, cancel, confirm)
  );
  const title = restoring
    ? `Restore the deleted ${name}?`
    : `Revert to the version of ${formatInstant(target.historyDate)}?`;
  const dialog = h(
    "dialog",
    { class: "dialog", "aria-labelledby": titleId },
    h("h2", { id: titleId, text: title }),
    h("p", {
      class: "muted",
      text: `${target.display}, version #${target.historyId}. A new version is recorded; nothing is erased.`,
    }),
    body,
    form
  );
  const close = () => {
    dialog.close();
    dialog.remove();
  };
  cancel.addEventListener("click", close);
  dialog.addEventListener("close", () => dialog.remove());

  // A failed preview keeps Confirm disabled: nothing is written unseen.
  const fail = (error, previewFailed = false) => {
    const conflict = error.code === "CONFLICT";
    replace(
      problem,
      h(
        "div",
        { class: "form-error", role: "alert" },
        h("p", { text: error.message }),
        conflict &&
          h("p", {
            text: `Someone changed this ${name} after the page loaded its history. Reload to see the latest version, then decide again.`,
          }),
        conflict &&
          h("button", {
            type: "button",
            class: "button",
            text: "Reload the history",
            onClick: () => {
              close();
              ctx.reload();
            },
          }),
        error.code === "UNAUTHENTICATED" &&
          h("button", {
            type: "button",
            class: "button",
            text: "Sign in again",
            // The page starts over: anonymous visitors get the sign-in form.
            onClick: () => window.location.reload(),
          }),
        previewFailed &&
          !conflict &&
          h("button", { type: "button", class: "button", text: "Preview again", onClick: preview })
      )
    );
    confirm.disabled = conflict || previewFailed;
  };

  async function preview() {
    replace(problem);
    confirm.disabled = true;
    replace(body, h("p", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Checking what would change…"));
    try {
      const result = (await run(state, target, true)).result;
      const error = operationError(result);
      if (error) {
        replace(body);
        fail(error, true);
        return;
      }
      replace(
        body,
        h("h3", { text: result.restored ? `The ${name} will come back with these values changed:` : "Preview: these fields will change" }),
        changeList(state, result.changes, target)
      );
      confirm.disabled = false;
    } catch (error) {
      replace(body);
      fail(error, true);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    confirm.disabled = true;
    confirm.textContent = restoring ? "Restoring…" : "Reverting…";
    try {
      const result = (await run(state, target, false, reason.value || null)).result;
      const error = operationError(result);
      if (error) {
        confirm.textContent = restoring ? "Confirm restore" : "Confirm revert";
        fail(error);
        return;
      }
      close();
      await ctx.reload();
      ctx.announce(
        result.restored
          ? `The ${name} was restored. A new version was recorded.`
          : `Reverted to the version of ${formatInstant(target.historyDate)}. A new version was recorded.`
      );
    } catch (error) {
      confirm.textContent = restoring ? "Confirm restore" : "Confirm revert";
      fail(error);
    }
  });

  document.body.append(dialog);
  dialog.showModal();
  reason.focus();
  preview();
}
