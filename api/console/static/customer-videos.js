// #/videos: the organization's videos as a grid of cards, filtered by status and model; and
// #/videos/<id>: one video, followed live from its event stream until it ends, then its player,
// download, thumbnail and remix.

import { api, ApiError, followVideo, pause } from "./api.js";
import { confirmButton, facts, field, formatDuration, formatNumber, formatTime, h, replace, select, statusBadge, words } from "./dom.js";
import { pagedList } from "./parts.js";
import { blobKeeper, eta, excerpt, isActive, VIDEO_STATUSES } from "./customer-common.js";

const PAGE_SIZE = 24;
// How often the grid re-reads its active videos. One GET per active card: event streams would
// each hold one of the browser's six connections to the server.
const GRID_REFRESH_MS = 3000;
// How often a video's page re-reads it when its event stream is refused (the server is busy).
const FALLBACK_POLL_MS = 2000;

function videoHash(id) {
  return `#/videos/${encodeURIComponent(id)}`;
}

/**
 * A video's Delete, asking in place first (its back-out is "Keep": the job's Cancel may be beside
 * it). `onDeleted` runs once the API has deleted it; a refusal goes to `onError`, in the API's
 * words, and the Delete button comes back.
 */
function deleteVideo(id, { signal, describedBy, onError, onDeleted }) {
  return confirmButton({
    label: "Delete",
    question: "Delete this video and its files?",
    confirmLabel: "Yes, delete",
    backLabel: "Keep",
    describedBy,
    onConfirm: async () => {
      try {
        await api("DELETE", `/v1/videos/${encodeURIComponent(id)}`, { signal });
      } catch (failure) {
        onError(failure);
        return false;
      }
      onDeleted();
      return true;
    },
  });
}

// --- the grid --------------------------------------------------------------------------------

async function renderGrid({ main, signal, notify, showError }) {
  const blobs = blobKeeper(signal);
  const { data: models } = await api("GET", "/v1/models", { signal });
  const status = select("status", [["", "All statuses"], ...VIDEO_STATUSES.map((s) => [s, words(s)])], "");
  const model = select("model", [["", "All models"], ...models.map((m) => m.id)], "");
  const error = h("div", { class: "page-error" });
  const grid = h("ul", { class: "video-grid", "aria-label": "Your videos" });
  const counter = h("p", { class: "muted", role: "status" });
  const cards = new Map(); // id -> {video, element}

  const thumbnail = (video) => {
    const box = h("div", { class: "thumb" });
    if (video.status !== "completed") {
      replace(box, h("span", { class: "thumb-placeholder", text: video.status === "failed" ? "No video" : words(video.status) }));
      return box;
    }
    replace(box, h("span", { class: "thumb-placeholder", text: "Loading…" }));
    blobs
      .get(`/v1/videos/${encodeURIComponent(video.id)}/content`, { variant: "thumbnail" })
      .then((url) => replace(box, h("img", { src: url, alt: `Thumbnail of “${excerpt(video.prompt, 40)}”`, loading: "lazy" })))
      .catch((failure) => {
        if (failure.name !== "AbortError") replace(box, h("span", { class: "thumb-placeholder", text: "Thumbnail unavailable" }));
      });
    return box;
  };

  const card = (video) => {
    const titleId = `video-title-${video.id}`;
    const actions = h("div", { class: "actions" });
    if (isActive(video)) {
      const cancel = h("button", { type: "button", class: "secondary", text: "Cancel", "aria-describedby": titleId });
      cancel.addEventListener("click", async () => {
        cancel.disabled = true;
        try {
          update(await api("POST", `/v1/videos/${encodeURIComponent(video.id)}/cancel`, { signal }));
          notify("Cancelled.", "success");
        } catch (failure) {
          cancel.disabled = false;
          showError(failure, error);
        }
      });
      actions.append(cancel);
    }
    actions.append(
      deleteVideo(video.id, {
        signal,
        describedBy: titleId,
        onError: (failure) => showError(failure, error),
        onDeleted: () => {
          cards.get(video.id)?.element.remove();
          cards.delete(video.id);
          notify("Video deleted.", "success");
          if (!cards.size) replace(grid, emptyItem());
          grid.querySelector(".video-card a")?.focus();
        },
      }),
    );
    return h(
      "li",
      { class: "video-card", dataset: { videoId: video.id, status: video.status } },
      thumbnail(video),
      h(
        "div",
        { class: "video-card-body" },
        h("p", { class: "card-status" }, statusBadge(video.status), isActive(video) ? h("span", { class: "muted card-progress", text: ` ${video.progress}%` }) : null),
        h("h2", { class: "card-title", id: titleId }, h("a", { href: videoHash(video.id), text: excerpt(video.prompt, 70) || video.id })),
        h("p", { class: "muted small" }, `${video.model} · ${video.size} · ${video.seconds} s`, h("br"), formatTime(video.created_at)),
        actions,
      ),
    );
  };

  const update = (video) => {
    const known = cards.get(video.id);
    if (!known) return;
    if (known.video.status === video.status) {
      // Progress only: written in place, so a focused button on the card keeps its focus.
      const percent = known.element.querySelector(".card-progress");
      if (percent) percent.textContent = ` ${video.progress}%`;
      known.video = video;
      return;
    }
    const hadFocus = known.element.contains(document.activeElement);
    const element = card(video);
    known.element.replaceWith(element);
    cards.set(video.id, { video, element });
    if (hadFocus) element.querySelector(".card-title a").focus();
  };

  const emptyItem = () => {
    const filtered = status.value || model.value;
    return h(
      "li",
      { class: "empty" },
      filtered ? "No video matches these filters." : "No videos yet. ",
      filtered ? null : h("a", { href: "#/playground", text: "Generate one in the playground" }),
    );
  };

  const onError = (failure) => showError(failure, error);
  const pages = pagedList({
    path: "/v1/videos",
    query: () => ({ status: status.value, model: model.value }),
    limit: PAGE_SIZE,
    container: grid,
    render: (video) => {
      if (cards.has(video.id)) return null;
      const element = card(video);
      cards.set(video.id, { video, element });
      return element;
    },
    empty: emptyItem,
    signal,
    onError,
    onPage: (page) => {
      replace(error);
      counter.textContent = cards.size ? `${cards.size} video${cards.size === 1 ? "" : "s"} shown${page.has_more ? "; more below" : ""}.` : "";
    },
  });
  const reload = () => {
    cards.clear();
    return pages.load().catch(onError);
  };
  status.addEventListener("change", reload);
  model.addEventListener("change", reload);

  replace(
    main,
    h("h1", { tabindex: "-1", text: "Videos" }),
    h(
      "form",
      { class: "toolbar", role: "search", "aria-label": "Filter videos", onsubmit: (event) => event.preventDefault() },
      field("Status", status),
      field("Model", model),
      h("a", { class: "button primary", href: "#/playground", text: "New video" }),
    ),
    error,
    counter,
    grid,
    h("div", { class: "actions" }, pages.button),
  );
  await reload();

  // Keep the active cards current while the page is open.
  (async () => {
    while (!signal.aborted) {
      await pause(GRID_REFRESH_MS, signal);
      const active = [...cards.values()].filter(({ video }) => isActive(video)).slice(0, PAGE_SIZE);
      for (const { video } of active) {
        if (signal.aborted) return;
        try {
          update(await api("GET", `/v1/videos/${encodeURIComponent(video.id)}`, { signal }));
        } catch (failure) {
          if (failure instanceof ApiError && failure.status === 404) {
            cards.get(video.id)?.element.remove();
            cards.delete(video.id);
          } else if (failure.name !== "AbortError") {
            showError(failure, error);
          }
        }
      }
    }
  })();
}

// --- one video -------------------------------------------------------------------------------

/** A measured time: milliseconds under a second (a small model's step takes a few), else a duration. */
function timing(seconds) {
  return seconds < 1 ? `${formatNumber(seconds * 1000, 0)} ms` : formatDuration(seconds);
}

/** Where the run's time went, as the worker measured it: "queue 1.2 s, …, per step 62 ms". */
function timingsOf(video) {
  if (!video.timings) return null;
  return Object.entries(video.timings)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([name, value]) => `${words(name.replace(/_seconds$|^seconds_/, "")).replace(/^gpu$/, "GPU")} ${timing(value)}`)
    .join(", ");
}

/** What the video was asked for, and (once it has run) where its time went. */
function parametersOf(video) {
  return facts([
    ["Prompt", video.prompt],
    ["Negative prompt", video.negative_prompt],
    ["Model", video.model],
    ["Size", video.size],
    ["Seconds", `${video.seconds} s (${video.num_frames} frames at ${video.fps} fps)`],
    ["Seed", h("code", { text: String(video.seed) })],
    ["Steps", video.num_inference_steps],
    ["Guidance scale", video.guidance_scale],
    ["Image", video.input_reference ? `${video.input_reference.size}, ${formatNumber(video.input_reference.bytes / 1024)} KiB, ${video.input_reference.fit}` : null],
    ["Remixed from", video.remixed_from_video_id ? h("a", { href: videoHash(video.remixed_from_video_id), text: video.remixed_from_video_id }) : null],
    ["Timings", timingsOf(video)],
  ]);
}

async function renderVideo({ main, params, signal, navigate, notify, showError }) {
  const id = params[0];
  const blobs = blobKeeper(signal);
  const path = `/v1/videos/${encodeURIComponent(id)}`;
  let video = await api("GET", path, { signal });
  document.title = `Video ${id} · videogen console`;

  const error = h("div", { class: "page-error" });
  const badge = h("span", { class: "status-slot" });
  const announcer = h("p", { class: "visually-hidden", role: "status" });
  const progress = h("progress", { max: 100, value: 0, "aria-labelledby": "progress-label" });
  const percent = h("span", { class: "percent", text: "0%" });
  const state = h("div", {});
  const failure = h("div", {});
  const actions = h("div", { class: "actions" });
  const result = h("div", { class: "result" }, h("p", { class: "muted", text: "The video plays here once it has completed." }));
  const remix = h("section", { class: "card panel", "aria-labelledby": "remix-title", hidden: true });
  let resultShown = false;
  let lastStatus = null;

  const cancel = h("button", { type: "button", class: "secondary", text: "Cancel" });
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      show(await api("POST", `${path}/cancel`, { signal }));
      notify("Cancelled.", "success");
    } catch (failed) {
      showError(failed, error);
    } finally {
      cancel.disabled = false;
    }
  });
  const remove = deleteVideo(id, {
    signal,
    onError: (failed) => showError(failed, error),
    onDeleted: () => {
      notify("Video deleted.", "success");
      navigate("#/videos");
    },
  });

  const showResult = async () => {
    resultShown = true;
    replace(result, h("p", { class: "muted", text: "Loading the video…" }));
    try {
      const [mp4, thumb] = await Promise.all([blobs.get(`${path}/content`), blobs.get(`${path}/content`, { variant: "thumbnail" })]);
      replace(
        result,
        h("video", { class: "player", src: mp4, controls: true, playsInline: true, loop: true, preload: "metadata", poster: thumb, "aria-label": "The generated video" }),
        h(
          "div",
          { class: "actions" },
          h("a", { class: "button primary", href: mp4, download: `${id}.mp4`, text: "Download MP4" }),
        ),
        h("figure", { class: "thumbnail" }, h("img", { src: thumb, alt: "Thumbnail: the middle frame" }), h("figcaption", { class: "muted", text: "Thumbnail (the middle frame)" })),
      );
    } catch (failed) {
      resultShown = false;
      showError(failed, result);
    }
  };

  const show = (next) => {
    video = next;
    replace(badge, statusBadge(video.status));
    progress.value = video.progress;
    percent.textContent = `${video.progress}%`;
    const steps = video.denoising_step !== null && video.denoising_step !== undefined ? `${video.denoising_step} of ${video.num_inference_steps}` : null;
    replace(
      state,
      facts([
        ["Phase", video.phase ? words(video.phase) : null],
        ["Queue position", video.queue_position],
        ["Denoising step", steps],
        ["Estimated completion", isActive(video) && video.estimated_completion_at ? eta(video.estimated_completion_at) : null],
        ["Created", formatTime(video.created_at)],
        ["Started", video.started_at ? formatTime(video.started_at) : null],
        ["Completed", video.completed_at ? formatTime(video.completed_at) : null],
        ["Files expire", video.expires_at ? formatTime(video.expires_at) : null],
      ]),
    );
    replace(failure, video.error ? h("p", { class: "error", text: `${video.error.message} (${video.error.code})` }) : null);
    if (video.status !== lastStatus) {
      // Only when the status changes: moving the buttons at every event would drop their focus.
      replace(actions, isActive(video) ? cancel : null, remove);
      if (lastStatus !== null) announcer.textContent = `Status: ${words(video.status)}`;
      lastStatus = video.status;
      replace(parameters, parametersOf(video)); // the timings come with the end
    }
    if (video.status === "completed" && !resultShown) showResult();
    if (video.status === "completed") remix.hidden = false;
    if (!isActive(video) && !resultShown) replace(result, h("p", { class: "muted", text: `No video: it ${video.status === "failed" ? "failed" : "was cancelled"}.` }));
  };

  const parameters = h("div", {});
  const remixPrompt = h("textarea", { name: "prompt", required: true, rows: 3, value: video.prompt });
  const remixError = h("div", { class: "page-error" });
  const remixSubmit = h("button", { type: "submit", class: "primary", text: "Remix" });
  const remixForm = h(
    "form",
    {},
    field("New prompt", remixPrompt, "Everything else, the seed included, comes from this video."),
    remixError,
    h("div", { class: "actions" }, remixSubmit),
  );
  remixForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    remixSubmit.disabled = true;
    replace(remixError);
    try {
      const remixed = await api("POST", `${path}/remix`, { json: { prompt: remixPrompt.value }, signal });
      navigate(videoHash(remixed.id));
    } catch (failed) {
      showError(failed, remixError);
    } finally {
      remixSubmit.disabled = false;
    }
  });
  replace(remix, h("h2", { id: "remix-title", text: "Remix" }), remixForm);

  replace(
    main,
    h("p", { class: "breadcrumb" }, h("a", { href: "#/videos", text: "← Videos" })),
    h("h1", { tabindex: "-1" }, "Video ", h("code", { text: id })),
    error,
    h(
      "div",
      { class: "columns video-page" },
      h(
        "section",
        { class: "card panel", "aria-labelledby": "status-title" },
        h("h2", { id: "status-title" }, "Status ", badge),
        h("div", { class: "progress-row" }, h("span", { id: "progress-label", class: "visually-hidden", text: "Progress" }), progress, percent),
        announcer,
        state,
        failure,
        actions,
      ),
      h("section", { class: "card panel", "aria-labelledby": "result-title" }, h("h2", { id: "result-title", text: "Result" }), result),
    ),
    h("section", { class: "card panel", "aria-labelledby": "parameters-title" }, h("h2", { id: "parameters-title", text: "Parameters" }), parameters),
    remix,
  );
  show(video);
  if (isActive(video)) follow();

  async function follow() {
    try {
      const last = await followVideo(
        id,
        (type, next) => {
          if (type === "video.deleted") {
            notify("This video was deleted.", "info");
            navigate("#/videos");
            return;
          }
          show(next);
        },
        { signal },
      );
      if (last === null && !signal.aborted) await poll(); // the stream ended at once: read the end
    } catch (failed) {
      if (failed.name === "AbortError") return;
      if (failed instanceof ApiError && failed.status === 404) {
        showError(failed, error);
        return;
      }
      await poll(); // the stream was refused (e.g. server busy): read the state now and then
    }
  }

  async function poll() {
    while (!signal.aborted && isActive(video)) {
      try {
        show(await api("GET", path, { signal }));
      } catch (failed) {
        showError(failed, error);
        if (failed instanceof ApiError && failed.status === 404) return;
      }
      if (isActive(video)) await pause(FALLBACK_POLL_MS, signal);
    }
  }
}

export const videosPage = {
  title: "Videos",
  render(ctx) {
    return ctx.params[0] ? renderVideo(ctx) : renderGrid(ctx);
  },
};
