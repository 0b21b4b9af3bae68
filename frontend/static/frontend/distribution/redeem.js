// The redemption screen of one distribution point. A code comes from the camera (jsQR, served from /static/vendor/,
// no CDN) or is typed; online, the API checks it and hands out the chosen quantities in one transaction (stock leaves
// the point's ledger then); offline, the redemption is kept on this device with an idempotency key and sent later
// as a batch signed with the device's key. The server decides: a conflict (redeemed elsewhere, no stock) comes back
// to follow up, never a second hand-out.
import { api, el } from "../api.js";
import * as offline from "./offline.js";
import { $, D, T, cfg, fill, qty, ready, when } from "./common.js";

const POINT = cfg.point.id;
const ENDPOINTS = {
  check: `${D}/redemptions/check/`,
  redeem: `${D}/redemptions/`,
  devices: `${D}/devices/`,
  batch: `${D}/redemption-batches/`,
};
const DEVICE_KEY = `spmis.device.${POINT}`;
let device = JSON.parse(localStorage.getItem(DEVICE_KEY) || "null");
let current = null; // the checked entitlement, or {code, offline: true}
let stream = null;
let scanning = false;

// A fetch that failed to reach the server (not an answer from it): the cue to record offline.
const unreachable = (error) => !navigator.onLine || error instanceof TypeError || error.name === "TypeError";

function say(ok, error) {
  $("redeem-ok").textContent = ok || "";
  $("redeem-error").textContent = error || "";
}

function showConnection() {
  const online = navigator.onLine;
  $("connection").textContent = online ? T.online : T.offline;
  $("connection").dataset.online = String(online);
}

function showDevice() {
  $("device-status").textContent = device ? fill(T.deviceReady, { code: device.code || device.id }) : T.deviceMissing;
  $("device-form").hidden = Boolean(device);
}

async function register(event) {
  event.preventDefault();
  const form = event.target;
  form.querySelector("[data-error]").textContent = "";
  try {
    const made = await api(ENDPOINTS.devices, { method: "POST", json: { point: POINT, name: form.elements.name.value } });
    // The key is shown once by the server: this device keeps it to sign its offline batches.
    device = { id: made.id, code: made.code, key: made.key, key_id: made.key_id };
    localStorage.setItem(DEVICE_KEY, JSON.stringify(device));
    showDevice();
  } catch (failure) {
    form.querySelector("[data-error]").textContent = failure.message;
  }
}

// ---- Camera -----------------------------------------------------------------------------------------------------------
async function startCamera() {
  if (!navigator.mediaDevices?.getUserMedia || typeof jsQR === "undefined") {
    $("scan-status").textContent = T.noCamera;
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch {
    $("scan-status").textContent = T.noCamera;
    return;
  }
  const video = $("scan-video");
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  $("scan-start").hidden = true;
  $("scan-stop").hidden = false;
  $("scan-status").textContent = T.scanning;
  scanning = true;
  requestAnimationFrame(scanFrame);
}

function stopCamera() {
  scanning = false;
  stream?.getTracks().forEach((track) => track.stop());
  stream = null;
  $("scan-video").hidden = true;
  $("scan-start").hidden = false;
  $("scan-stop").hidden = true;
}

function scanFrame() {
  if (!scanning) return;
  const video = $("scan-video");
  if (video.readyState >= video.HAVE_CURRENT_DATA && video.videoWidth) {
    const canvas = $("scan-canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const found = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    if (found && found.data) {
      stopCamera();
      $("code-input").value = found.data;
      document.body.dataset.scanned = "true";
      check(found.data);
      return;
    }
  }
  requestAnimationFrame(scanFrame);
}

// ---- Checking and handing out -------------------------------------------------------------------------------------------
function renderVoucher() {
  $("voucher").hidden = false;
  const body = $("voucher-items");
  if (current.offline) {
    $("voucher-summary").textContent = T.verifyOffline;
    body.replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "muted", text: T.remaining })));
    return;
  }
  const e = current;
  $("voucher-summary").textContent = [e.household_label || e.registrant_id, e.program_name || e.program, e.valid_until ? `≤ ${e.valid_until}` : ""]
    .filter(Boolean)
    .join(" · ");
  body.replaceChildren(
    ...(e.items || []).map((item) =>
      el(
        "tr",
        { "data-item": item.item },
        el("td", { text: item.item_name || item.item }),
        el("td", { class: "num", "data-remaining": item.remaining, text: qty(item.remaining) }),
        el("td", {}, el("input", { name: item.item, type: "number", min: "0", max: item.remaining, step: "any", value: item.remaining, class: "num", "aria-label": `${T.handOut} ${item.item}` })),
        el("td", { text: item.unit }),
      ),
    ),
  );
}

async function check(code) {
  say(T.checking, "");
  $("voucher").hidden = true;
  current = null;
  try {
    current = await api(`${ENDPOINTS.check}?${new URLSearchParams({ code, point: POINT })}`);
    current.code = code;
    say("", "");
  } catch (error) {
    if (!unreachable(error)) {
      say("", `${T.refused} ${error.message}`);
      return;
    }
    current = { code, offline: true };
    say("", "");
  }
  renderVoucher();
}

function chosenItems() {
  if (current.offline) return null; // everything still due: the server knows what that is when the batch arrives
  return [...$("voucher-items").querySelectorAll("input")]
    .filter((input) => input.value && Number(input.value) > 0)
    .map((input) => ({ item: input.name, quantity: input.value }));
}

async function redeem(event) {
  event.preventDefault();
  if (!current) return;
  const record = {
    client_uuid: offline.uuid(),
    point: POINT,
    code: current.code,
    items: chosenItems(),
    recorded_at: new Date().toISOString(),
  };
  $("redeem-button").disabled = true;
  try {
    if (current.offline) throw new TypeError("offline");
    const done = await api(ENDPOINTS.redeem, {
      method: "POST",
      json: { point: POINT, device: device?.id, code: record.code, items: record.items, client_uuid: record.client_uuid },
    });
    await offline.put({ ...record, status: "accepted", redemption: done.id, message: "" });
    say(`${T.redeemed} ${(done.items || record.items || []).map((i) => `${qty(i.quantity)} ${i.unit || ""} ${i.item}`).join(", ")}`, "");
    document.body.dataset.redeemed = String(Number(document.body.dataset.redeemed || 0) + 1);
  } catch (error) {
    if (unreachable(error)) {
      await offline.put({ ...record, status: "pending", message: "" });
      say(T.queued, "");
    } else {
      say("", `${T.refused} ${error.message}`);
    }
  } finally {
    $("redeem-button").disabled = false;
  }
  $("voucher").hidden = true;
  $("code-input").value = "";
  current = null;
  await renderLog();
}

// ---- Offline batches ----------------------------------------------------------------------------------------------------
let syncing = false;

async function sync() {
  if (syncing || !navigator.onLine) return;
  const waiting = await offline.pending(POINT);
  if (!waiting.length) return;
  if (!device) {
    say("", T.deviceMissing);
    return;
  }
  syncing = true;
  try {
    const redemptions = waiting.map((r) => ({ client_uuid: r.client_uuid, code: r.code, items: r.items, recorded_at: r.recorded_at }));
    const batch = { device: device.id, point: POINT, redemptions };
    const signature = await offline.sign(device.key, batch);
    const answer = await api(ENDPOINTS.batch, { method: "POST", json: { ...batch, key_id: device.key_id, signature } });
    const results = new Map((answer.results || []).map((r) => [r.client_uuid, r]));
    let accepted = 0;
    let conflicts = 0;
    for (const record of waiting) {
      const result = results.get(record.client_uuid);
      if (!result) continue;
      const ok = ["accepted", "redeemed", "duplicate", "ok"].includes(result.status);
      ok ? accepted++ : conflicts++;
      await offline.put({ ...record, status: ok ? "accepted" : "conflict", message: result.message || result.reason || "", redemption: result.redemption });
    }
    say(fill(T.synced, { accepted, conflicts }), "");
    document.body.dataset.synced = String(Number(document.body.dataset.synced || 0) + 1);
  } catch (error) {
    if (!unreachable(error)) say("", `${T.failed} ${error.message}`);
  } finally {
    syncing = false;
    await renderLog();
  }
}

async function renderLog() {
  const records = await offline.list(POINT);
  const label = { pending: T.offline, accepted: "✓", conflict: T.conflict };
  $("log-rows").replaceChildren(
    ...records.slice(0, 100).map((r) =>
      el(
        "tr",
        { "data-status": r.status, "data-uuid": r.client_uuid },
        el("td", { text: when(r.recorded_at) }),
        el("td", { text: r.code.length > 24 ? `${r.code.slice(0, 24)}…` : r.code }),
        el("td", { text: r.items ? r.items.map((i) => `${qty(i.quantity)} ${i.item}`).join(", ") : "…" }),
        el("td", { text: `${label[r.status] || r.status}${r.message ? ` ${r.message}` : ""}` }),
      ),
    ),
  );
  const waiting = records.filter((r) => r.status === "pending").length;
  $("pending-count").textContent = waiting ? fill(T.pending, { n: waiting }) : "";
}

// The screen and its scripts are kept by the service worker and cached here as well, so that the next visit opens
// without a connection even if this one was the first.
async function keepForOffline() {
  if (!("serviceWorker" in navigator)) return;
  await navigator.serviceWorker.register("/distribution/sw.js", { scope: "/distribution/" });
  await navigator.serviceWorker.ready;
  const cache = await caches.open("spmis-redeem-v1");
  const assets = [location.pathname, ...[...document.querySelectorAll("script[src], link[rel=stylesheet]")].map((n) => n.src || n.href)];
  const modules = ["api.js", "distribution/common.js", "distribution/offline.js"].map((m) => new URL(`../${m}`, import.meta.url).href);
  await Promise.all([...assets, ...modules].map((url) => cache.add(url).catch(() => {})));
  document.body.dataset.offlineReady = "true";
}

async function start() {
  showConnection();
  showDevice();
  window.addEventListener("online", () => {
    showConnection();
    sync();
  });
  window.addEventListener("offline", showConnection);
  $("device-form").addEventListener("submit", register);
  $("scan-start").addEventListener("click", startCamera);
  $("scan-stop").addEventListener("click", stopCamera);
  $("code-form").addEventListener("submit", (e) => {
    e.preventDefault();
    check($("code-input").value.trim());
  });
  $("redeem-form").addEventListener("submit", redeem);
  $("sync-button").addEventListener("click", sync);
  await renderLog();
  ready();
  await sync();
  setInterval(sync, 30000);
  keepForOffline().catch(() => {});
}

start();
