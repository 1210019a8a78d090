// #/webhooks: the organization's webhook endpoints (create, enable/disable, delete, send a test
// event) and each one's delivery log with every attempt, and redelivery.

import { api, pause } from "./api.js";
import { confirmButton, facts, field, formatTime, h, replace, statusBadge } from "./dom.js";
import { dataTable, shownOnce } from "./parts.js";

// What an endpoint gets when it names no event types (the API's default): the end of each job.
const DEFAULT_EVENT_TYPES = new Set(["video.completed", "video.failed", "video.cancelled"]);
const DELIVERIES_SHOWN = 20;
// After a redelivery, how often and how long to re-read the delivery until its new attempt is in.
const REDELIVERY_POLL_MS = 1000;
const REDELIVERY_WATCH_MS = 60_000;

/** One attempt, as a line of the log: when, what the receiver answered, how long it took. */
function attemptItem(attempt) {
  const answer = attempt.status_code ? `HTTP ${attempt.status_code}` : "no answer";
  return h(
    "li",
    { class: "attempt" },
    h("time", { text: formatTime(attempt.attempted_at) }),
    " · ",
    h("span", { class: attempt.status_code && attempt.status_code < 300 ? "ok" : "error", text: answer }),
    ` · ${attempt.latency_ms} ms`,
    attempt.error ? h("span", { class: "error" }, ` · ${attempt.error}`) : null,
    attempt.next_attempt_at ? h("span", { class: "muted" }, ` · next try ${formatTime(attempt.next_attempt_at)}`) : null,
  );
}

function endpointSection(endpoint, eventTypes, { signal, notify, showError, reload }) {
  const titleId = `endpoint-${endpoint.id}`;
  const error = h("div", { class: "page-error" });
  const testResult = h("p", { class: "test-result", role: "status" });
  const deliveriesBody = h("div", { class: "deliveries" });
  const deliveries = dataTable(`Deliveries to ${endpoint.url}`, ["Created", "Event", "Video", "Status", "Attempts", "Actions"]);

  const toggle = h("button", { type: "button", class: "secondary", text: endpoint.status === "enabled" ? "Disable" : "Enable", "aria-describedby": titleId });
  toggle.addEventListener("click", async () => {
    toggle.disabled = true;
    try {
      await api("PATCH", `/v1/webhook_endpoints/${encodeURIComponent(endpoint.id)}`, { json: { enabled: endpoint.status !== "enabled" }, signal });
      notify(endpoint.status === "enabled" ? "Endpoint disabled." : "Endpoint enabled.", "success");
      await reload();
    } catch (failure) {
      toggle.disabled = false;
      showError(failure, error);
    }
  });

  const testType = h(
    "select",
    { name: "event_type" },
    eventTypes.map((type) => h("option", { value: type, text: type, selected: type === "video.completed" })),
  );
  const testButton = h("button", { type: "submit", class: "secondary", text: "Send test event" });
  const testForm = h("form", { class: "test-event-form", "aria-label": `Send a test event to ${endpoint.url}` }, field("Test event type", testType), testButton);
  testForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    testButton.disabled = true;
    replace(testResult, "Sending…");
    try {
      const result = await api("POST", `/v1/webhook_endpoints/${encodeURIComponent(endpoint.id)}/test`, { json: { event_type: testType.value }, signal });
      const answered = result.status_code ? `answered HTTP ${result.status_code}` : "gave no answer";
      replace(
        testResult,
        h("span", { class: result.status_code >= 200 && result.status_code < 300 ? "ok" : "error" }, `The receiver ${answered} in ${result.latency_ms} ms`),
        result.error ? `: ${result.error}` : ".",
        h("span", { class: "muted", text: " (a test event is not recorded in the log)" }),
      );
    } catch (failure) {
      replace(testResult);
      showError(failure, error);
    } finally {
      testButton.disabled = false;
    }
  });

  const remove = confirmButton({
    label: "Delete",
    question: "Delete this endpoint and its delivery log?",
    confirmLabel: "Yes, delete",
    describedBy: titleId,
    onConfirm: async () => {
      try {
        await api("DELETE", `/v1/webhook_endpoints/${encodeURIComponent(endpoint.id)}`, { signal });
      } catch (failure) {
        showError(failure, error);
        return false;
      }
      notify("Endpoint deleted.", "success");
      await reload();
      return true;
    },
  });

  const deliveryRow = (delivery) => {
    const row = deliveries.row(
      h("time", { text: formatTime(delivery.created_at) }),
      h("code", { text: delivery.event_type }),
      h("a", { href: `#/videos/${encodeURIComponent(delivery.video_id)}`, text: delivery.video_id }),
      statusBadge(delivery.status),
      delivery.attempt_log.length
        ? h("ol", { class: "attempts", "aria-label": `Attempts of delivery ${delivery.id}` }, delivery.attempt_log.map(attemptItem))
        : h("span", { class: "muted", text: delivery.next_attempt_at ? `first try ${formatTime(delivery.next_attempt_at)}` : "none yet" }),
      redeliverButton(delivery),
    );
    row.dataset.deliveryId = delivery.id;
    return row;
  };

  const redeliverButton = (delivery) => {
    const button = h("button", { type: "button", class: "secondary", text: "Redeliver", "aria-label": `Redeliver ${delivery.event_type} of ${delivery.video_id}` });
    button.addEventListener("click", async () => {
      button.disabled = true;
      const attemptsBefore = delivery.attempt_log.length;
      try {
        let current = await api("POST", `/v1/webhook_deliveries/${encodeURIComponent(delivery.id)}/redeliver`, { signal });
        let row = deliveriesBody.querySelector(`tr[data-delivery-id="${CSS.escape(delivery.id)}"]`);
        const swap = (next) => {
          const fresh = deliveryRow(next);
          const hadFocus = row?.contains(document.activeElement);
          row?.replaceWith(fresh);
          row = fresh;
          if (hadFocus) fresh.querySelector("button").focus(); // a keyboard reader stays on its row
        };
        swap(current);
        // Follow it until its new attempt is recorded (the webhook worker sends it shortly).
        const until = Date.now() + REDELIVERY_WATCH_MS;
        while (!signal.aborted && Date.now() < until && current.status === "pending" && current.attempt_log.length <= attemptsBefore) {
          await pause(REDELIVERY_POLL_MS, signal);
          if (signal.aborted) return;
          current = await api("GET", `/v1/webhook_deliveries/${encodeURIComponent(delivery.id)}`, { signal });
          swap(current);
        }
      } catch (failure) {
        button.disabled = false;
        showError(failure, error);
      }
    });
    return button;
  };

  const loadDeliveries = async () => {
    const page = await api("GET", `/v1/webhook_endpoints/${encodeURIComponent(endpoint.id)}/deliveries`, { query: { limit: DELIVERIES_SHOWN }, signal });
    if (!page.data.length) {
      replace(deliveriesBody, h("p", { class: "empty", text: "No delivery yet: events are delivered here when your videos reach the types above." }));
      return;
    }
    replace(deliveries.body, page.data.map(deliveryRow));
    replace(
      deliveriesBody,
      deliveries.element,
      page.has_more ? h("p", { class: "muted", text: `The ${DELIVERIES_SHOWN} latest deliveries are shown.` }) : null,
    );
  };
  const refresh = h("button", { type: "button", class: "secondary", text: "Refresh deliveries", "aria-describedby": titleId });
  refresh.addEventListener("click", async () => {
    refresh.disabled = true;
    replace(error);
    try {
      await loadDeliveries();
    } catch (failure) {
      showError(failure, error);
    } finally {
      refresh.disabled = false;
    }
  });

  const section = h(
    "section",
    { class: "card panel endpoint", "aria-labelledby": titleId, dataset: { endpointId: endpoint.id } },
    h("h2", { id: titleId }, endpoint.name || endpoint.url, " ", statusBadge(endpoint.status)),
    facts([
      ["URL", h("code", { text: endpoint.url })],
      ["Events", endpoint.event_types.join(", ")],
      ["Signing secret", h("code", { text: endpoint.signing_secret_hint })],
      ["Created", formatTime(endpoint.created_at)],
      ["Disabled", endpoint.disabled_at ? `${formatTime(endpoint.disabled_at)}: ${endpoint.disabled_reason || ""}` : null],
      ["Failing since", endpoint.failing_since ? formatTime(endpoint.failing_since) : null],
    ]),
    error,
    h("div", { class: "actions" }, toggle, remove),
    testForm,
    testResult,
    h("div", { class: "deliveries-title" }, h("h3", { text: "Deliveries" }), refresh),
    deliveriesBody,
  );
  return { section, loadDeliveries };
}

export const webhooksPage = {
  title: "Webhooks",
  async render({ main, signal, notify, showError }) {
    const { data: eventTypes } = await api("GET", "/v1/webhook_event_types", { signal });
    const error = h("div", { class: "page-error" });
    const list = h("div", { class: "endpoints" });
    const secretSlot = h("div", { class: "secret-slot" });

    const reload = async () => {
      const { data: endpoints } = await api("GET", "/v1/webhook_endpoints", { query: { limit: 100 }, signal });
      if (!endpoints.length) {
        replace(list, h("p", { class: "empty", text: "No endpoint yet." }));
        return;
      }
      const sections = endpoints.map((endpoint) => endpointSection(endpoint, eventTypes, { signal, notify, showError, reload }));
      replace(list, sections.map(({ section }) => section));
      await Promise.all(sections.map(({ loadDeliveries }) => loadDeliveries()));
    };

    const url = h("input", { type: "url", name: "url", required: true, placeholder: "https://example.com/hooks/videogen", autocomplete: "url" });
    const name = h("input", { type: "text", name: "name", maxlength: "200" });
    const boxes = eventTypes.map((type) => h("input", { type: "checkbox", name: "event_types", value: type, checked: DEFAULT_EVENT_TYPES.has(type), id: `event-${type}` }));
    const createError = h("div", { class: "page-error" });
    const create = h("button", { type: "submit", class: "primary", text: "Add endpoint" });
    const form = h(
      "form",
      { class: "card panel", "aria-labelledby": "add-endpoint-title" },
      h("h2", { id: "add-endpoint-title", text: "Add an endpoint" }),
      h("div", { class: "row" }, field("Endpoint URL", url, "Events are POSTed here, signed (Standard Webhooks)."), field("Name", name, "Optional.")),
      h(
        "fieldset",
        { class: "choices" },
        h("legend", { text: "Events" }),
        boxes.map((box) => h("label", { for: box.id }, box, " ", h("code", { text: box.value }))),
      ),
      createError,
      h("div", { class: "actions" }, create),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(createError);
      replace(secretSlot);
      const chosen = boxes.filter((box) => box.checked).map((box) => box.value);
      if (!chosen.length) {
        replace(createError, h("p", { class: "error", role: "alert", text: "Choose at least one event type." }));
        return;
      }
      create.disabled = true;
      try {
        const created = await api("POST", "/v1/webhook_endpoints", { json: { url: url.value.trim(), name: name.value.trim(), event_types: chosen }, signal });
        const secret = shownOnce(
          `Signing secret of ${created.name || created.url}`,
          created.signing_secret,
          "Shown once: store it now, to verify the webhook-signature header of each delivery. " +
            "videogen cannot show it again: the endpoint shows only its first and last characters.",
          notify,
        );
        replace(secretSlot, h("div", { class: "card panel" }, secret));
        secret.querySelector("button").focus();
        url.value = "";
        name.value = "";
        await reload();
      } catch (failure) {
        showError(failure, createError);
        if (failure.param === "url") url.setAttribute("aria-invalid", "true");
      } finally {
        create.disabled = false;
      }
    });
    url.addEventListener("input", () => url.removeAttribute("aria-invalid"));

    const refreshAll = h("button", { type: "button", class: "secondary", text: "Refresh" });
    refreshAll.addEventListener("click", async () => {
      refreshAll.disabled = true;
      replace(error);
      try {
        await reload();
      } catch (failure) {
        showError(failure, error);
      } finally {
        refreshAll.disabled = false;
      }
    });

    replace(
      main,
      h("h1", { tabindex: "-1", text: "Webhooks" }),
      form,
      secretSlot,
      h("div", { class: "toolbar endpoints-toolbar" }, h("h2", { text: "Endpoints" }), refreshAll),
      error,
      list,
    );
    await reload();
  },
};
