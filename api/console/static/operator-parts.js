// Pieces the operator's pages share: a secret shown once, a button that asks before it acts, the
// tier picker, "Load more" over the admin API's cursor lists, and a small definition list.

import { api } from "./api.js";
import { append, h, replace, uniqueId } from "./dom.js";

/**
 * A secret the API returns once (an API key): the value, a Copy button and a note saying why it
 * must be copied now. `notify` is the page's ctx.notify. Where the browser refuses the clipboard
 * (an insecure origin, a denied permission), the key is selected instead so Ctrl+C copies it.
 */
export function shownOnce(label, secret, note, notify) {
  const labelId = uniqueId("secret");
  const value = h("code", { class: "secret-value", text: secret });
  const copy = h("button", { type: "button", class: "secondary", text: "Copy" });
  copy.addEventListener("click", async () => {
    try {
      if (!navigator.clipboard) throw new Error("no clipboard here");
      await navigator.clipboard.writeText(secret);
      notify("Copied to the clipboard.", "success");
    } catch {
      const range = document.createRange();
      range.selectNodeContents(value);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      notify("This browser did not allow copying: the key is selected, press Ctrl+C (⌘C) to copy it.", "info");
    }
  });
  return h(
    "div",
    { class: "shown-once", role: "group", "aria-labelledby": labelId },
    h("strong", { id: labelId, text: label }),
    h("div", { class: "secret" }, value, copy),
    h("p", { class: "hint", text: note }),
  );
}

/**
 * A button that asks before it acts, without window.confirm: pressing it puts the question and
 * two buttons in its place, focus on Cancel (the safe default); Cancel or Escape puts the button
 * back and focuses it. `onConfirm` is awaited; the caller shows its errors. `ariaLabel` names the
 * button where its label alone is ambiguous (a Revoke in every row).
 */
export function confirmButton({ label, ariaLabel, question, confirmLabel, onConfirm, className = "danger" }) {
  const wrapper = h("span", { class: "confirm" });
  const trigger = h("button", { type: "button", class: className, text: label, "aria-label": ariaLabel });
  const restore = () => {
    replace(wrapper, trigger);
    trigger.focus();
  };
  trigger.addEventListener("click", () => {
    const yes = h("button", { type: "button", class: "danger", text: confirmLabel });
    const no = h("button", { type: "button", class: "secondary", text: "Cancel" });
    const step = h("span", { class: "confirm-step", role: "group", "aria-label": question }, h("span", { text: question }), yes, no);
    no.addEventListener("click", restore);
    step.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        restore();
      }
    });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      no.disabled = true;
      try {
        await onConfirm();
      } finally {
        yes.disabled = false;
        no.disabled = false;
      }
    });
    replace(wrapper, step);
    no.focus();
  });
  replace(wrapper, trigger);
  return wrapper;
}

/** The tiers file's tiers (GET /v1/admin/tiers): configuration, one page. */
export async function fetchTiers(signal) {
  return (await api("GET", "/v1/admin/tiers", { signal })).data;
}

/** A <select> of tiers, each labelled with its description where the tiers file gives one. */
export function tierSelect(tiers, { name = "tier", selected = "", placeholder = null } = {}) {
  const options = tiers.map((tier) =>
    h("option", {
      value: tier.name,
      selected: tier.name === selected,
      text: tier.description ? `${tier.name} — ${tier.description}` : tier.name,
    }),
  );
  const first = placeholder === null ? null : h("option", { value: "", selected: !selected, text: placeholder });
  return h("select", { name }, first, options);
}

/**
 * Pages of an admin list appended to `container` (a tbody, a list), newest first, with a
 * "Load more" button while the API says there is more (the cursor is the page's last id).
 * `render(item)` makes an item's node; `empty` is shown when the first page is empty.
 * Returns {button, load}: await load() once for the first page; the button loads the next.
 */
export function pagedList({ path, query = {}, limit = 20, container, render, empty, signal, onError }) {
  const button = h("button", { type: "button", class: "secondary", text: "Load more", hidden: true });
  let after;
  async function load() {
    button.disabled = true;
    try {
      const page = await api("GET", path, { query: { ...query, limit, after }, signal });
      if (after === undefined) replace(container, page.data.length ? null : empty);
      append(container, page.data.map(render));
      after = page.last_id || undefined;
      button.hidden = !page.has_more;
    } finally {
      button.disabled = false;
    }
  }
  button.addEventListener("click", () => load().catch(onError));
  return { button, load };
}

/**
 * A table in the shared `.table-wrap`. A column is its header text, or {label, className,
 * rowHeader}: className goes on its header and cells (e.g. "number"), rowHeader makes its cells
 * <th scope="row">. Under 720 px wide each row stacks into a block whose cells carry their
 * column's name (data-label, shown by operator.css), so a phone reads it without side-scrolling;
 * the explicit ARIA roles keep it a table for assistive tech once CSS makes its parts blocks.
 * Returns {element, body, row(...cells), emptyRow(text)}: `row` makes a <tr> of cells, each any
 * content h() takes.
 */
export function dataTable(caption, columns) {
  const specs = columns.map((column) => (typeof column === "string" ? { label: column } : column));
  const body = h("tbody", { role: "rowgroup" });
  const element = h(
    "div",
    { class: "table-wrap stacked" },
    h(
      "table",
      { role: "table" },
      h("caption", { class: "visually-hidden", text: caption }),
      h(
        "thead",
        { role: "rowgroup" },
        h(
          "tr",
          { role: "row" },
          specs.map((spec) => h("th", { scope: "col", role: "columnheader", class: spec.className, text: spec.label })),
        ),
      ),
      body,
    ),
  );
  const row = (...cells) =>
    h(
      "tr",
      { role: "row" },
      cells.map((content, index) => {
        const spec = specs[index];
        const props = {
          class: spec.className,
          dataset: { label: spec.label },
          scope: spec.rowHeader ? "row" : null,
          role: spec.rowHeader ? "rowheader" : "cell",
        };
        return h(spec.rowHeader ? "th" : "td", props, h("div", { class: "cell" }, content));
      }),
    );
  const emptyRow = (text) => h("tr", { role: "row" }, h("td", { role: "cell", colSpan: specs.length, class: "empty", text }));
  return { element, body, row, emptyRow };
}

/** A <dl> of [term, description] pairs; a description may be a node or text, null skips the pair. */
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([term, value]) => [h("dt", { text: term }), h("dd", {}, value)]),
  );
}
