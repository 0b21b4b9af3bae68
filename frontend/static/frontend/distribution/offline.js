// The redemption screen's offline memory: redemptions recorded on this device (IndexedDB), each with the idempotency
// key it was made with, so that sending a batch twice adds nothing on the server; and the batch signature (HMAC-SHA256
// with the device's key over the canonical JSON of the batch, the same bytes the server hashes).

const DB = "spmis-redemption";
const STORE = "redemptions";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => {
      const store = request.result.createObjectStore(STORE, { keyPath: "client_uuid" });
      store.createIndex("point", "point");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function tx(mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, mode);
    const result = work(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(result.result ?? result);
    transaction.onerror = () => reject(transaction.error);
  });
}

export const put = (record) => tx("readwrite", (store) => store.put(record));

export async function list(point) {
  const all = await tx("readonly", (store) => store.index("point").getAll(point));
  return all.sort((a, b) => (a.recorded_at < b.recorded_at ? 1 : -1));
}

export async function pending(point) {
  return (await list(point)).filter((r) => r.status === "pending");
}

// JSON with keys sorted at every level and no spaces: Python's json.dumps(value, sort_keys=True,
// separators=(",", ":"), ensure_ascii=False) gives the same text, so both sides sign the same bytes.
export function canonical(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  return `{${Object.keys(value)
    .sort()
    .filter((k) => value[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
    .join(",")}}`;
}

function fromBase64(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded + "===".slice((padded.length + 3) % 4)), (c) => c.charCodeAt(0));
}

export async function sign(keyBase64, payload) {
  const key = await crypto.subtle.importKey("raw", fromBase64(keyBase64), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(canonical(payload)));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function uuid() {
  return crypto.randomUUID ? crypto.randomUUID() : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) => (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));
}
