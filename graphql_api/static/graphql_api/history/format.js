// Values for people: numbers and dates in the browser's locale and time zone,
// foreign keys by name, choices by label, and a word-level diff for long text.

const dateTime = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "medium",
});
const dateOnly = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeZone: "UTC", // a DateField has no time zone: show the stored day
});
const integers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const floats = new Intl.NumberFormat(undefined, { maximumFractionDigits: 6 });
const decimalSeparator =
  new Intl.NumberFormat(undefined)
    .formatToParts(1.5)
    .find((part) => part.type === "decimal")?.value || ".";

export const EMPTY = "empty";

/** The browser's time zone, e.g. "Europe/Paris". */
export function timeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
}

/** An ISO 8601 instant in the browser's time zone. */
export function formatInstant(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : dateTime.format(date);
}

/**
 * A Decimal (sent as a string, exact) with exactly `places` fraction digits,
 * grouped in the browser's locale; no float rounding on the way.
 */
export function formatDecimal(text, places = 2) {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(text).trim());
  if (!match) return String(text);
  const [, sign, whole, fraction = ""] = match;
  const digits = places ?? fraction.length;
  let kept = fraction.padEnd(digits, "0");
  if (kept.length > digits) kept = kept.slice(0, digits); // stored values fit
  const grouped = integers.format(BigInt(whole));
  return sign + grouped + (digits > 0 ? decimalSeparator + kept : "");
}

function formatNumber(value, kind) {
  if (kind === "INTEGER") {
    return /^-?\d+$/.test(String(value)) ? integers.format(BigInt(value)) : String(value);
  }
  const number = Number(value);
  return Number.isFinite(number) ? floats.format(number) : String(value);
}

/**
 * The readable text of one value of `field` (a TrackedField). `related` maps a
 * foreign key's id to the related object's name, when known.
 */
export function formatValue(field, value, related = null) {
  if (value === null || value === undefined || value === "") return EMPTY;
  const choice = (field.choices || []).find((c) => c.value === value);
  if (choice) return choice.label;
  switch (field.kind) {
    case "BOOLEAN":
      return value ? "Yes" : "No";
    case "DECIMAL":
      return formatDecimal(value, field.decimalPlaces ?? 2);
    case "INTEGER":
    case "FLOAT":
      return formatNumber(value, field.kind);
    case "DATETIME":
      return formatInstant(value);
    case "DATE": {
      const date = new Date(`${value}T00:00:00Z`);
      return Number.isNaN(date.getTime()) ? String(value) : dateOnly.format(date);
    }
    case "FOREIGN_KEY": {
      const name = related && related.get(String(value));
      return name ? name : `#${value}`;
    }
    case "JSON":
      return JSON.stringify(value);
    default:
      return String(value);
  }
}

const MAX_DIFF_TOKENS = 4000;

/**
 * Word-level diff of two texts: a list of {op: "same" | "del" | "ins", text}.
 * Longest common subsequence over words and the spaces between them.
 */
export function wordDiff(before, after) {
  const a = String(before ?? "").split(/(\s+)/).filter((t) => t !== "");
  const b = String(after ?? "").split(/(\s+)/).filter((t) => t !== "");
  if (a.length * b.length > MAX_DIFF_TOKENS * MAX_DIFF_TOKENS / 4) {
    return [
      { op: "del", text: a.join("") },
      { op: "ins", text: b.join("") },
    ];
  }
  const table = Array.from({ length: a.length + 1 }, () =>
    new Uint32Array(b.length + 1)
  );
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      table[i][j] =
        a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const parts = [];
  const push = (op, text) => {
    const last = parts[parts.length - 1];
    if (last && last.op === op) last.text += text;
    else parts.push({ op, text });
  };
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      push("same", a[i]);
      i += 1;
      j += 1;
    } else if (table[i + 1][j] >= table[i][j + 1]) {
      push("del", a[i]);
      i += 1;
    } else {
      push("ins", b[j]);
      j += 1;
    }
  }
  while (i < a.length) push("del", a[i++]);
  while (j < b.length) push("ins", b[j++]);
  return parts;
}
