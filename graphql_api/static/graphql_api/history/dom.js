// Building DOM nodes without innerHTML: every value shown here comes from users.

/**
 * Create an element. `attrs` keys: "class", "text" (textContent), "on<Event>"
 * (listeners), booleans (set when true), anything else as an attribute.
 * Children: nodes, strings (text nodes), null/false (skipped) or arrays of these.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace every child of `node` with `children`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

let counter = 0;

/** A unique id for label/aria wiring. */
export function uid(prefix = "h") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Capitalize the first letter, as Django's capfirst. */
export function capfirst(text) {
  const value = String(text ?? "");
  return value.charAt(0).toUpperCase() + value.slice(1);
}
