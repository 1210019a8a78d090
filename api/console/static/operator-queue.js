// #/operator/queue: GET /v1/admin/queue as a table per model, read again every few seconds while
// the page is open (the timer stops when the reader leaves: ctx.signal).

import { api } from "./api.js";
import { formatDuration, h, replace } from "./dom.js";
import { dataTable } from "./parts.js";

const REFRESH_MS = 3000;

export const queuePage = {
  title: "Queue",
  async render(ctx) {
    const error = h("div", { class: "page-error" });
    const queues = dataTable("The queue per model", [
      { label: "Model", rowHeader: true },
      { label: "Queued", className: "number" },
      { label: "Running", className: "number" },
      "Oldest wait",
      "Workers seen",
    ]);
    const refreshed = h("span");
    const again = h("button", { type: "button", class: "secondary", text: "Refresh now" });
    let timer = null;

    async function load() {
      const queue = await api("GET", "/v1/admin/queue", { signal: ctx.signal });
      const windowText = formatDuration(queue.window_seconds);
      replace(
        queues.body,
        queue.data.length ? queue.data.map((q) => queueRow(queues, q, windowText)) : queues.emptyRow("No models served."),
      );
      replace(refreshed, `Last refreshed ${new Date(queue.generated_at * 1000).toLocaleTimeString()}.`);
      replace(error);
    }

    async function tick() {
      clearTimeout(timer);
      try {
        await load();
      } catch (failure) {
        if (!ctx.signal.aborted) ctx.showError(failure, error);
      }
      if (!ctx.signal.aborted) timer = setTimeout(tick, REFRESH_MS);
    }
    ctx.signal.addEventListener("abort", () => clearTimeout(timer));
    again.addEventListener("click", tick);

    replace(
      ctx.main,
      h("h1", { tabindex: "-1", text: "Queue" }),
      h(
        "p",
        { class: "muted" },
        `Per model, read from the database every ${REFRESH_MS / 1000} s while this page is open. `,
        "A worker is seen when it wrote one of the model's job heartbeats in the window; an idle worker is not.",
      ),
      h("div", { class: "toolbar queue-toolbar" }, h("p", { class: "refreshed" }, refreshed), again),
      error,
      queues.element,
    );
    await tick();
  },
};

function queueRow(queues, queue, windowText) {
  return queues.row(
    [h("code", { text: queue.model }), queue.served ? null : h("span", { class: "muted", text: " (no longer served)" })],
    queue.queued,
    queue.running,
    queue.queued ? formatDuration(queue.oldest_queued_seconds) : "—",
    queue.workers_seen.length
      ? h("ul", { class: "plain" }, queue.workers_seen.map((worker) => h("li", {}, h("code", { text: worker }))))
      : h("span", { class: "muted", text: `none in the last ${windowText}` }),
  );
}
