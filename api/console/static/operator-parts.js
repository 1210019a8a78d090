// What only the operator's pages share: the tiers of the tiers file and a picker of them. The
// pieces both sides use (tables, "Load more", secrets shown once, facts, confirm steps) are in
// parts.js and dom.js.

import { api } from "./api.js";
import { h } from "./dom.js";

/** The tiers file's tiers (GET /v1/admin/tiers): configuration, one page. */
export async function fetchTiers(signal) {
  return (await api("GET", "/v1/admin/tiers", { signal })).data;
}

/** A <select> of tiers, each labelled with its description where the tiers file gives one. */
export function tierSelect(tiers, { name = "tier", selected = "", placeholder = null } = {}) {
  const options = tiers.map((tier) =>
    h("option", {
      value: tier.name,
      selected: tier.name === selected,
      text: tier.description ? `${tier.name} — ${tier.description}` : tier.name,
    }),
  );
  const first = placeholder === null ? null : h("option", { value: "", selected: !selected, text: placeholder });
  return h("select", { name }, first, options);
}
