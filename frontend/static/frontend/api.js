// Small helpers shared by the pages: JSON calls to /api/v1/ with the session cookie and the CSRF token.

export function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

// One error of a list: a string, or an error placed in a text ({"message", "line", "column"}, e.g. a rule's).
function itemText(item) {
  if (item === null || typeof item !== "object") return item;
  if (!item.message) return JSON.stringify(item);
  return item.line ? `line ${item.line}, column ${item.column}: ${item.message}` : item.message;
}

// A DRF error body ({"field": ["message"]} or {"detail": "..."}) in plain words.
export function errorText(body, status) {
  if (!body) return `HTTP ${status}`;
  if (typeof body === "string") return body.trimStart().startsWith("<") ? `The server failed (HTTP ${status}).` : body;
  if (body.detail) return String(body.detail);
  const parts = [];
  for (const [field, value] of Object.entries(body)) {
    const text = Array.isArray(value) ? value.map(itemText).join(" ") : typeof value === "object" ? errorText(value) : value;
    // The file is what the person just chose: its field name would add nothing to the message.
    parts.push(["non_field_errors", "file"].includes(field) ? text : `${field}: ${text}`);
  }
  return parts.join("; ") || `HTTP ${status}`;
}

// onStatus(status) hears the HTTP status of a success, for the few answers whose meaning it carries (a status file
// imported before answers 200 rather than 202).
export async function api(url, { method = "GET", json, body, signal, onStatus } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(url, { method, headers, body, credentials: "same-origin", signal });
  if (response.ok && onStatus) onStatus(response.status);
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) {
    // The words for people, and the body and status for pages that place an error (a rule's line and column).
    const error = new Error(errorText(data, response.status));
    error.status = response.status;
    error.body = data;
    throw error;
  }
  return data;
}

// A list endpoint's rows whatever its shape (plain list, page, or GeoJSON FeatureCollection).
export function rows(data) {
  if (!data) return [];
  if (Array.isArray(data)) return data;
  return data.results || data.features || data.classes || [];
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// Amounts arrive as decimal strings ("8000.00"): shown with grouped digits, never through a float sum.
export function money(value, currency) {
  if (value === null || value === undefined || value === "") return "–";
  const [whole, fraction] = String(value).split(".");
  const grouped = Number(whole).toLocaleString();
  return `${grouped}${fraction ? `.${fraction}` : ""}${currency ? ` ${currency}` : ""}`;
}

export const fmt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString());

// Polls a job row (GET `url`) until it has finished, calling onProgress(job) on each answer. Stops at the deadline
// the page carries (SPMIS_JOB_POLL_DEADLINE_S, 30 minutes by default) and says so: a job that outlives it goes on on
// the server (it is ended there if its worker is lost), but the page no longer waits for it.
export function jobPollDeadlineMs() {
  return Number(document.body.dataset.jobPollDeadlineS || 1800) * 1000;
}

export async function pollJob(url, job, { onProgress = () => {}, intervalMs = 700, deadlineMs = jobPollDeadlineMs() } = {}) {
  const deadline = Date.now() + deadlineMs;
  while (!["succeeded", "failed"].includes(job.status)) {
    onProgress(job);
    if (Date.now() > deadline) {
      const waited = deadlineMs >= 120000 ? `${Math.round(deadlineMs / 60000)} minutes` : `${Math.round(deadlineMs / 1000)} seconds`;
      throw new Error(`Still ${job.status} after ${waited}: the page stopped waiting. The job goes on on the server; look at it again later.`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    job = await api(url);
  }
  return job;
}
