// What only the customer's pages share: authenticated media that is let go when the page goes,
// and a few words for videos and their states. What both sides use is in dom.js and parts.js.

import { blobUrl } from "./api.js";
import { formatDuration } from "./dom.js";

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

/** The first `length` characters of a prompt, on one line. */
export function excerpt(text, length = 90) {
  const line = String(text || "").replace(/\s+/g, " ").trim();
  return line.length > length ? `${line.slice(0, length - 1)}…` : line;
}

/** "in about 12 s (10:42:03)" for a Unix time ahead; "—" when unknown. */
export function eta(unixSeconds) {
  if (!unixSeconds) return "—";
  const seconds = Math.max(0, Math.round(unixSeconds - Date.now() / 1000));
  return `in about ${formatDuration(seconds)} (${new Date(unixSeconds * 1000).toLocaleTimeString()})`;
}
