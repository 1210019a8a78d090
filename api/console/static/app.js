// The console's shell: sign-in, the navigation for the signed-in role, and a hash router that
// renders one page at a time into <main>. Pages live in customer.js and operator.js; each is
// {title, render(ctx)} where ctx = {main, params, signal, navigate, notify, showError}. A page's
// `signal` aborts when the reader leaves it, which ends its event streams and pending calls.

import { api, ApiError, credentials } from "./api.js";
import { field, h, replace } from "./dom.js";
import { customerNavigation, customerPages, publicPages } from "./customer.js";
import { operatorNavigation, operatorPages } from "./operator.js";

const HOME = { customer: "#/playground", operator: "#/operator/access-requests" };
const ROLE_NAMES = { customer: "Customer", operator: "Operator" };

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const account = document.getElementById("account");
const notices = document.getElementById("notices");
let current = null; // {controller} of the page on screen

/** A short message in the notices area (announced to screen readers); errors stay until closed. */
export function notify(message, kind = "info") {
  const close = h("button", { type: "button", class: "link", "aria-label": "Dismiss", text: "×" });
  const notice = h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : null }, h("span", { text: message }), close);
  close.addEventListener("click", () => notice.remove());
  notices.append(notice);
  if (kind !== "error") setTimeout(() => notice.remove(), 6000);
  return notice;
}

/** What went wrong, for people: the API's message, and the request id to quote to an operator. */
export function describeError(error) {
  if (error instanceof ApiError) {
    const parts = [error.message];
    if (error.retryAfter) parts.push(`Try again in ${error.retryAfter} s.`);
    if (error.requestId) parts.push(`(request ${error.requestId})`);
    return parts.join(" ");
  }
  return error && error.message ? error.message : String(error);
}

/** An error shown inline in `where` (a page's error slot), or as a notice. */
export function showError(error, where) {
  if (error && error.name === "AbortError") return;
  if (error instanceof ApiError && error.status === 401 && credentials.get()) {
    credentials.clear();
    notify("Your credential was not accepted any more; sign in again.", "error");
    navigate("#/sign-in");
    return;
  }
  if (where) replace(where, h("p", { class: "error", role: "alert", text: describeError(error) }));
  else notify(describeError(error), "error");
}

export function navigate(hash) {
  if (window.location.hash === hash) render();
  else window.location.hash = hash;
}

function parseRoute() {
  const segments = window.location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (segments[0] === "operator") return { role: "operator", name: segments[1] || "", params: segments.slice(2) };
  return { role: "customer", name: segments[0] || "", params: segments.slice(1) };
}

function renderChrome(session) {
  if (!session) {
    replace(nav);
    replace(account, h("a", { href: "#/sign-in", text: "Sign in" }));
    return;
  }
  const items = session.role === "operator" ? operatorNavigation : customerNavigation;
  const here = window.location.hash || HOME[session.role];
  replace(
    nav,
    h(
      "ul",
      {},
      items.map(([hash, label]) =>
        h("li", {}, h("a", { href: hash, text: label, "aria-current": here.startsWith(hash) ? "page" : null })),
      ),
    ),
  );
  const signOut = h("button", { type: "button", class: "secondary", text: "Sign out" });
  signOut.addEventListener("click", () => {
    credentials.clear();
    notify("Signed out.");
    navigate("#/sign-in");
  });
  replace(account, h("span", { class: "role", text: ROLE_NAMES[session.role] }), signOut);
}

async function render() {
  current?.controller.abort();
  const controller = new AbortController();
  current = { controller };
  const session = credentials.get();
  const route = parseRoute();
  let page;
  if (route.name === "sign-in") page = signInPage;
  else if (route.role === "customer" && publicPages[route.name]) page = publicPages[route.name];
  else if (!session) {
    navigate("#/sign-in");
    return;
  } else if (route.role !== session.role || !route.name) {
    navigate(HOME[session.role]);
    return;
  } else {
    page = (session.role === "operator" ? operatorPages : customerPages)[route.name];
  }
  renderChrome(session);
  replace(main);
  if (!page) {
    replace(main, h("h1", { text: "Not found" }), h("p", {}, "No such page. ", h("a", { href: "#/", text: "Go home" })));
    document.title = "Not found · videogen console";
    return;
  }
  document.title = `${page.title} · videogen console`;
  const ctx = { main, params: route.params, signal: controller.signal, navigate, notify, showError };
  try {
    await page.render(ctx);
  } catch (error) {
    if (!controller.signal.aborted) showError(error, main.querySelector(".page-error") || null);
  }
  if (!controller.signal.aborted) (main.querySelector("h1") || main).focus({ preventScroll: false });
}

const signInPage = {
  title: "Sign in",
  async render({ main: where, navigate: go }) {
    const customer = h("input", { type: "radio", name: "role", value: "customer", id: "role-customer", checked: true });
    const operator = h("input", { type: "radio", name: "role", value: "operator", id: "role-operator" });
    const secret = h("input", {
      type: "password",
      name: "secret",
      required: true,
      autocomplete: "off",
      spellcheck: false,
    });
    const secretField = field("API key", secret, "Kept in this browser tab only; closing the tab forgets it.");
    const label = secretField.querySelector("label");
    const error = h("div", { class: "page-error" });
    const submit = h("button", { type: "submit", class: "primary", text: "Sign in" });
    for (const radio of [customer, operator]) {
      radio.addEventListener("change", () => {
        label.textContent = operator.checked ? "Admin token" : "API key";
      });
    }
    const form = h(
      "form",
      { class: "card narrow", "aria-labelledby": "sign-in-title" },
      h("h1", { id: "sign-in-title", tabindex: "-1", text: "Sign in to the console" }),
      h(
        "fieldset",
        { class: "choices" },
        h("legend", { text: "Sign in as" }),
        h("label", { for: "role-customer" }, customer, " Customer (API key)"),
        h("label", { for: "role-operator" }, operator, " Operator (admin token)"),
      ),
      secretField,
      error,
      h("div", { class: "actions" }, submit),
      h("p", { class: "muted" }, "No API key yet? ", h("a", { href: "#/request-access", text: "Request access" })),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const role = operator.checked ? "operator" : "customer";
      const token = secret.value.trim();
      submit.disabled = true;
      replace(error);
      try {
        // Any authenticated read tells whether the credential works; nothing is stored before.
        await api("GET", role === "operator" ? "/v1/admin/tiers" : "/v1/usage", { token });
        credentials.set(role, token);
        secret.value = "";
        go(HOME[role]);
      } catch (failure) {
        const message =
          failure instanceof ApiError && (failure.status === 401 || failure.status === 403)
            ? `That ${role === "operator" ? "admin token" : "API key"} was not accepted: ${failure.message}`
            : describeError(failure);
        replace(error, h("p", { class: "error", role: "alert", text: message }));
        secret.focus();
      } finally {
        submit.disabled = false;
      }
    });
    replace(where, form);
  },
};

// A click on the link of the page already on screen changes no hash, so no hashchange comes:
// draw the page again, fresh from the API, as whoever clicks it expects. Clicks that open a new
// tab or window (a modifier key, another button) are the browser's.
nav.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.getAttribute("href") !== window.location.hash) return;
  event.preventDefault();
  render();
});
window.addEventListener("hashchange", render);
render();
