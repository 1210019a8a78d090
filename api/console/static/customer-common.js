// What the customer's pages share: authenticated media that is let go when the page goes, a
// delete button that asks twice without a blocking dialog, and a few words for video states.

import { blobUrl } from "./api.js";
import { h, replace } from "./dom.js";

export const ACTIVE_STATUSES = new Set(["queued", "in_progress"]);
export const VIDEO_STATUSES = ["queued", "in_progress", "completed", "failed", "cancelled"];

/** Whether a video can still change (and be cancelled). */
export function isActive(video) {
  return ACTIVE_STATUSES.has(video.status);
}

/**
 * Object URLs of authenticated downloads (img/video elements cannot send the API key), revoked
 * when `signal` aborts, i.e. when the reader leaves the page, so a grid of thumbnails does not
 * keep its blobs in memory for the tab's lifetime. A download that finishes after the page has
 * gone is revoked at once.
 */
export function blobKeeper(signal) {
  const urls = new Set();
  signal.addEventListener("abort", () => {
    for (const url of urls) URL.revokeObjectURL(url);
    urls.clear();
  });
  return {
    async get(path, query) {
      const url = await blobUrl(path, { query, signal });
      if (signal.aborted) {
        URL.revokeObjectURL(url);
        throw new DOMException("The page was left.", "AbortError");
      }
      urls.add(url);
      return url;
    },
    release(url) {
      if (urls.delete(url)) URL.revokeObjectURL(url);
    },
  };
}

/**
 * A "Delete" button that asks for confirmation in place: a click shows "Confirm delete" (focused,
 * so Enter confirms) and "Keep", instead of window.confirm, which blocks the page and is unusable
 * for assistive tech and browser automation alike. `onConfirm` is awaited with the buttons
 * disabled; it shows its own errors, and returning false puts the first button back.
 */
export function deleteButton(onConfirm, { label = "Delete", describedBy } = {}) {
  const box = h("span", { class: "confirm-delete" });
  const start = () => {
    const confirm = h("button", { type: "button", class: "danger", text: "Confirm delete", "aria-describedby": describedBy });
    const keep = h("button", { type: "button", class: "secondary", text: "Keep" });
    keep.addEventListener("click", () => {
      reset();
      box.querySelector("button")?.focus();
    });
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      keep.disabled = true;
      if ((await onConfirm()) === false) {
        reset();
        box.querySelector("button")?.focus();
      }
    });
    replace(box, confirm, keep);
    confirm.focus();
  };
  const reset = () => {
    const first = h("button", { type: "button", class: "danger", text: label, "aria-describedby": describedBy });
    first.addEventListener("click", start);
    replace(box, first);
  };
  reset();
  return box;
}

/** The first `length` characters of a prompt, on one line. */
export function excerpt(text, length = 90) {
  const line = String(text || "").replace(/\s+/g, " ").trim();
  return line.length > length ? `${line.slice(0, length - 1)}…` : line;
}

/** "in 12 s (10:42:03)" for a Unix time ahead; "—" when unknown. */
export function eta(unixSeconds) {
  if (!unixSeconds) return "—";
  const seconds = Math.max(0, Math.round(unixSeconds - Date.now() / 1000));
  return `in about ${seconds} s (${new Date(unixSeconds * 1000).toLocaleTimeString()})`;
}

/** A number of seconds for people: at most two decimals, "2", "2.13". */
export function seconds(value) {
  return Number(value || 0).toLocaleString(undefined, { maximumFractionDigits: 2 });
}

/** A <dl> of [term, value] pairs, skipping empty values. */
export function definitions(pairs, className = "fact-list") {
  return h(
    "dl",
    { class: className },
    pairs
      .filter(([, value]) => value !== null && value !== undefined && value !== "")
      .map(([term, value]) => [h("dt", { text: term }), h("dd", {}, value)]),
  );
}
