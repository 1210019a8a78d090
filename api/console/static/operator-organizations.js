// #/operator/organizations: every organization, newest first, and a form to create one (the
// approval of an access request creates one too). Each name opens its page (operator-organization.js).

import { api } from "./api.js";
import { field, formatTime, h, replace, statusBadge } from "./dom.js";
import { fetchTiers, tierSelect } from "./operator-parts.js";
import { dataTable, pagedList } from "./parts.js";

export function organizationLink(id, name) {
  return h("a", { href: `#/operator/organizations/${encodeURIComponent(id)}`, text: name || id });
}

export const organizationsPage = {
  title: "Organizations",
  async render(ctx) {
    const tiers = await fetchTiers(ctx.signal);
    const error = h("div", { class: "page-error" });
    const list = dataTable("Organizations, newest first", ["Name", "Tier", "Status", "Created"]);
    const pages = pagedList({
      path: "/v1/admin/organizations",
      container: list.body,
      render: (org) =>
        list.row(organizationLink(org.id, org.name), org.tier, statusBadge(org.status), formatTime(org.created_at)),
      empty: list.emptyRow("No organizations yet."),
      signal: ctx.signal,
      onError: (failure) => ctx.showError(failure, error),
    });

    replace(
      ctx.main,
      h("h1", { tabindex: "-1", text: "Organizations" }),
      createForm(tiers, ctx),
      h("h2", { text: "All organizations" }),
      error,
      list.element,
      h("div", { class: "actions" }, pages.button),
    );
    await pages.load();
  },
};

function createForm(tiers, ctx) {
  const name = h("input", { name: "name", required: true, maxLength: 200, autocomplete: "off" });
  const tier = tierSelect(tiers, { placeholder: "The deployment's default tier" });
  const error = h("div", { class: "form-error" });
  const submit = h("button", { type: "submit", class: "primary", text: "Create organization" });
  const form = h(
    "form",
    { class: "card panel", "aria-labelledby": "new-organization" },
    h("h2", { id: "new-organization", text: "New organization" }),
    h("div", { class: "row" }, field("Name", name), field("Tier", tier)),
    error,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    replace(error);
    try {
      const org = await api("POST", "/v1/admin/organizations", {
        json: { name: name.value.trim(), tier: tier.value || undefined },
        signal: ctx.signal,
      });
      ctx.notify(`Organization ${org.name} created on ${org.tier}. Create its first key below.`, "success");
      ctx.navigate(`#/operator/organizations/${encodeURIComponent(org.id)}`);
    } catch (failure) {
      submit.disabled = false;
      ctx.showError(failure, error);
    }
  });
  return form;
}
