// The console's one way to the server: the public and admin HTTP APIs, exactly as any client calls
// them. The credential lives in this tab's sessionStorage and goes out as a Bearer token; no cookie
// is ever read by the server, so there is nothing for another site to forge a request with.

const ROOT = document.documentElement.dataset.root || "";
const SESSION_KEY = "videogen.console.session";

/** The signed-in credential: {role: "customer" | "operator", token}, or null. */
export const credentials = {
  get() {
    try {
      const stored = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
      return stored && stored.token && stored.role ? stored : null;
    } catch {
      return null;
    }
  },
  set(role, token) {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ role, token }));
  },
  clear() {
    sessionStorage.removeItem(SESSION_KEY);
  },
};

/** An answer in the API's error format ({error: {message, type, code, param, request_id}}). */
export class ApiError extends Error {
  constructor(status, error, retryAfter) {
    super(error.message || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.type = error.type || null;
    this.code = error.code || null;
    this.param = error.param || null;
    this.requestId = error.request_id || null;
    this.retryAfter = retryAfter;
  }
}

function url(path, query) {
  const target = new URL(`${ROOT}${path}`, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(name, String(value));
  }
  return target.toString();
}

function authorization(token) {
  const credential = token === undefined ? credentials.get()?.token : token;
  return credential ? { Authorization: `Bearer ${credential}` } : {};
}

async function failure(response) {
  let error = { message: `The server answered ${response.status} ${response.statusText}.` };
  try {
    const body = await response.json();
    if (body && body.error) error = body.error;
  } catch {
    // not our error format (a proxy's page): keep the status line
  }
  return new ApiError(response.status, error, response.headers.get("Retry-After"));
}

/**
 * Call the API: `await api("POST", "/v1/videos", {json: {...}})`. Options: json (a body), form (a
 * FormData), query (an object of parameters), headers, signal (AbortSignal), token (another
 * credential than the session's, e.g. to check one before signing in; null for none).
 * Resolves to the parsed JSON body (null for 204); rejects with ApiError for an error answer.
 */
export async function api(method, path, options = {}) {
  const headers = { Accept: "application/json", ...authorization(options.token), ...(options.headers || {}) };
  let body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    body = options.form; // the browser writes the multipart boundary
  }
  let response;
  try {
    response = await fetch(url(path, options.query), { method, headers, body, signal: options.signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { message: "The server could not be reached. Check your connection and try again." });
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

/**
 * Download with the credential and hand back an object URL for <img>/<video>/<a download>: those
 * elements cannot send an Authorization header themselves. Revoke it (URL.revokeObjectURL) when
 * the element goes away.
 */
export async function blobUrl(path, options = {}) {
  let response;
  try {
    response = await fetch(url(path, options.query), { headers: authorization(), signal: options.signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { message: "The server could not be reached." });
  }
  if (!response.ok) throw await failure(response);
  return URL.createObjectURL(await response.blob());
}

const TERMINAL_EVENTS = new Set(["video.completed", "video.failed", "video.cancelled", "video.deleted"]);

/** Parse a text/event-stream body into {event, id, data} messages (the HTML spec's rules). */
async function* readEvents(body, state) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let message = { event: "message", data: [], id: null };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === "") {
          if (message.data.length) {
            if (message.id !== null) state.lastEventId = message.id;
            yield { event: message.event, id: message.id, data: message.data.join("\n") };
          }
          message = { event: "message", data: [], id: null };
          continue;
        }
        if (line.startsWith(":")) continue; // a comment: the server's keep-alive
        const colon = line.indexOf(":");
        const name = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (name === "event") message.event = value;
        else if (name === "data") message.data.push(value);
        else if (name === "id") message.id = value;
        else if (name === "retry" && /^\d+$/.test(value)) state.retryMs = Number(value);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Follow a video's event stream (GET /v1/videos/{id}/events) until it ends, calling
 * `onEvent(type, video)` for each event. EventSource cannot send an Authorization header, so this
 * reads the stream with fetch; like EventSource, it reconnects after a dropped connection with
 * Last-Event-ID (the server then sends only what changed) and stops on a terminal event, a 204
 * (nothing more will happen) or `signal` aborting. Resolves with the last event's type.
 */
export async function followVideo(videoId, onEvent, { signal } = {}) {
  const state = { lastEventId: null, retryMs: 2000 };
  let lastType = null;
  while (!signal?.aborted) {
    const headers = { Accept: "text/event-stream", ...authorization() };
    if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
    let response;
    try {
      response = await fetch(url(`/v1/videos/${encodeURIComponent(videoId)}/events`), { headers, signal });
    } catch (error) {
      if (error.name === "AbortError") return lastType;
      await pause(state.retryMs, signal);
      continue;
    }
    if (response.status === 204) return lastType;
    if (!response.ok) throw await failure(response);
    try {
      for await (const message of readEvents(response.body, state)) {
        lastType = message.event;
        onEvent(message.event, JSON.parse(message.data));
        if (TERMINAL_EVENTS.has(message.event)) return lastType;
      }
    } catch (error) {
      if (error.name === "AbortError") return lastType;
      // the connection dropped mid-stream: reconnect below
    }
    await pause(state.retryMs, signal);
  }
  return lastType;
}

/** Wait `ms` between two reads of the API, or less when `signal` aborts (the reader left). */
export function pause(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done); // a page that polls for hours keeps no listener per wait
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Every item of a list endpoint with cursor pagination, up to `max` items. */
export async function listAll(path, { query = {}, max = 500, signal } = {}) {
  const items = [];
  let after;
  for (;;) {
    const page = await api("GET", path, { query: { ...query, limit: 100, after }, signal });
    items.push(...page.data);
    if (!page.has_more || items.length >= max || !page.data.length) return items.slice(0, max);
    after = page.last_id || page.data[page.data.length - 1].id;
  }
}
