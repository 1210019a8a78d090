// #/usage: GET /v1/usage as a chart of rendered video seconds per day, stacked by model, against
// the tier's daily quota; today's used and remaining; and a table of the same numbers.

import { api } from "./api.js";
import { field, formatNumber, h, replace } from "./dom.js";
import { dataTable } from "./parts.js";

const SVG = "http://www.w3.org/2000/svg";
const SERIES_CLASSES = 8; // .series-0 ... .series-7 in customer.css
// The chart's drawing box, in SVG units (it scales to the width of its card).
const WIDTH = 760;
const HEIGHT = 280;
const MARGIN = { top: 36, right: 16, bottom: 40, left: 56 };
// A quota this many times the busiest day would flatten every bar: it is then drawn above the scale.
const QUOTA_OFF_SCALE_RATIO = 5;

/** An SVG element (h() makes HTML ones): attributes only, children appended. */
function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) element.append(child);
  }
  return element;
}

/** Every day from start to end (ISO dates, UTC), inclusive. */
function days(start, end) {
  const result = [];
  const day = new Date(`${start}T00:00:00Z`);
  const last = new Date(`${end}T00:00:00Z`);
  while (day <= last) {
    result.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return result;
}

/** A round number at or above `value` for the top of the axis (1 to 10 by round steps, times a power of ten). */
function niceCeiling(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function shortDate(iso) {
  return new Date(`${iso}T00:00:00Z`).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
}

/** The chart: one stacked bar a day (a segment per model), the quota as a dashed line. */
function chart(usage, models) {
  const dates = days(usage.start_date, usage.end_date);
  const totals = new Map(dates.map((date) => [date, 0]));
  for (const bucket of usage.data) totals.set(bucket.date, (totals.get(bucket.date) || 0) + bucket.video_seconds);
  const busiest = Math.max(0, ...totals.values());
  const quota = usage.today.video_seconds_limit;
  const quotaOnScale = quota > 0 && quota <= Math.max(busiest, 1e-9) * QUOTA_OFF_SCALE_RATIO;
  const top = niceCeiling(quotaOnScale ? Math.max(quota, busiest) * 1.05 : busiest * 1.25);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (value) => MARGIN.top + plotHeight - (value / top) * plotHeight;
  const slot = plotWidth / dates.length;
  const barWidth = Math.max(2, slot * 0.7);

  const grid = [0, 0.25, 0.5, 0.75, 1].map((fraction) => {
    const value = top * fraction;
    return svg(
      "g",
      { class: "tick" },
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value) }),
      svg("text", { x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end" }, formatNumber(value)),
    );
  });
  const labelEvery = Math.ceil(dates.length / 8); // counted back from the last day, which is labelled
  const bars = dates.map((date, index) => {
    const x = MARGIN.left + index * slot + (slot - barWidth) / 2;
    let base = 0;
    const segments = models.map((model, series) => {
      const bucket = usage.data.find((b) => b.date === date && b.model === model);
      if (!bucket || !bucket.video_seconds) return null;
      const rect = svg(
        "rect",
        {
          class: `bar series-${series % SERIES_CLASSES}`,
          x: x.toFixed(1),
          width: barWidth.toFixed(1),
          y: y(base + bucket.video_seconds).toFixed(1),
          height: Math.max(1, y(base) - y(base + bucket.video_seconds)).toFixed(1),
          "data-model": model,
          "data-date": date,
        },
        svg("title", {}, `${date} · ${model}: ${formatNumber(bucket.video_seconds)} s`),
      );
      base += bucket.video_seconds;
      return rect;
    });
    const label =
      (dates.length - 1 - index) % labelEvery === 0
        ? svg("text", { class: "day", x: (x + barWidth / 2).toFixed(1), y: HEIGHT - MARGIN.bottom + 16, "text-anchor": "middle" }, shortDate(date))
        : null;
    return svg("g", {}, segments, label);
  });
  const quotaY = quotaOnScale ? y(quota) : MARGIN.top - 8;
  const quotaText = `Daily quota ${formatNumber(quota)} s${quotaOnScale ? "" : " (above this scale)"}`;
  const quotaLine = svg(
    "g",
    { class: "quota-line", "data-quota": quota },
    svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: quotaY, y2: quotaY }),
    svg("text", { x: WIDTH - MARGIN.right, y: quotaY - 5, "text-anchor": "end" }, quotaText),
  );
  const description = `Rendered video seconds per day from ${usage.start_date} to ${usage.end_date}, by model; the busiest day used ${formatNumber(busiest)} s; ${quotaText}.`;
  return svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-labelledby": "usage-chart-title usage-chart-desc", preserveAspectRatio: "xMidYMid meet" },
    svg("title", { id: "usage-chart-title" }, "Video seconds per day"),
    svg("desc", { id: "usage-chart-desc" }, description),
    grid,
    svg("line", { class: "axis", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(0), y2: y(0) }),
    bars,
    quotaLine,
    svg("text", { class: "axis-title", x: 8, y: 14 }, "seconds"),
  );
}

function legend(models) {
  return h(
    "ul",
    { class: "legend", "aria-label": "Models" },
    models.map((model, series) => h("li", {}, h("span", { class: `swatch series-${series % SERIES_CLASSES}`, "aria-hidden": "true" }), model)),
    h("li", {}, h("span", { class: "swatch quota", "aria-hidden": "true" }), "Daily quota"),
  );
}

function table(usage) {
  const rows = [...usage.data].sort((a, b) => (a.date === b.date ? a.model.localeCompare(b.model) : b.date.localeCompare(a.date)));
  if (!rows.length) return h("p", { class: "empty", text: "No video in this period." });
  const number = (label) => ({ label, className: "number" });
  const perDay = dataTable("Usage per day and model", [
    { label: "Date", rowHeader: true, className: "nowrap" },
    "Model",
    ...["Jobs", "Completed", "Failed", "Cancelled", "Video seconds", "GPU seconds"].map(number),
  ]);
  replace(
    perDay.body,
    rows.map((bucket) =>
      perDay.row(
        bucket.date,
        bucket.model,
        bucket.jobs,
        bucket.completed,
        bucket.failed,
        bucket.cancelled,
        formatNumber(bucket.video_seconds),
        formatNumber(bucket.gpu_seconds),
      ),
    ),
  );
  return perDay.element;
}

export const usagePage = {
  title: "Usage",
  async render({ main, signal, showError }) {
    const start = h("input", { type: "date", name: "start_date" });
    const end = h("input", { type: "date", name: "end_date" });
    const error = h("div", { class: "page-error" });
    const body = h("div", {});
    const load = async () => {
      const usage = await api("GET", "/v1/usage", { query: { start_date: start.value, end_date: end.value }, signal });
      start.value = usage.start_date;
      end.value = usage.end_date;
      const models = [...new Set(usage.data.map((bucket) => bucket.model))].sort();
      const today = usage.today;
      const share = today.video_seconds_limit ? Math.min(100, (today.video_seconds / today.video_seconds_limit) * 100) : 0;
      replace(
        body,
        h(
          "section",
          { class: "card panel today", "aria-labelledby": "today-title" },
          h("h2", { id: "today-title", text: "Today" }),
          h(
            "p",
            { class: "today-numbers" },
            h("strong", { text: `${formatNumber(today.video_seconds)} s` }),
            ` used of ${formatNumber(today.video_seconds_limit)} s a day; `,
            h("strong", { text: `${formatNumber(today.video_seconds_remaining)} s` }),
            " remaining",
            h("span", { class: "muted", text: ` (tier ${usage.tier}, days in UTC)` }),
          ),
          h("progress", { max: 100, value: share, "aria-label": "Share of today's quota used" }),
        ),
        h(
          "section",
          { class: "card panel", "aria-labelledby": "chart-title" },
          h("h2", { id: "chart-title", text: "Video seconds per day" }),
          h("div", { class: "chart-wrap" }, chart(usage, models)),
          legend(models),
        ),
        h("section", { class: "card panel", "aria-labelledby": "table-title" }, h("h2", { id: "table-title", text: "Per day and model" }), table(usage)),
      );
      // On a narrow screen the chart scrolls sideways: start at its right end, the newest days.
      const wrap = body.querySelector(".chart-wrap");
      if (wrap) wrap.scrollLeft = wrap.scrollWidth;
    };
    const form = h(
      "form",
      { class: "toolbar", "aria-label": "Period" },
      field("From", start),
      field("To", end),
      h("button", { type: "submit", class: "secondary", text: "Show" }),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(error);
      try {
        await load();
      } catch (failure) {
        showError(failure, error);
      }
    });
    replace(main, h("h1", { tabindex: "-1", text: "Usage" }), form, error, body);
    await load();
  },
};
