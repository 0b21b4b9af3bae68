// The program dashboard's map: the areas' outlines (geo's simplified GeoJSON, as the other maps draw them) shaded
// by the chosen figure of the table below, whose numbers the page carries in page-config.
import { api } from "./api.js";

const cfg = JSON.parse(document.getElementById("page-config").textContent);
const country = JSON.parse(document.getElementById("country-config").textContent);
const $ = (id) => document.getElementById(id);
const byCode = new Map(cfg.areas.map((a) => [a.code, a]));

const map = L.map("acc-map", { preferCanvas: true, zoomSnap: 0.5, minZoom: 3, maxZoom: 14 }).fitBounds(country.bounds);
if (country.attribution) map.attributionControl.addAttribution(country.attribution);
$("acc-map").leafletMap = map; // for the browser tests
let layer = null;

function shade(value, max) {
  if (!value) return "#f3f4f6";
  const steps = ["#fee2e2", "#fca5a5", "#f87171", "#dc2626", "#991b1b"];
  return steps[Math.min(steps.length - 1, Math.floor((value / Math.max(1, max)) * (steps.length - 1)))];
}

function draw(collection) {
  const measure = $("map-measure").value;
  const max = Math.max(1, ...cfg.areas.map((a) => a[measure] || 0));
  if (layer) layer.remove();
  layer = L.geoJSON(collection, {
    style: (f) => ({ weight: 0.7, color: "#6b7280", fillOpacity: 0.8, fillColor: shade(byCode.get(f.properties.code)?.[measure], max) }),
    onEachFeature: (f, l) => {
      const row = byCode.get(f.properties.code);
      l.bindTooltip(`${f.properties.name}: ${row ? (row[measure] ?? "–") : 0}`);
    },
  }).addTo(map);
  const bounds = layer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds);
  $("acc-map").dataset.drawn = String(collection.features?.length || 0);
}

api(`/api/v1/geo/areas/?level=${cfg.level}&simplify=0.01&page_size=1000`)
  .then((areas) => {
    draw(areas);
    $("map-measure").addEventListener("change", () => draw(areas));
  })
  .catch(() => {
    $("acc-map").dataset.drawn = "0"; // the table carries the figures; the map is a guide
  });
