// #/operator/failures: every organization's failed jobs, newest first (GET /v1/admin/videos with
// status=failed), each with the API's error code and message and who ran it.

import { formatTime, h, replace } from "./dom.js";
import { organizationLink } from "./operator-organizations.js";
import { dataTable, pagedList } from "./parts.js";

const COLUMNS = ["Time", "Organization", "Model", "Error", "Video", "Attempts / worker"];

export const failuresPage = {
  title: "Failures",
  async render(ctx) {
    const error = h("div", { class: "page-error" });
    const failures = dataTable("Failed jobs, newest first", COLUMNS);
    const pages = pagedList({
      path: "/v1/admin/videos",
      query: { status: "failed" },
      container: failures.body,
      render: (video) => failureRow(failures, video),
      empty: failures.emptyRow("No failed jobs."),
      signal: ctx.signal,
      onError: (failure) => ctx.showError(failure, error),
    });
    replace(
      ctx.main,
      h("h1", { tabindex: "-1", text: "Failures" }),
      h("p", { class: "muted" }, "Every organization's failed jobs, newest first, with the error their owners see."),
      error,
      failures.element,
      h("div", { class: "actions" }, pages.button),
    );
    await pages.load();
  },
};

function failureRow(failures, video) {
  const failure = video.error || { code: "—", message: "" };
  return failures.row(
    formatTime(video.completed_at || video.created_at),
    organizationLink(video.organization_id, video.organization_name),
    h("code", { text: video.model }),
    [h("code", { class: "error-code", text: failure.code }), h("div", { class: "error-message", text: failure.message })],
    h("code", { text: video.id }),
    [`${video.attempts} · `, video.worker ? h("code", { text: video.worker }) : h("span", { class: "muted", text: "never claimed" })],
  );
}
