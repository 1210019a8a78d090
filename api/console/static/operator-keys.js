// An organization's API keys, on its page: create one (the secret shown once), rotate one (a new
// secret shown once; the old key keeps working until revoked) and revoke one (after a confirm step).

import { api, listAll } from "./api.js";
import { confirmButton, field, formatTime, h, replace, select, statusBadge } from "./dom.js";
import { dataTable, shownOnce } from "./parts.js";

const DAY = 86400;
const LIFETIMES = [
  ["", "Never expires"],
  [String(DAY), "1 day"],
  [String(30 * DAY), "30 days"],
  [String(90 * DAY), "90 days"],
  [String(365 * DAY), "1 year"],
];

function keyStatus(key) {
  if (key.revoked_at) return "revoked";
  if (key.expires_at && key.expires_at * 1000 <= Date.now()) return "expired";
  return "active";
}

/** The "API keys" section of organization `org`'s page, with its keys loaded. */
export async function keysSection(org, ctx) {
  const keysPath = `/v1/admin/organizations/${encodeURIComponent(org.id)}/keys`;
  const error = h("div", { class: "section-error" });
  const secretSlot = h("div", { class: "secret-slot" });
  const keys = dataTable(`${org.name}'s API keys, newest first`, [
    "Name",
    "Prefix",
    "Created",
    "Last used",
    "Expires",
    "Status",
    "Actions",
  ]);
  const section = h(
    "section",
    { class: "card panel", "aria-labelledby": "org-keys" },
    h("h2", { id: "org-keys", tabindex: "-1", text: "API keys" }),
    createForm(),
    error,
    secretSlot,
    keys.element,
  );

  async function refresh() {
    const all = await listAll(keysPath, { signal: ctx.signal });
    replace(keys.body, all.length ? all.map(keyRow) : keys.emptyRow("No keys yet."));
  }

  function showSecret(label, key, note) {
    const box = shownOnce(label, key.secret, note, ctx.notify);
    replace(secretSlot, box);
    box.querySelector("button").focus();
  }

  function createForm() {
    const name = h("input", { name: "key_name", maxLength: 200, autocomplete: "off", placeholder: "e.g. production" });
    const lifetime = select("expires_in_seconds", LIFETIMES, "");
    const submit = h("button", { type: "submit", class: "primary", text: "Create key" });
    const form = h(
      "form",
      { class: "inline-form", "aria-label": "Create a key" },
      field("Key name", name),
      field("Lifetime", lifetime),
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      replace(error);
      try {
        const key = await api("POST", keysPath, {
          json: { name: name.value.trim(), expires_in_seconds: lifetime.value ? Number(lifetime.value) : undefined },
          signal: ctx.signal,
        });
        name.value = "";
        await refresh();
        showSecret(
          `New key ${key.name || key.prefix}`,
          key,
          "Shown once: copy it now. videogen keeps only its hash, so it cannot be shown again; if it is lost, create another.",
        );
      } catch (failure) {
        ctx.showError(failure, error);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  function keyRow(key) {
    const status = keyStatus(key);
    // Rotation keeps the name, so the prefix is what tells a key's buttons from its successor's.
    const label = `${key.name || "unnamed key"} (${key.prefix}…)`;
    const actions = h("div", { class: "key-actions" });
    if (status !== "revoked") {
      if (status === "active") {
        const rotate = h("button", { type: "button", class: "secondary", text: "Rotate", "aria-label": `Rotate ${label}` });
        rotate.addEventListener("click", async () => {
          rotate.disabled = true;
          replace(error);
          try {
            const fresh = await api("POST", `/v1/admin/keys/${encodeURIComponent(key.id)}/rotate`, { signal: ctx.signal });
            await refresh();
            showSecret(
              `Replacement for ${label}`,
              fresh,
              `Shown once: copy it now. The old key ${key.prefix}… keeps working until you revoke it, ` +
                "so the customer can switch first; then revoke the old one here.",
            );
          } catch (failure) {
            rotate.disabled = false;
            ctx.showError(failure, error);
          }
        });
        actions.append(rotate);
      }
      actions.append(
        confirmButton({
          label: "Revoke",
          ariaLabel: `Revoke ${label}`,
          question: `Revoke ${label}? Requests with it are refused at once.`,
          confirmLabel: "Yes, revoke",
          onConfirm: async () => {
            replace(error);
            try {
              await api("POST", `/v1/admin/keys/${encodeURIComponent(key.id)}/revoke`, { signal: ctx.signal });
              await refresh();
              ctx.notify(`Key ${label} revoked.`, "success");
              section.querySelector("h2").focus();
            } catch (failure) {
              ctx.showError(failure, error);
              return false;
            }
            return true;
          },
        }),
      );
    }
    return keys.row(
      key.name || "—",
      h("code", { class: "nowrap", text: `${key.prefix}…` }),
      formatTime(key.created_at),
      formatTime(key.last_used_at),
      key.expires_at ? formatTime(key.expires_at) : "never",
      statusBadge(status),
      actions,
    );
  }

  await refresh();
  return section;
}
