// The redemption screen's offline memory, in IndexedDB: the redemptions recorded on this device (each with the
// client_uuid it was made with, so that sending it twice adds nothing on the server) and the device's Ed25519 key
// pair, whose private half never leaves the browser (non-extractable CryptoKey). A batch is the JSON text of its
// records signed with that key; the server verifies the signature over the same bytes.

const DB = "spmis-redemption";
const RECORDS = "redemptions";
const KEYS = "keys";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => {
      const store = request.result.createObjectStore(RECORDS, { keyPath: "client_uuid" });
      store.createIndex("point", "point");
      request.result.createObjectStore(KEYS, { keyPath: "point" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function tx(storeName, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(storeName, mode);
    const request = work(transaction.objectStore(storeName));
    transaction.oncomplete = () => resolve(request?.result);
    transaction.onerror = () => reject(transaction.error);
  });
}

export const put = (record) => tx(RECORDS, "readwrite", (store) => store.put(record));

export async function list(point) {
  const all = await tx(RECORDS, "readonly", (store) => store.index("point").getAll(point));
  return all.sort((a, b) => (a.occurred_at < b.occurred_at ? 1 : -1));
}

export async function pending(point) {
  return (await list(point)).filter((r) => r.status === "pending");
}

// ---- The device's key -------------------------------------------------------------------------------------------------
export const getDevice = (point) => tx(KEYS, "readonly", (store) => store.get(point));
export const putDevice = (device) => tx(KEYS, "readwrite", (store) => store.put(device));

const base64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

// A new Ed25519 key pair: {keys, publicKey (raw, base64url)} to register the public half with the server.
export async function newKeyPair() {
  const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const raw = await crypto.subtle.exportKey("raw", keys.publicKey);
  return { keys, publicKey: base64url(raw) };
}

export async function sign(privateKey, text) {
  return base64url(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, new TextEncoder().encode(text)));
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
