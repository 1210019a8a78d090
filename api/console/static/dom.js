// Building the DOM without markup strings: every text goes in as textContent and every value as a
// property or attribute, so a prompt, a company name or an error message can never become markup.
// Also the small elements and words both sides' pages use: fields, facts, a confirm step, badges,
// times, durations and numbers for people. Bigger shared pieces are in parts.js.

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

/** A number for people, in the reader's locale, with at most `decimals` decimals: "1,234.57". */
export function formatNumber(value, decimals = 2) {
  return Number(value || 0).toLocaleString(undefined, { maximumFractionDigits: decimals });
}

/**
 * "0.4 s", "2.5 s", "3 s", "42 s", "4 min 10 s", "5 min", "2 h 5 min": a duration for people.
 * Under 10 s to a tenth, where a tenth of a second is still worth reading (whole seconds showed a
 * 0.12 s step as "0 s"); above, whole units.
 */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 9.95) return `${formatNumber(seconds, 1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
  const minutes = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${minutes ? ` ${minutes} min` : ""}`;
}

/** One of the API's snake_case words (a status, a phase, a capability) as words: "in progress". */
export function words(identifier) {
  return String(identifier).replaceAll("_", " ");
}

/** A status badge: the status word, styled by it (never colour alone: the word is the label). */
export function statusBadge(status) {
  return h("span", { class: `badge status-${status}`, text: words(status) });
}

/**
 * A <dl class="facts"> of [term, value] pairs, term beside value (stacked on a phone); a value is
 * text or a node. A pair whose value is null, undefined or "" is left out: what the API does not
 * say is not shown as an empty line.
 */
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs
      .filter(([, value]) => value !== null && value !== undefined && value !== "")
      .map(([term, value]) => [h("dt", { text: term }), h("dd", {}, value)]),
  );
}

/**
 * A button that asks before it acts, in its own place and without window.confirm (which blocks
 * the page, and which assistive tech and browser automation handle badly). Pressing it shows
 * `question` with two buttons, `confirmLabel` and `backLabel`, in a group named by the question;
 * the back-out button or Escape puts the trigger back, focused.
 *
 * The focus goes to the back-out button, the safe choice (as in an alert dialog, WAI-ARIA APG):
 * pressing the trigger was the reader's one deliberate act, and the same key again (held down,
 * pressed twice, a double click) must not delete or revoke anything. The confirm is one Shift+Tab
 * away and its label says what it does.
 *
 * `onConfirm` is awaited with both buttons disabled. It shows its own errors (ctx.showError) and
 * returns false when the action did not happen: the trigger then comes back, focused, to try
 * again (a throw does the same, and propagates). After a success the caller redraws what changed
 * and places the focus. `ariaLabel` names the trigger where its label alone is ambiguous (a
 * Revoke in every row); `describedBy` (an id) points the trigger and the confirm at what they act
 * on. `backLabel` is "Cancel" unless that word already names another action beside it (a job's
 * Cancel next to its Delete).
 */
export function confirmButton({ label, confirmLabel, question, onConfirm, backLabel = "Cancel", ariaLabel, describedBy, className = "danger" }) {
  const wrapper = h("span", { class: "confirm" });
  const trigger = h("button", { type: "button", class: className, text: label, "aria-label": ariaLabel, "aria-describedby": describedBy });
  const restore = () => {
    replace(wrapper, trigger);
    trigger.focus();
  };
  trigger.addEventListener("click", () => {
    const questionId = uniqueId("confirm");
    const yes = h("button", { type: "button", class: "danger", text: confirmLabel, "aria-describedby": describedBy });
    const back = h("button", { type: "button", class: "secondary", text: backLabel });
    const step = h(
      "span",
      { class: "confirm-step", role: "group", "aria-labelledby": questionId },
      h("span", { id: questionId, text: question }),
      yes,
      back,
    );
    back.addEventListener("click", restore);
    step.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !yes.disabled) {
        event.preventDefault();
        restore();
      }
    });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      back.disabled = true;
      let done = false;
      try {
        done = (await onConfirm()) !== false;
      } finally {
        if (!done) restore();
        else if (step.isConnected) replace(wrapper, trigger); // nothing was redrawn: no dead buttons left
      }
    });
    replace(wrapper, step);
    back.focus();
  });
  replace(wrapper, trigger);
  return wrapper;
}
