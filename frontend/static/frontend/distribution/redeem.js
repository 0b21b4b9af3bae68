// The redemption screen of one distribution point. A voucher comes from the camera (jsQR, served from
// /static/vendor/, no CDN) or is typed, or the entitlement is found by a member's ID document number; online, the
// API checks it and hands out the chosen quantities in one transaction (stock leaves the point's ledger then);
// offline, the redemption is kept on this device with its client_uuid and sent later in a batch signed with the
// device's Ed25519 key. The server decides: a conflict (redeemed elsewhere, no stock) comes back to follow up, never
// a second hand-out.
import { api, el } from "../api.js";
import * as offline from "./offline.js";
import { $, D, T, cfg, fill, qty, ready, when } from "./common.js";

const POINT = cfg.point.id;
const R = `${D}/redemptions`;
const OUTBOX = `spmis.outbox.${POINT}`; // the batch being sent, kept until answered so a retry sends the same bytes
let device = null; // {point, id, key_id, keys}
let current = null; // the checked entitlement ({entitlement, balance, ...} + how it was found), or an offline voucher
let stream = null;
let scanning = false;

// A fetch that did not reach the server (rather than an answer from it): the cue to record offline.
const unreachable = (error) => !navigator.onLine || error instanceof TypeError;

function say(ok, error) {
  $("redeem-ok").textContent = ok || "";
  $("redeem-error").textContent = error || "";
}

function showConnection() {
  $("connection").textContent = navigator.onLine ? T.online : T.offline;
  $("connection").dataset.online = String(navigator.onLine);
}

function showDevice() {
  $("device-status").textContent = device ? fill(T.deviceReady, { code: device.key_id }) : T.deviceMissing;
  $("device-status").dataset.device = device ? device.key_id : "";
  $("device-form").hidden = Boolean(device);
}

// The device makes its key pair and registers the public half; the private half stays in this browser.
async function register(event) {
  event.preventDefault();
  const form = event.target;
  const error = form.querySelector("[data-error]");
  error.textContent = "";
  try {
    const { keys, publicKey } = await offline.newKeyPair();
    const made = await api(`${D}/redemption-devices/`, { method: "POST", json: { point: POINT, name: form.elements.name.value, public_key: publicKey } });
    device = { point: POINT, id: made.id, key_id: made.key_id, keys };
    await offline.putDevice(device);
    showDevice();
  } catch (failure) {
    error.textContent = failure.message;
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
      $("scan-status").textContent = "";
      document.body.dataset.scanned = found.data;
      lookup({ voucher: found.data });
      return;
    }
  }
  requestAnimationFrame(scanFrame);
}

// ---- Looking up and handing out -------------------------------------------------------------------------------------
function renderVoucher() {
  $("voucher").hidden = false;
  const body = $("voucher-items");
  const button = $("redeem-button");
  if (current.offline) {
    $("voucher-summary").textContent = T.verifyOffline;
    body.replaceChildren();
    button.disabled = false;
    return;
  }
  const e = current;
  const refusal = e.redeemable ? "" : ` — ${T.refused} ${e.refusal?.message || ""}`;
  $("voucher-summary").textContent = `${[e.entitlement, e.head, e.household, e.program, e.cycle, `≤ ${e.valid_until}`].filter(Boolean).join(" · ")}${refusal}`;
  $("voucher-summary").dataset.redeemable = String(e.redeemable);
  body.replaceChildren(
    ...(e.balance || []).map((line) =>
      el(
        "tr",
        { "data-item": line.item },
        el("td", { text: line.item }),
        el("td", { class: "num", "data-remaining": line.remaining, text: qty(line.remaining) }),
        el(
          "td",
          {},
          el("input", { name: line.item, "data-unit": line.unit, type: "number", min: "0", max: line.remaining, step: "any", value: line.remaining, class: "num", "aria-label": `${T.handOut} ${line.item}`, disabled: !e.redeemable || undefined }),
        ),
        el("td", { text: line.unit }),
      ),
    ),
  );
  button.disabled = !e.redeemable;
}

function renderMatches(found, how) {
  const list = $("matches");
  list.replaceChildren(
    ...found.map((match) =>
      el(
        "li",
        {},
        el("button", {
          type: "button",
          class: "small",
          "data-entitlement": match.entitlement,
          text: `${match.entitlement} · ${match.head || match.household} · ${match.program}`,
          onclick: () => {
            current = { ...match, how };
            list.replaceChildren();
            renderVoucher();
          },
        }),
      ),
    ),
  );
}

// how: {voucher} (scanned or typed) or {id_number} (registry search with the ID check)
async function lookup(how) {
  say(T.checking, "");
  $("voucher").hidden = true;
  $("matches").replaceChildren();
  current = null;
  let found;
  try {
    found = (await api(`${R}/lookup/?${new URLSearchParams({ point: POINT, ...how })}`)).results || [];
  } catch (error) {
    if (unreachable(error) && how.voucher) {
      current = { offline: true, how };
      say("", "");
      renderVoucher();
    } else {
      say("", `${T.refused} ${error.message}`);
    }
    return;
  }
  say("", found.length ? "" : T.none);
  if (found.length === 1) {
    current = { ...found[0], how };
    renderVoucher();
  } else {
    renderMatches(found, how);
  }
}

// What the operator hands over: {items} in kind, {amount} for a cash voucher; {} (everything still due) offline,
// where the server knows what that is when the batch arrives.
function chosen() {
  if (current.offline) return {};
  const inputs = [...$("voucher-items").querySelectorAll("input")].filter((input) => input.value !== "" && Number(input.value) > 0);
  if (current.kind === "cash") return inputs.length ? { amount: inputs[0].value } : {};
  return { items: inputs.map((input) => ({ item: input.name, quantity: input.value, unit: input.dataset.unit })) };
}

function identity(how, entitlement) {
  return how.voucher ? { voucher: how.voucher } : { entitlement, id_number: how.id_number };
}

function refusalText(error) {
  const previous = error.body?.previous?.[0];
  const first = previous ? ` (${previous.redemption}, ${previous.point_name || previous.point}, ${previous.operator || "–"}, ${when(previous.at)})` : "";
  return `${T.refused} ${error.message}${first}`;
}

async function redeem(event) {
  event.preventDefault();
  if (!current) return;
  const handed = chosen();
  const record = { client_uuid: offline.uuid(), point: POINT, ...identity(current.how, current.entitlement), ...handed, occurred_at: new Date().toISOString() };
  const label = current.entitlement || current.how.voucher;
  $("redeem-button").disabled = true;
  try {
    if (current.offline) throw new TypeError("offline");
    const json = { point: POINT, ...identity(current.how, current.entitlement), ...handed, client_uuid: record.client_uuid };
    const done = await api(`${R}/`, { method: "POST", json });
    const lines = (done.lines || []).map((l) => ({ item: l.item, quantity: l.quantity, unit: l.unit }));
    await offline.put({ ...record, items: lines, label, status: "redeemed", redemption: done.code, message: "" });
    const text = lines.map((l) => `${qty(l.quantity)} ${l.unit} ${l.item}`).join(", ");
    say(`${T.redeemed} ${done.code}${text ? ` — ${text}` : ""}`, "");
    document.body.dataset.redeemed = String(Number(document.body.dataset.redeemed || 0) + 1);
  } catch (error) {
    if (unreachable(error)) {
      await offline.put({ ...record, label, status: "pending", message: "" });
      say(T.queued, "");
    } else {
      say("", refusalText(error));
    }
  }
  $("voucher").hidden = true;
  $("code-input").value = "";
  current = null;
  await renderLog();
}

// ---- Offline batches ----------------------------------------------------------------------------------------------------
let syncing = false;

function recordForBatch(r) {
  const out = { client_uuid: r.client_uuid, occurred_at: r.occurred_at, operator: cfg.username };
  for (const key of ["voucher", "entitlement", "id_number", "items", "amount"]) if (r[key] !== undefined) out[key] = r[key];
  return out;
}

async function outbox() {
  const kept = JSON.parse(localStorage.getItem(OUTBOX) || "null");
  if (kept) return kept;
  const waiting = await offline.pending(POINT);
  if (!waiting.length) return null;
  const payload = JSON.stringify({ device: device.key_id, batch: offline.uuid(), records: waiting.map(recordForBatch) });
  const batch = { device: device.key_id, payload, signature: await offline.sign(device.keys.privateKey, payload) };
  localStorage.setItem(OUTBOX, JSON.stringify(batch));
  return batch;
}

async function sync() {
  // Taken before the first await: two calls (the online event and the button) must never build two batches.
  if (syncing || !navigator.onLine) return;
  syncing = true;
  try {
    if (!(await offline.pending(POINT)).length && !localStorage.getItem(OUTBOX)) return;
    if (!device) {
      say("", T.deviceMissing);
      return;
    }
    const batch = await outbox();
    if (!batch) return;
    const answer = await api(`${D}/redemption-batches/`, { method: "POST", json: batch });
    localStorage.removeItem(OUTBOX);
    const records = new Map((await offline.list(POINT)).map((r) => [r.client_uuid, r]));
    let accepted = 0;
    let conflicts = 0;
    for (const result of answer.result || []) {
      const record = records.get(result.client_uuid);
      if (!record) continue;
      const ok = result.status === "redeemed" || result.status === "duplicate";
      ok ? accepted++ : conflicts++;
      const previous = result.previous?.[0];
      const message = ok ? result.redemption || "" : `${result.message || result.reason || ""}${previous ? ` (${previous.point_name || previous.point}, ${when(previous.at)})` : ""}`;
      await offline.put({ ...record, status: ok ? "redeemed" : "conflict", message, redemption: result.redemption });
    }
    say(fill(T.synced, { accepted, conflicts }), "");
    document.body.dataset.synced = String(Number(document.body.dataset.synced || 0) + 1);
  } catch (error) {
    if (unreachable(error)) {
      setTimeout(sync, 5000); // the connection came back but the server is not reachable yet: try again soon
      return;
    }
    // A batch the server refused as a whole (a bad signature, a revoked device): say so; the records stay pending.
    localStorage.removeItem(OUTBOX);
    say("", `${T.failed} ${error.message}`);
  } finally {
    syncing = false;
    await renderLog();
  }
}

async function renderLog() {
  const records = await offline.list(POINT);
  const label = { pending: T.offline, redeemed: "✓", conflict: T.conflict };
  $("log-rows").replaceChildren(
    ...records.slice(0, 100).map((r) =>
      el(
        "tr",
        { "data-status": r.status, "data-uuid": r.client_uuid },
        el("td", { text: when(r.occurred_at) }),
        el("td", { text: String(r.label || "").length > 28 ? `${r.label.slice(0, 28)}…` : r.label }),
        el("td", { text: r.items ? r.items.map((i) => `${qty(i.quantity)} ${i.unit || ""} ${i.item}`).join(", ") : "…" }),
        el("td", { text: `${label[r.status] || r.status}${r.message ? ` ${r.message}` : ""}` }),
      ),
    ),
  );
  const waiting = records.filter((r) => r.status === "pending").length;
  $("pending-count").textContent = waiting ? fill(T.pending, { n: waiting }) : "";
  $("pending-count").dataset.pending = String(waiting);
}

// The screen and its scripts are kept by the service worker, and cached from here too, so that the screen opens
// without a connection next time even if this visit was the first.
async function keepForOffline() {
  if (!("serviceWorker" in navigator)) return;
  await navigator.serviceWorker.register("/distribution/sw.js", { scope: "/distribution/" });
  await navigator.serviceWorker.ready;
  const cache = await caches.open("spmis-redeem-v1");
  const assets = [...document.querySelectorAll("script[src], link[rel=stylesheet]")].map((n) => n.src || n.href);
  const modules = ["api.js", "distribution/common.js", "distribution/offline.js"].map((m) => new URL(`../${m}`, import.meta.url).href);
  await Promise.all([location.pathname, ...assets, ...modules].map((url) => cache.add(url).catch(() => {})));
  document.body.dataset.offlineReady = "true";
}

async function start() {
  showConnection();
  device = (await offline.getDevice(POINT).catch(() => null)) || null;
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
    lookup({ voucher: $("code-input").value.trim() });
  });
  $("id-form").addEventListener("submit", (e) => {
    e.preventDefault();
    lookup({ id_number: $("id-input").value.trim() });
  });
  $("redeem-form").addEventListener("submit", redeem);
  $("sync-button").addEventListener("click", sync);
  await renderLog();
  ready();
  keepForOffline().catch(() => {});
  await sync();
  setInterval(sync, 30000);
}

start();
