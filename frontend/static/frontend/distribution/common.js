// Shared by the distribution pages: the page's config, its words, the API's addresses and the warehouse and point
// lists. The addresses live here, in one place, so that the pages follow the API rather than guess it.
import { api, rows } from "../api.js";

export const cfg = JSON.parse(document.getElementById("page-config").textContent);
export const T = cfg.text;
export const D = "/api/v1/distribution";
export const $ = (id) => document.getElementById(id);
export const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");
export const minutes = (seconds) => (seconds === null || seconds === undefined ? "–" : fill(T.minutes, { n: Math.round(seconds / 60) }));

// Quantities arrive as decimal strings ("250.000"): shown without trailing zeros, never summed through a float.
export function qty(value) {
  if (value === null || value === undefined || value === "") return "–";
  const [whole, fraction = ""] = String(value).split(".");
  const trimmed = fraction.replace(/0+$/, "");
  return `${Number(whole).toLocaleString()}${trimmed ? `.${trimmed}` : ""}`;
}

// Warehouses and points as plain objects {id, code, name, kind, ...properties} (the API gives GeoJSON features).
function flat(feature) {
  return { id: feature.id ?? feature.properties?.id, ...(feature.properties || feature), geometry: feature.geometry };
}

export async function locations() {
  const [warehouses, points] = await Promise.all([
    api(`${D}/warehouses/?page_size=1000`),
    api(`${D}/distribution-points/?page_size=1000`),
  ]);
  return { warehouses: rows(warehouses).map(flat), points: rows(points).map(flat) };
}

export function showError(target, error) {
  const node = typeof target === "string" ? $(target) : target;
  if (node) node.textContent = error ? error.message || String(error) : "";
}

// Marks the page ready for the browser tests once its first data has arrived (or failed, with the error shown).
export function ready(flag = "ready") {
  document.body.dataset[flag] = "true";
}
