// #/request-access (public, no sign-in): apply for an API key with POST /v1/access_requests; an
// operator reviews the request and sends the key.

import { api } from "./api.js";
import { facts, field, formatTime, h, replace } from "./dom.js";

export const requestAccessPage = {
  title: "Request access",
  async render({ main, signal, showError }) {
    const company = h("input", { type: "text", name: "company", required: true, maxlength: "200", autocomplete: "organization" });
    const email = h("input", { type: "email", name: "contact_email", required: true, autocomplete: "email" });
    const useCase = h("textarea", { name: "use_case", required: true, rows: 5, maxlength: "5000" });
    const error = h("div", { class: "page-error" });
    const submit = h("button", { type: "submit", class: "primary", text: "Send request" });
    const form = h(
      "form",
      { class: "card narrow", "aria-labelledby": "request-access-title" },
      h("h1", { id: "request-access-title", tabindex: "-1", text: "Request access" }),
      h("p", { class: "muted", text: "Tell us who you are and what you want to make; an operator reviews each request and sends an API key." }),
      field("Company", company),
      field("Contact email", email, "Where the answer and the key go."),
      field("Use case", useCase, "What you will generate, and roughly how much."),
      error,
      h("div", { class: "actions" }, submit),
      h("p", { class: "muted" }, "Have a key? ", h("a", { href: "#/sign-in", text: "Sign in" })),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(error);
      submit.disabled = true;
      try {
        const request = await api("POST", "/v1/access_requests", {
          json: { company: company.value, contact_email: email.value, use_case: useCase.value },
          token: null, // anyone may apply: no credential goes out, even from a signed-in tab
          signal,
        });
        const title = h("h1", { id: "request-access-title", tabindex: "-1", text: "Request received" });
        replace(
          main,
          h(
            "section",
            { class: "card narrow confirmation", "aria-labelledby": "request-access-title" },
            title,
            h("p", { role: "status", text: `Thank you. An operator will review your request and write to ${request.contact_email}.` }),
            facts([
              ["Request", h("code", { text: request.id })],
              ["Company", request.company],
              ["Status", request.status],
              ["Received", formatTime(request.created_at)],
            ]),
            h("p", {}, h("a", { href: "#/sign-in", text: "Back to sign-in" })),
          ),
        );
        title.focus();
      } catch (failure) {
        showError(failure, error);
      } finally {
        submit.disabled = false;
      }
    });
    replace(main, form);
  },
};
