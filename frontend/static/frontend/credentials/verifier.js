// Offline verifier for spmis ID cards (Claim 169 QR): Base45 → zlib → COSE_Sign1 → CWT → claim 169, the signature
// checked with WebCrypto against the issuer's JWKS kept in localStorage, the revocation bit against the cached W3C
// Bitstring Status List. Nothing here needs the network once the page, the keys and the lists are cached.
"use strict";

const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const FIELDS = { 1: "id", 4: "fullName", 5: "firstName", 7: "lastName", 8: "dateOfBirth", 9: "gender", 21: "locationCode", 80: "programCode", 81: "cardCode" };
const STORE = "spmis-verifier";

class Refusal extends Error {
  constructor(reason, detail) { super(reason); this.reason = reason; this.detail = detail || ""; }
}

function b45decode(text) {
  const values = [];
  for (const ch of text) {
    const v = B45.indexOf(ch);
    if (v < 0) throw new Refusal("base45");
    values.push(v);
  }
  if (values.length % 3 === 1) throw new Refusal("base45");
  const out = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
      if (n > 0xffff) throw new Refusal("base45");
      out.push(n >> 8, n & 0xff);
    } else {
      const n = values[i] + values[i + 1] * 45;
      if (n > 0xff) throw new Refusal("base45");
      out.push(n);
    }
  }
  return new Uint8Array(out);
}

async function decompress(bytes, format) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function cborDecode(buf) {
  let pos = 0;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  function length(ai) {
    if (ai < 24) return ai;
    if (ai === 24) return buf[pos++];
    if (ai === 25) { const v = view.getUint16(pos); pos += 2; return v; }
    if (ai === 26) { const v = view.getUint32(pos); pos += 4; return v; }
    if (ai === 27) { const v = Number(view.getBigUint64(pos)); pos += 8; return v; }
    throw new Refusal("cose");
  }
  function item() {
    if (pos >= buf.length) throw new Refusal("cose");
    const ib = buf[pos++], mt = ib >> 5, ai = ib & 31;
    switch (mt) {
      case 0: return length(ai);
      case 1: return -1 - length(ai);
      case 2: { const n = length(ai); const b = buf.slice(pos, pos + n); pos += n; return b; }
      case 3: { const n = length(ai); const s = new TextDecoder().decode(buf.slice(pos, pos + n)); pos += n; return s; }
      case 4: { const n = length(ai); const a = []; for (let i = 0; i < n; i++) a.push(item()); return a; }
      case 5: { const n = length(ai); const m = new Map(); for (let i = 0; i < n; i++) { const k = item(); m.set(k, item()); } return m; }
      case 6: { const tag = length(ai); return { tag, value: item() }; }
      case 7:
        if (ai === 20) return false;
        if (ai === 21) return true;
        if (ai === 22 || ai === 23) return null;
        throw new Refusal("cose");
    }
  }
  return item();
}

function cborHead(major, n) {
  if (n < 24) return [(major << 5) | n];
  if (n < 256) return [(major << 5) | 24, n];
  if (n < 65536) return [(major << 5) | 25, n >> 8, n & 0xff];
  return [(major << 5) | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

function sigStructure(protectedBytes, payload) {
  const context = new TextEncoder().encode("Signature1");
  const parts = [[0x84], cborHead(3, context.length), context, cborHead(2, protectedBytes.length), protectedBytes,
    [0x40], cborHead(2, payload.length), payload];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function cache() {
  try { return JSON.parse(localStorage.getItem(STORE) || "{}"); } catch (e) { return {}; }
}

function b64url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0));
}

async function verifiedList(token, jwks) {
  // The signed form of a status list (vc+jwt, EdDSA): kept only if the issuer's key signed it, so a forged list
  // cannot hide a revocation from a device that trusts these keys.
  const [head, body, signature] = token.trim().split(".");
  const header = JSON.parse(new TextDecoder().decode(b64url(head)));
  const jwk = (jwks.keys || []).find((k) => k.kid === header.kid && k.kty === "OKP");
  if (header.alg !== "EdDSA" || !jwk) return null;
  const key = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, ["verify"]);
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, b64url(signature), new TextEncoder().encode(head + "." + body));
  return ok ? JSON.parse(new TextDecoder().decode(b64url(body))) : null;
}

async function refresh(config) {
  // While online: the issuer's keys and every status list (signature checked), with the time they were fetched.
  const saved = cache();
  try {
    const jwks = await (await fetch(config.jwks, { cache: "no-store" })).json();
    saved.jwks = jwks; saved.jwksAt = Date.now();
    saved.lists = saved.lists || {};
    for (const [id, url] of Object.entries(config.statusLists)) {
      const token = await (await fetch(url + "?format=jwt", { cache: "no-store" })).text();
      const body = await verifiedList(token, jwks);
      if (body) saved.lists[id] = { encodedList: body.credentialSubject.encodedList, at: Date.now() };
    }
    localStorage.setItem(STORE, JSON.stringify(saved));
    return true;
  } catch (e) {
    return false;
  }
}

async function verifyText(text) {
  const saved = cache();
  let bytes = b45decode(text.trim());
  try { bytes = await decompress(bytes, "deflate"); } catch (e) { throw new Refusal("decompress"); }
  let cose = cborDecode(bytes);
  if (cose && cose.tag === 16) throw new Refusal("encrypted"); // COSE_Encrypt0: only the issuer's key opens it
  if (cose && cose.tag === 18) cose = cose.value;
  if (!Array.isArray(cose) || cose.length !== 4) throw new Refusal("cose");
  const [protectedBytes, , payload, signature] = cose;
  const header = protectedBytes.length ? cborDecode(protectedBytes) : new Map();
  const alg = header.get(1);
  const kidBytes = header.get(4);
  const kid = kidBytes ? new TextDecoder().decode(kidBytes) : null;
  if (!signature || !signature.length) throw new Refusal("unsigned");
  const jwk = ((saved.jwks || {}).keys || []).find((k) => k.kid === kid);
  if (!jwk) throw new Refusal("unknown_key", kid || "");
  const data = sigStructure(protectedBytes, payload);
  let ok;
  if (alg === -8 && jwk.kty === "OKP") {
    const key = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, ["verify"]);
    ok = await crypto.subtle.verify({ name: "Ed25519" }, key, signature, data);
  } else if (alg === -7 && jwk.kty === "EC") {
    const key = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, data);
  } else {
    throw new Refusal("unsupported_algorithm");
  }
  if (!ok) throw new Refusal("bad_signature");
  let cwt = cborDecode(payload);
  if (cwt && cwt.tag === 61) cwt = cwt.value;
  const raw = cwt.get(169);
  if (!(raw instanceof Map)) throw new Refusal("claim169_missing");
  const claims = {};
  for (const [k, v] of raw) if (FIELDS[k]) claims[FIELDS[k]] = v;
  const now = Date.now() / 1000;
  const exp = cwt.get(4), nbf = cwt.get(5);
  if (exp && now > exp) throw new Refusal("expired", new Date(exp * 1000).toISOString().slice(0, 10));
  if (nbf && now < nbf) throw new Refusal("not_yet_valid");
  let status = "unknown", listAge = null;
  const entry = cwt.get(65535);
  const ref = entry instanceof Map ? entry.get("status_list") : null;
  if (ref instanceof Map) {
    const id = String(ref.get("uri") || "").split("/").pop();
    const list = (saved.lists || {})[id];
    if (list) {
      const packed = b64url(list.encodedList.slice(1));
      const bits = await decompress(packed, "gzip");
      const idx = ref.get("idx");
      status = (bits[idx >> 3] >> (7 - (idx % 8))) & 1 ? "revoked" : "good";
      listAge = Date.now() - list.at;
    }
  }
  if (status === "revoked") throw new Refusal("revoked");
  return { claims, exp, status, listAge, issuer: cwt.get(1) };
}

function minutes(ms) { return Math.max(0, Math.round(ms / 60000)); }

function show(config, outcome) {
  const box = document.getElementById("result");
  const t = config.messages;
  box.className = "verify-result " + (outcome.ok ? "ok" : "refused");
  box.dataset.reason = outcome.reason;
  const lines = [outcome.ok ? t.valid : (t[outcome.reason] || t.unreadable) + (outcome.detail ? " (" + outcome.detail + ")" : "")];
  if (outcome.ok) {
    const c = outcome.result.claims;
    if (c.fullName) lines.push(t.name + ": " + c.fullName);
    if (c.id) lines.push(t.id + ": " + c.id);
    if (c.programCode) lines.push(t.program + ": " + c.programCode);
    if (outcome.result.exp) lines.push(t.until + ": " + new Date(outcome.result.exp * 1000).toISOString().slice(0, 10));
    lines.push(outcome.result.status === "good" ? t.notRevoked.replace("{m}", minutes(outcome.result.listAge)) : t.statusUnknown);
  }
  box.textContent = "";
  for (const line of lines) { const p = document.createElement("p"); p.textContent = line; box.appendChild(p); }
}

async function check(config, text) {
  try {
    const result = await verifyText(text);
    show(config, { ok: true, reason: "valid", result });
  } catch (e) {
    show(config, { ok: false, reason: e instanceof Refusal ? e.reason : "unreadable", detail: e.detail || "" });
  }
}

function startCamera(config) {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  const button = document.getElementById("camera");
  button.hidden = false;
  button.addEventListener("click", async () => {
    const video = document.getElementById("video");
    video.hidden = false;
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    await video.play();
    const detector = new BarcodeDetector({ formats: ["qr_code"] });
    const tick = async () => {
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length) { await check(config, codes[0].rawValue); return; }
      requestAnimationFrame(tick);
    };
    tick();
  });
}

async function main() {
  const config = JSON.parse(document.getElementById("verifier-config").textContent);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register(config.worker, { scope: config.scope });
  const state = document.getElementById("cache-state");
  const online = navigator.onLine && (await refresh(config));
  const saved = cache();
  state.textContent = saved.jwksAt
    ? config.messages.cached.replace("{m}", minutes(Date.now() - saved.jwksAt)) + (online ? "" : " " + config.messages.offline)
    : config.messages.noKeys;
  state.dataset.ready = saved.jwksAt ? "1" : "0";
  document.getElementById("verify-form").addEventListener("submit", (event) => {
    event.preventDefault();
    check(config, document.getElementById("qr-text").value);
  });
  startCamera(config);
}

main();
