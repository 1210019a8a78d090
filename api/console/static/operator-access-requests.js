// #/operator/access-requests: the companies that applied (POST /v1/access_requests), pending ones
// by default. Approving creates the organization and its first API key, which the answer carries
// once: it is shown here once, to be copied and sent to the applicant.

import { api } from "./api.js";
import { facts, field, formatTime, h, replace, select, statusBadge } from "./dom.js";
import { fetchTiers, tierSelect } from "./operator-parts.js";
import { pagedList, shownOnce } from "./parts.js";

const STATUSES = [
  ["pending", "Pending"],
  ["approved", "Approved"],
  ["rejected", "Rejected"],
  ["", "All"],
];

export const accessRequestsPage = {
  title: "Access requests",
  async render(ctx) {
    const tiers = await fetchTiers(ctx.signal);
    const error = h("div", { class: "page-error" });
    const list = h("div", { class: "requests" });
    const status = select("status", STATUSES, "pending");
    const onError = (failure) => ctx.showError(failure, error);
    const pages = pagedList({
      path: "/v1/admin/access_requests",
      query: () => ({ status: status.value }),
      container: list,
      render: (request) => requestCard(request, tiers, ctx),
      empty: () => h("p", { class: "empty", text: status.value ? `No ${status.value} access requests.` : "No access requests yet." }),
      signal: ctx.signal,
      onError,
    });
    status.addEventListener("change", () => {
      replace(error);
      pages.load().catch(onError);
    });

    replace(
      ctx.main,
      h("h1", { tabindex: "-1", text: "Access requests" }),
      h(
        "p",
        { class: "muted" },
        "Companies apply without a key (POST /v1/access_requests, or the console's Request access page). ",
        "Approving one creates its organization on the tier you choose, with a first API key shown once.",
      ),
      h("div", { class: "toolbar" }, field("Status", status)),
      error,
      list,
      h("div", { class: "actions" }, pages.button),
    );
    await pages.load();
  },
};

/** One application as a card: what they told us, and the decision or the buttons to make it. */
function requestCard(request, tiers, ctx) {
  const card = h("article", { class: "card request" });
  const slot = h("div", { class: "decision" });
  const error = h("div", { class: "card-error" });

  function draw(current) {
    const headingId = `request-${current.id}`;
    card.setAttribute("aria-labelledby", headingId);
    const decided = current.status !== "pending";
    replace(
      card,
      h("div", { class: "request-head" }, h("h2", { id: headingId, tabindex: "-1", text: current.company }), statusBadge(current.status)),
      facts([
        ["Contact", h("a", { href: `mailto:${current.contact_email}`, text: current.contact_email })],
        ["Use case", h("p", { class: "use-case", text: current.use_case })],
        ["Applied", formatTime(current.created_at)],
        ["Decided", decided ? formatTime(current.decided_at) : null],
        ["Tier", current.tier],
        [
          "Organization",
          current.organization_id
            ? h("a", { href: `#/operator/organizations/${encodeURIComponent(current.organization_id)}`, text: current.organization_id })
            : null,
        ],
        ["Reason", current.decision_reason],
        ["Request", h("code", { text: current.id })],
      ]),
      error,
      slot,
    );
    if (!decided) replace(slot, decisionButtons(current));
  }

  function decisionButtons(current) {
    const approve = h("button", { type: "button", class: "primary", text: "Approve…" });
    const reject = h("button", { type: "button", class: "danger", text: "Reject…" });
    approve.addEventListener("click", () => openForm(approveForm(current)));
    reject.addEventListener("click", () => openForm(rejectForm(current)));
    return h("div", { class: "actions" }, approve, reject);
  }

  function openForm(form) {
    replace(error);
    replace(slot, form);
    form.querySelector("select, textarea, input").focus();
  }

  function cancelButton(current) {
    const cancel = h("button", { type: "button", class: "secondary", text: "Cancel" });
    cancel.addEventListener("click", () => {
      replace(slot, decisionButtons(current));
      slot.querySelector("button").focus();
    });
    return cancel;
  }

  function approveForm(current) {
    const tier = tierSelect(tiers, { placeholder: "Choose a tier" });
    tier.required = true;
    const name = h("input", { name: "organization_name", maxLength: 200, placeholder: current.company, autocomplete: "off" });
    const submit = h("button", { type: "submit", class: "primary", text: "Approve" });
    const form = h(
      "form",
      { class: "decision-form", "aria-label": `Approve ${current.company}` },
      h(
        "div",
        { class: "row" },
        field("Tier", tier, "What the organization's keys may do."),
        field("Organization name", name, `Leave empty for “${current.company}”.`),
      ),
      h("div", { class: "actions" }, submit, cancelButton(current)),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      replace(error);
      try {
        const approval = await api("POST", `/v1/admin/access_requests/${encodeURIComponent(current.id)}/approve`, {
          json: { tier: tier.value, organization_name: name.value.trim() || undefined },
          signal: ctx.signal,
        });
        draw(approval.access_request);
        showApproval(approval, current);
      } catch (failure) {
        submit.disabled = false;
        ctx.showError(failure, error);
      }
    });
    return form;
  }

  function showApproval(approval, current) {
    const org = approval.organization;
    const secret = shownOnce(
      `API key for ${org.name}`,
      approval.api_key.secret,
      `Shown once: copy it now and send it to ${current.contact_email} over a channel you trust. ` +
        "videogen keeps only its hash, so it cannot be shown again; if it is lost, create another key on the organization's page.",
      ctx.notify,
    );
    replace(
      slot,
      secret,
      h(
        "p",
        {},
        `Approved onto ${org.tier}: `,
        h("a", { href: `#/operator/organizations/${encodeURIComponent(org.id)}`, text: `open ${org.name}` }),
        ".",
      ),
    );
    ctx.notify(`${current.company} approved: organization ${org.name} created.`, "success");
    secret.querySelector("button").focus();
  }

  function rejectForm(current) {
    const reason = h("textarea", { name: "reason", maxLength: 2000, rows: 3 });
    const submit = h("button", { type: "submit", class: "danger", text: "Reject request" });
    const form = h(
      "form",
      { class: "decision-form", "aria-label": `Reject ${current.company}` },
      field("Reason", reason, "Optional; kept with the request."),
      h("div", { class: "actions" }, submit, cancelButton(current)),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      replace(error);
      try {
        const rejected = await api("POST", `/v1/admin/access_requests/${encodeURIComponent(current.id)}/reject`, {
          json: { reason: reason.value.trim() },
          signal: ctx.signal,
        });
        draw(rejected);
        ctx.notify(`${current.company}'s request rejected.`, "success");
        card.querySelector("h2").focus();
      } catch (failure) {
        submit.disabled = false;
        ctx.showError(failure, error);
      }
    });
    return form;
  }

  draw(request);
  return card;
}
