// #/operator/organizations/<id>: one organization — its tier and status (PATCH), its usage over
// the last 30 days, and its API keys (operator-keys.js).

import { api } from "./api.js";
import { confirmButton, facts, formatNumber, formatTime, h, replace, statusBadge } from "./dom.js";
import { keysSection } from "./operator-keys.js";
import { fetchTiers, tierSelect } from "./operator-parts.js";
import { dataTable } from "./parts.js";

export const organizationPage = {
  title: "Organization",
  async render(ctx) {
    const [id] = ctx.params;
    const path = `/v1/admin/organizations/${encodeURIComponent(id)}`;
    const [org, tiers, usage] = await Promise.all([
      api("GET", path, { signal: ctx.signal }),
      fetchTiers(ctx.signal),
      api("GET", `${path}/usage`, { signal: ctx.signal }),
    ]);
    document.title = `${org.name} · videogen console`;
    const heading = h("h1", { tabindex: "-1", text: org.name });
    const summary = h("p", { class: "muted" });
    const account = h("section", { class: "card panel", "aria-labelledby": "org-account" });
    const error = h("div", { class: "page-error" });

    function draw(current) {
      replace(
        summary,
        statusBadge(current.status),
        ` ${current.tier} · created ${formatTime(current.created_at)} · `,
        h("code", { text: current.id }),
      );
      replace(account, h("h2", { id: "org-account", text: "Tier and status" }), tierForm(current), statusControls(current));
    }

    async function update(change, done) {
      replace(error);
      try {
        const updated = await api("PATCH", path, { json: change, signal: ctx.signal });
        draw(updated);
        ctx.notify(done(updated), "success");
        return updated;
      } catch (failure) {
        ctx.showError(failure, error);
        return null;
      }
    }

    function tierForm(current) {
      const tier = tierSelect(tiers, { selected: current.tier });
      const submit = h("button", { type: "submit", class: "secondary", text: "Change tier" });
      const form = h(
        "form",
        { class: "inline-form", "aria-label": "Change tier" },
        h("div", { class: "field" }, h("label", { for: "org-tier", text: "Tier" }), Object.assign(tier, { id: "org-tier" })),
        submit,
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (tier.value === current.tier) {
          ctx.notify(`${current.name} is already on ${current.tier}.`);
          return;
        }
        submit.disabled = true;
        const updated = await update({ tier: tier.value }, (o) => `${o.name} is now on ${o.tier}; it applies from the next request.`);
        if (updated) account.querySelector("#org-tier").focus();
        else submit.disabled = false;
      });
      return form;
    }

    function statusControls(current) {
      if (current.status === "suspended") {
        const activate = h("button", { type: "button", class: "primary", text: "Activate" });
        activate.addEventListener("click", async () => {
          activate.disabled = true;
          const updated = await update({ status: "active" }, (o) => `${o.name} is active again: its keys work and its queued jobs run.`);
          if (updated) account.querySelector(".status-action button").focus();
          else activate.disabled = false;
        });
        return h(
          "div",
          { class: "status-action" },
          h(
            "p",
            {},
            `Suspended since ${formatTime(current.suspended_at)}: `,
            "every request with its keys is refused and its queued jobs wait.",
          ),
          activate,
        );
      }
      return h(
        "div",
        { class: "status-action" },
        h(
          "p",
          {},
          "Active: its keys work. Suspending refuses every request with its keys at once; ",
          "its queued jobs wait until it is activated.",
        ),
        confirmButton({
          label: "Suspend",
          question: `Suspend ${current.name}?`,
          confirmLabel: "Yes, suspend",
          onConfirm: async () => {
            const updated = await update({ status: "suspended" }, (o) => `${o.name} is suspended.`);
            if (!updated) return false;
            account.querySelector(".status-action button").focus();
            return true;
          },
        }),
      );
    }

    draw(org);
    replace(
      ctx.main,
      h("p", { class: "breadcrumb" }, h("a", { href: "#/operator/organizations", text: "Organizations" })),
      heading,
      summary,
      error,
      h("div", { class: "columns" }, account, usageCard(usage)),
      await keysSection(org, ctx),
    );
  },
};

/** The usage answer summarised: today against the daily quota, then the period's totals per model. */
function usageCard(usage) {
  const perModel = new Map();
  const totals = { jobs: 0, completed: 0, failed: 0, cancelled: 0, video_seconds: 0, gpu_seconds: 0 };
  for (const bucket of usage.data) {
    const model = perModel.get(bucket.model) || { jobs: 0, completed: 0, failed: 0, cancelled: 0, video_seconds: 0, gpu_seconds: 0 };
    for (const key of Object.keys(totals)) {
      model[key] += bucket[key];
      totals[key] += bucket[key];
    }
    perModel.set(bucket.model, model);
  }
  const today = usage.today;
  const models = dataTable("Usage per model", [
    "Model",
    { label: "Jobs", className: "number" },
    "Completed / failed / cancelled",
    { label: "Video-s", className: "number" },
    { label: "GPU-s", className: "number" },
  ]);
  for (const [model, row] of perModel) {
    models.body.append(
      models.row(
        h("code", { text: model }),
        row.jobs,
        `${row.completed} / ${row.failed} / ${row.cancelled}`,
        formatNumber(row.video_seconds),
        formatNumber(row.gpu_seconds),
      ),
    );
  }
  return h(
    "section",
    { class: "card panel", "aria-labelledby": "org-usage" },
    h("h2", { id: "org-usage", text: `Usage, ${usage.start_date} to ${usage.end_date}` }),
    facts([
      [
        "Today (UTC)",
        `${formatNumber(today.video_seconds)} of ${formatNumber(today.video_seconds_limit)} video-seconds ` +
          `(${formatNumber(today.video_seconds_remaining)} left)`,
      ],
      ["Jobs", `${totals.jobs}: ${totals.completed} completed, ${totals.failed} failed, ${totals.cancelled} cancelled`],
      ["Video-seconds", formatNumber(totals.video_seconds)],
      ["GPU-seconds", formatNumber(totals.gpu_seconds)],
    ]),
    perModel.size
      ? models.element
      : h("p", { class: "empty", text: "No jobs in this period." }),
  );
}
