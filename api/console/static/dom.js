// Building the DOM without markup strings: every text goes in as textContent and every value as a
// property or attribute, so a prompt, a company name or an error message can never become markup.

/**
 * An element: h("button", {class: "primary", onclick: go, "aria-label": "Play"}, "Play").
 * Props: `class`, `text`, `for`, `dataset` (object), `style` (object), on* listeners (functions),
 * known properties (value, checked, disabled, hidden, selected, type...), anything else an attribute.
 * Children: nodes, strings, numbers, arrays of them; null/undefined/false are skipped.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "text") element.textContent = String(value);
    else if (name === "for") element.htmlFor = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name === "style") Object.assign(element.style, value);
    else if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name in element && !name.includes("-")) element[name] = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

/** Append children (nodes, strings, nested arrays) to `parent`; falsy ones are skipped. */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace everything in `parent` with `children`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

let uniqueCounter = 0;
/** A fresh id for pairing a <label> with its control. */
export function uniqueId(prefix = "field") {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/** A labelled form field: a <label> and its control (input, select, textarea), with an optional hint. */
export function field(labelText, control, hint) {
  if (!control.id) control.id = uniqueId(control.name || "field");
  const hintNode = hint ? h("small", { class: "hint", id: `${control.id}-hint`, text: hint }) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return h("div", { class: "field" }, h("label", { for: control.id, text: labelText }), control, hintNode);
}

/** A <select> of `options` ([value, label] pairs or plain values), `selected` chosen. */
export function select(name, options, selected) {
  return h(
    "select",
    { name },
    options.map((option) => {
      const [value, label] = Array.isArray(option) ? option : [option, option];
      return h("option", { value, selected: String(value) === String(selected), text: label });
    }),
  );
}

/** A date from a Unix timestamp (seconds), in the reader's locale; "—" when absent. */
export function formatTime(unixSeconds) {
  if (unixSeconds === null || unixSeconds === undefined) return "—";
  return new Date(unixSeconds * 1000).toLocaleString();
}

/** "3 s", "4 min 10 s", "2 h 5 min": a duration for people. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** A status badge: the status word, styled by it (never colour alone: the word is the label). */
export function statusBadge(status) {
  return h("span", { class: `badge status-${status}`, text: String(status).replace("_", " ") });
}
