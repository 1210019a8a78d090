// Pieces both sides' pages are built from, above dom.js's elements: a table that stacks into
// labelled blocks on a phone, a list read page by page with "Load more", and a secret the API
// shows once (an API key, a webhook signing secret).

import { api } from "./api.js";
import { append, h, replace, uniqueId } from "./dom.js";

/**
 * A secret the API returns once: the value, a Copy button and a note saying why it must be
 * copied now, in a group named `label`. `notify` is the page's ctx.notify. Where the browser
 * refuses the clipboard (an insecure origin, a denied permission), the secret is selected instead
 * so Ctrl+C copies it.
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
      notify("This browser did not allow copying: the secret is selected, press Ctrl+C (⌘C) to copy it.", "info");
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
 * A list endpoint's pages appended to `container` (a tbody, a list), newest first, with a
 * "Load more" button while the API says there is more (the cursor is the page's last id).
 * `query` is an object or a function giving one (read at every start: the page's filters);
 * `render(item)` makes an item's node (null to leave it out); `empty` (a node, or a function
 * making one) is shown when the first page is empty; `onPage(page)` runs after each page is shown.
 * Returns {button, load}: `await load()` shows the first page, and again to start over when the
 * filters change; an answer to an earlier start that arrives after a newer one is dropped.
 * The button's own errors go to `onError`.
 */
export function pagedList({ path, query = {}, limit = 20, container, render, empty, signal, onError, onPage }) {
  const button = h("button", { type: "button", class: "secondary", text: "Load more", hidden: true });
  let after;
  let generation = 0;
  async function fetchPage(first) {
    const mine = first ? ++generation : generation;
    if (first) after = undefined;
    button.disabled = true;
    try {
      const filters = typeof query === "function" ? query() : query;
      const page = await api("GET", path, { query: { ...filters, limit, after }, signal });
      if (mine !== generation) return; // started over meanwhile: this answer is for old filters
      if (first) replace(container, page.data.length ? null : typeof empty === "function" ? empty() : empty);
      append(container, page.data.map(render));
      after = page.last_id || undefined;
      button.hidden = !page.has_more;
      onPage?.(page);
    } finally {
      if (mine === generation) button.disabled = false;
    }
  }
  button.addEventListener("click", () => fetchPage(false).catch(onError));
  return { button, load: () => fetchPage(true) };
}

/**
 * A table in the shared `.table-wrap`. A column is its header text, or {label, className,
 * rowHeader}: className goes on its header and cells (e.g. "number"), rowHeader makes its cells
 * <th scope="row">. Under 720 px wide each row stacks into a block whose cells carry their
 * column's name (data-label, shown by console.css), so a phone reads it without side-scrolling;
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
