// Payment pages: the cycle page's batches and prepare form, a batch (release by another person, send, files, status
// reports, reconciliation by district and a map of failures) and a household's payment history. Everything comes
// from /api/v1/programs/; this file holds no business rules (who may release, what a batch totals: the API decides).
import { api, el, errorText, fmt, money, pollJob, rows } from "./api.js";

const cfg = JSON.parse(document.getElementById("page-config").textContent);
const T = cfg.text;
const P = "/api/v1/programs";
const $ = (id) => document.getElementById(id);
const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");
const batchState = (state) => T.batchStates[state] || state;
const paymentState = (state) => T.paymentStates[state] || state;
const fileState = (state) => T.fileStates[state] || state;
const jobError = (job) => `${T.failed} ${job.error && typeof job.error === "object" ? errorText(job.error) : job.error || job.message}`;

function showError(target, error) {
  const node = $(target);
  if (node) node.textContent = error ? error.message : "";
}

// What a batch left out, in words: "2 no account at this provider, 1 over the provider's limit per payment".
function heldText(held) {
  const parts = Object.entries(held || {}).map(([reason, n]) => `${fmt(n)} ${T.heldReasons[reason] || reason.replaceAll("_", " ")}`);
  return parts.join(", ");
}

// A payment's reason as the provider's report gave it, with the ISO code beside the words.
function reasonText(item) {
  if (item.reason && item.reason_code) return `${item.reason} (${item.reason_code})`;
  return item.reason || item.reason_code || "–";
}

// A job (prepare, release, send, report import) followed on a progress bar until it ends.
async function follow(url, job, { bar, message, running }) {
  $(bar).closest("[hidden]")?.removeAttribute("hidden");
  const onProgress = (current) => {
    $(bar).value = current.progress || 0;
    $(message).textContent = current.message || `${running}…`;
  };
  const done = await pollJob(url, job, { onProgress });
  onProgress(done);
  if (done.status === "failed") throw new Error(jobError(done));
  $(bar).value = 100;
  return done;
}

// ---- The cycle page: its batches and the prepare form ----------------------------------------------------------------
async function loadBatches() {
  const body = $("batch-rows");
  const batches = rows(await api(`${P}/payment-batches/?cycle=${cfg.cycle}&page_size=200`));
  body.replaceChildren(
    ...batches.map((b) =>
      el(
        "tr",
        { "data-batch": b.id },
        el("td", {}, el("a", { href: `/programs/payments/batches/${b.id}/`, text: b.code })),
        el("td", { "data-state": b.status, text: batchState(b.status) }),
        el("td", { text: b.fsp }),
        el("td", { text: b.execution_date }),
        el("td", { class: "num", "data-count": b.payment_count, text: fmt(b.payment_count) }),
        el("td", { class: "num", "data-amount": b.payment_sum, text: money(b.payment_sum, b.currency) }),
        el("td", { class: "num", text: money(b.fee_sum) }),
        el("td", { class: "num", text: fmt(b.flagged_count) }),
        el("td", { text: heldText(b.held) || "–" }),
      ),
    ),
  );
  if (!batches.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 9, class: "muted", text: T.noBatches })));
}

async function loadProviders() {
  const select = $("prepare-fsp");
  const providers = rows(await api(`${P}/fsps/?active=true&page_size=200`));
  select.replaceChildren(...providers.map((f) => el("option", { value: f.code, text: `${f.code} · ${f.name} (${f.currency})` })));
  if (!providers.length) {
    select.replaceChildren(el("option", { value: "", text: T.noProviders }));
    $("prepare-button").disabled = true;
  }
}

async function prepare(e) {
  e.preventDefault();
  const form = e.target;
  const error = form.querySelector("[data-error]");
  error.textContent = "";
  const button = $("prepare-button");
  button.disabled = true;
  const json = { cycle: cfg.cycle, fsp: form.elements.fsp.value };
  if (form.elements.execution_date.value) json.execution_date = form.elements.execution_date.value;
  try {
    const run = await api(`${P}/payment-batches/prepare/`, { method: "POST", json });
    const done = await follow(`${P}/payment-batch-runs/${run.id}/`, run, { bar: "prepare-bar", message: "prepare-message", running: T.preparing });
    $("prepare-message").replaceChildren(`${T.prepared} ${done.message || ""} `, el("a", { id: "prepared-link", href: `/programs/payments/batches/${done.batch}/`, text: T.open }));
  } catch (failure) {
    error.textContent = failure.message;
  } finally {
    button.disabled = false;
  }
  await loadBatches().catch((failure) => showError("batches-error", failure));
}

async function cyclePayments() {
  $("prepare-form")?.addEventListener("submit", prepare);
  try {
    await Promise.all([loadBatches(), $("prepare-form") ? loadProviders() : null]);
  } catch (error) {
    $("batch-rows").replaceChildren();
    showError("batches-error", error);
  }
}

// ---- A batch ---------------------------------------------------------------------------------------------------------
let batch = null;
let provider = null;
let paymentPage = 1;
let paymentPageSize = 0;

function renderBatch() {
  const b = batch;
  document.title = `${b.code} · spmis`;
  $("batch-title").textContent = `${b.code}`;
  const link = $("batch-cycle-link");
  link.href = `/programs/cycles/${b.cycle}/`;
  link.hidden = false;
  $("batch-status").textContent = batchState(b.status);
  $("batch-status").dataset.state = b.status;
  $("batch-fsp").textContent = provider ? `${b.fsp} · ${provider.name}` : b.fsp;
  $("batch-date").textContent = b.execution_date;
  $("batch-count").textContent = fmt(b.payment_count);
  $("batch-amount").textContent = money(b.payment_sum, b.currency);
  $("batch-fees").textContent = money(b.fee_sum, b.currency);
  $("batch-flagged").textContent = fmt(b.flagged_count);
  const held = heldText(b.held);
  $("batch-held").textContent = held ? `${T.held}: ${held}` : "";
  const trail = [];
  if (b.prepared_by) trail.push(fill(T.preparedBy, { user: b.prepared_by, when: when(b.prepared_at) }));
  if (b.released_by) trail.push(fill(T.releasedBy, { user: b.released_by, when: when(b.released_at) }));
  if (b.cancel_reason) trail.push(fill(T.cancelledBecause, { reason: b.cancel_reason }));
  $("batch-trail").textContent = trail.join(" · ");
  const lines = ["planned", "paid", "failed", "returned", "pending", "cancelled"];
  $("balance-rows").replaceChildren(
    ...lines.map((line) =>
      el(
        "tr",
        { "data-line": line },
        el("th", { scope: "row", text: T.balance[line] }),
        el("td", { class: "num", "data-count": b.balance[line].count, text: fmt(b.balance[line].count) }),
        el("td", { class: "num", "data-amount": b.balance[line].amount, text: money(b.balance[line].amount, b.currency) }),
      ),
    ),
  );
  // Which buttons a status offers; the API refuses the rest (and the preparer's release) with a 400 in words.
  const own = b.status === "prepared" && b.prepared_by === cfg.username;
  $("own-batch").hidden = !own;
  const release = $("batch-release");
  if (release) {
    release.hidden = b.status !== "prepared";
    release.disabled = own;
    release.title = own ? T.ownBatch : "";
    $("batch-send").hidden = !(b.status === "released" && provider && provider.transport !== "download");
  }
  const cancel = $("batch-cancel");
  if (cancel) cancel.hidden = !["preparing", "prepared"].includes(b.status);
}

async function loadBatch() {
  batch = await api(`${P}/payment-batches/${cfg.batch}/`);
  if (!provider) {
    // The provider tells whether files are sent through a connector or handed over by hand (download).
    provider = rows(await api(`${P}/fsps/?page_size=1000`).catch(() => [])).find((f) => f.code === batch.fsp) || null;
  }
  renderBatch();
  if ($("report-fsp")) $("report-fsp").value = batch.fsp;
}

async function loadFiles() {
  const body = $("file-rows");
  if (!body) return;
  const files = await api(`${P}/payment-batches/${cfg.batch}/files/`);
  const byHand = provider && provider.transport === "download";
  body.replaceChildren(
    ...files.map((f) =>
      el(
        "tr",
        { "data-file": f.id, "data-msg-id": f.msg_id },
        el("td", { text: f.name }),
        el("td", { class: "num", text: f.attempt }),
        el("td", { text: f.file_format }),
        el("td", { class: "num", text: fmt(f.nb_of_txs) }),
        el("td", { class: "num", "data-amount": f.ctrl_sum, text: money(f.ctrl_sum, batch.currency) }),
        el("td", { "data-state": f.status, text: fileState(f.status) }),
        el("td", { text: f.submitted_at ? when(f.submitted_at) : "–" }),
        el(
          "td",
          {},
          el(
            "span",
            { class: "links" },
            cfg.can.downloadFile ? el("a", { href: `${P}/payment-files/${f.id}/download/`, download: f.name, "data-download": f.id, text: T.download }) : null,
            cfg.can.releaseBatch && byHand && f.status === "validated"
              ? el("button", { type: "button", class: "small", "data-mark-submitted": f.id, text: T.markSubmitted, onclick: () => markSubmitted(f) })
              : null,
          ),
        ),
      ),
    ),
  );
  if (!files.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 8, class: "muted", text: T.noFiles })));
}

async function markSubmitted(file) {
  showError("batch-error", null);
  try {
    await api(`${P}/payment-files/${file.id}/mark-submitted/`, { method: "POST", json: {} });
  } catch (error) {
    showError("batch-error", error);
  }
  await refreshBatch();
}

async function loadPayments(page = paymentPage) {
  const body = $("payment-rows");
  if (!body) return;
  const status = $("payment-status").value;
  const data = await api(`${P}/payments/?batch=${cfg.batch}&page=${page}${status ? `&status=${encodeURIComponent(status)}` : ""}`);
  paymentPage = page;
  const list = rows(data);
  const count = data.count ?? list.length;
  $("payment-count").textContent = `${fmt(count)} ${T.payments.toLowerCase()}`;
  $("payment-count").dataset.count = count;
  body.replaceChildren(
    ...list.map((p) =>
      el(
        "tr",
        { "data-payment": p.id, "data-end-to-end-id": p.end_to_end_id },
        el("td", { class: "code", text: p.end_to_end_id }),
        el("td", {}, el("a", { href: `/programs/payments/households/${p.household}/`, text: p.household })),
        el("td", { class: "num", "data-amount": p.amount, text: money(p.amount, p.currency) }),
        el("td", { "data-state": p.status, text: paymentState(p.status) }),
        el("td", { "data-reason": p.reason_code, text: reasonText(p) }),
        el("td", { text: p.flagged ? p.flag_reason || T.yes : "–" }),
      ),
    ),
  );
  if (!list.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted", text: T.noPayments })));
  if (data.next && list.length) paymentPageSize = list.length;
  const pages = paymentPageSize ? Math.max(page, Math.ceil(count / paymentPageSize)) : page;
  $("payment-pager").replaceChildren(
    data.previous ? el("button", { type: "button", class: "small", text: T.previous, onclick: () => loadPayments(page - 1) }) : "",
    el("span", { text: fill(T.pageOf, { number: page, total: pages }) }),
    data.next ? el("button", { type: "button", class: "small", id: "payments-next", text: T.next, onclick: () => loadPayments(page + 1) }) : "",
  );
}

async function loadAreas() {
  const body = $("area-rows");
  if (!body) return;
  const areas = await api(`${P}/payment-batches/${cfg.batch}/areas/`);
  const groups = ["planned", "paid", "failed", "returned", "pending"];
  body.replaceChildren(
    ...areas.map((a) =>
      el(
        "tr",
        { "data-area": a.area },
        el("th", { scope: "row", text: a.name || a.area }),
        ...groups.flatMap((g) => [
          el("td", { class: "num", "data-group": g, "data-count": a[g].count, text: fmt(a[g].count) }),
          el("td", { class: "num", "data-group": g, "data-amount": a[g].amount, text: money(a[g].amount) }),
        ]),
      ),
    ),
  );
  if (!areas.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 11, class: "muted", text: T.noPayments })));
}

// ---- The map of failed and returned payments (exact locations: only for roles with personal data) -------------------
let failedMap = null;
let failedLayer = null;

function setUpMap() {
  if (!$("failed-map") || typeof L === "undefined") return;
  const country = JSON.parse(document.getElementById("country-config").textContent);
  failedMap = L.map("failed-map", { preferCanvas: true, zoomSnap: 0.5, minZoom: 3, maxZoom: 16 }).fitBounds(country.bounds);
  if (country.attribution) failedMap.attributionControl.addAttribution(country.attribution);
  $("failed-map").leafletMap = failedMap; // for the browser tests
  failedLayer = L.layerGroup().addTo(failedMap);
  api(`/api/v1/geo/areas/?level=${country.chartLevel}&simplify=0.01&page_size=1000`)
    .then((areas) => L.geoJSON(areas, { interactive: false, style: { weight: 0.7, color: "#6b7280", fillColor: "#f3f4f6", fillOpacity: 0.7 } }).addTo(failedMap).bringToBack())
    .catch(() => {}); // the outlines are only a guide: the points and the table carry the figures
}

async function loadFailedMap() {
  if (!failedMap) return;
  const collection = await api(`${P}/payment-batches/${cfg.batch}/failed-map/`);
  failedLayer.clearLayers();
  const features = collection.features || [];
  const bounds = [];
  for (const f of features) {
    const [lon, lat] = f.geometry.coordinates;
    const p = f.properties;
    const colour = p.status === "returned" ? "#7c3aed" : "#b91c1c";
    L.circleMarker([lat, lon], { radius: 6, weight: 1, color: "#111827", fillColor: colour, fillOpacity: 0.8 })
      .bindTooltip(`${p.end_to_end_id} · ${paymentState(p.status)}: ${reasonText(p)}`)
      .addTo(failedLayer);
    bounds.push([lat, lon]);
  }
  if (bounds.length) failedMap.fitBounds(bounds, { padding: [30, 30], maxZoom: 12 });
  $("failed-map").dataset.points = features.length;
  const shown = fmt(features.length);
  $("failed-count").textContent = !features.length
    ? T.noFailed
    : collection.count > features.length
      ? fill(T.failedPointsOf, { shown, count: fmt(collection.count) })
      : fill(T.failedPoints, { shown });
}

// ---- Status reports ---------------------------------------------------------------------------------------------------
async function showIssues(report) {
  const table = $("report-issues");
  const issues = rows(await api(`${P}/payment-reports/${report.id}/issues/?page_size=1000`));
  $("issue-rows").replaceChildren(
    ...issues.map((i) => el("tr", { "data-issue": i.id }, el("td", { class: "num", text: i.line ?? "–" }), el("td", { class: "code", text: i.reference || "–" }), el("td", { text: i.problem }))),
  );
  table.hidden = !issues.length;
}

function showReportResult(report, again) {
  const r = report.result || {};
  const node = $("report-result");
  node.dataset.applied = r.applied ?? 0;
  node.dataset.unchanged = r.unchanged ?? 0;
  node.dataset.issues = r.issues ?? 0;
  const figures = `${fmt(r.applied ?? 0)} ${T.applied}, ${fmt(r.unchanged ?? 0)} ${T.unchanged}, ${fmt(r.issues ?? 0)} ${T.issues}.`;
  node.textContent = again ? `${T.alreadyImported} ${figures}` : `${T.imported} ${figures}${r.issues ? "" : ` ${T.noIssues}`}`;
}

async function uploadReport(e) {
  e.preventDefault();
  const form = e.target;
  const error = form.querySelector("[data-error]");
  error.textContent = "";
  $("report-result").textContent = "";
  delete $("report-result").dataset.applied; // set again when this file's import has ended
  $("report-issues").hidden = true;
  const button = $("report-button");
  button.disabled = true;
  const body = new FormData();
  body.append("fsp", batch.fsp);
  body.append("file", form.elements.file.files[0]);
  let status = 0;
  try {
    let report = await api(`${P}/payment-reports/`, { method: "POST", body, onStatus: (s) => (status = s) });
    const again = status === 200; // the same file imported before: nothing changed
    if (!again) report = await follow(`${P}/payment-reports/${report.id}/`, report, { bar: "report-bar", message: "report-message", running: T.importing });
    else if (report.status === "failed") throw new Error(jobError(report));
    await showIssues(report);
    form.reset();
    // Last: the result's data-applied says this upload has ended (the next file chosen is not reset away).
    showReportResult(report, again);
  } catch (failure) {
    error.textContent = failure.message;
  } finally {
    button.disabled = false;
  }
  await refreshBatch();
}

// ---- Batch steps: release, send, cancel --------------------------------------------------------------------------
async function step(path, json) {
  showError("batch-error", null);
  $("batch-ok").textContent = "";
  const buttons = [...document.querySelectorAll("#batch-actions button")];
  for (const b of buttons) b.disabled = true;
  try {
    const answer = await api(`${P}/payment-batches/${cfg.batch}/${path}/`, { method: "POST", json: json || {} });
    if (path === "cancel") {
      $("batch-ok").textContent = batchState(answer.status);
    } else {
      const running = path === "release" ? T.releasing : T.sending;
      const done = await follow(`${P}/payment-batch-runs/${answer.id}/`, answer, { bar: "batch-bar", message: "batch-message", running });
      $("batch-message").textContent = `${path === "release" ? T.released : T.sent} ${done.message || ""}`;
    }
  } catch (error) {
    showError("batch-error", error);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
  await refreshBatch();
}

// A step still running when the page opens (a large batch being prepared) is followed on the bar.
async function watchRunning() {
  const running = rows(await api(`${P}/payment-batch-runs/?batch=${cfg.batch}`)).find((r) => ["pending", "running"].includes(r.status));
  if (!running) return;
  const words = { prepare: T.preparing, release: T.releasing, send: T.sending }[running.kind] || T.loading;
  await follow(`${P}/payment-batch-runs/${running.id}/`, running, { bar: "batch-bar", message: "batch-message", running: words }).catch((error) => showError("batch-error", error));
  await refreshBatch();
}

async function refreshBatch() {
  try {
    await loadBatch();
    await Promise.all([loadFiles(), loadPayments(1), loadAreas(), loadFailedMap()]);
  } catch (error) {
    showError("batch-error", error);
  }
}

async function batchPage() {
  $("batch-release")?.addEventListener("click", () => step("release"));
  $("batch-send")?.addEventListener("click", () => step("send"));
  $("batch-cancel")?.addEventListener("click", () => {
    $("batch-cancel-form").hidden = false;
    $("batch-cancel-reason").focus();
  });
  $("batch-cancel-form")?.addEventListener("submit", (e) => {
    e.preventDefault();
    $("batch-cancel-form").hidden = true;
    step("cancel", { reason: $("batch-cancel-reason").value.trim() });
  });
  $("report-form")?.addEventListener("submit", uploadReport);
  $("payment-status")?.addEventListener("change", () => loadPayments(1).catch((error) => showError("batch-error", error)));
  setUpMap();
  await loadBatch();
  await Promise.all([loadFiles(), loadPayments(1), loadAreas(), loadFailedMap()]);
  watchRunning().catch(() => {});
}

// ---- A household's payment history ---------------------------------------------------------------------------------
async function householdPage() {
  const box = $("history");
  let payments;
  try {
    payments = rows(await api(`${P}/payments/?household=${cfg.household}&page_size=1000`));
  } catch (error) {
    box.replaceChildren();
    showError("history-error", error);
    throw error;
  }
  const events = await Promise.all(payments.map((p) => api(`${P}/payments/${p.id}/events/`)));
  const byId = new Map(payments.map((p) => [p.id, p]));
  box.replaceChildren(
    ...payments.map((p, index) =>
      el(
        "section",
        { class: "card", "data-payment": p.id, "data-end-to-end-id": p.end_to_end_id },
        el("h2", { text: `${p.end_to_end_id} · ${p.batch} · ${money(p.amount, p.currency)}` }),
        el(
          "p",
          { class: "meta" },
          el("span", { "data-state": p.status, text: paymentState(p.status) }),
          p.reason || p.reason_code ? ` · ${reasonText(p)}` : "",
          p.reissue_of ? ` · ${fill(T.reissueOf, { id: byId.get(p.reissue_of)?.end_to_end_id ?? p.reissue_of })}` : "",
          ` · ${p.entitlement}`,
        ),
        el(
          "table",
          {},
          el("thead", {}, el("tr", {}, [T.status, T.reason, T.amount, T.at, T.actor].map((h) => el("th", { scope: "col", text: h })))),
          el(
            "tbody",
            {},
            events[index].map((e) =>
              el(
                "tr",
                { "data-event": e.id, "data-state": e.status },
                el("td", { text: paymentState(e.status) }),
                el("td", { text: e.reason || e.reason_code ? reasonText(e) : "–" }),
                el("td", { class: "num", text: e.amount ? money(e.amount, p.currency) : "–" }),
                el("td", { text: when(e.at) }),
                el("td", { text: e.actor || "–" }),
              ),
            ),
          ),
        ),
      ),
    ),
  );
  if (!payments.length) box.replaceChildren(el("p", { class: "muted", text: T.noHistory }));
}

const ready = (promise, key) =>
  promise
    .then(() => (document.body.dataset[key] = "true"))
    .catch((error) => {
      showError(cfg.page === "batch" ? "batch-error" : "history-error", error);
      document.body.dataset[key] = "error";
    });

if (cfg.page === "cycle") ready(cyclePayments(), "paymentsReady");
else if (cfg.page === "batch") ready(batchPage(), "ready");
else if (cfg.page === "household") ready(householdPage(), "ready");
