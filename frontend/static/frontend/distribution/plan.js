// One distribution plan on the map: the points (usable or not, and why), their catchments, the roads the flood
// closes, the trucks' routes and the households no point can serve, with the shortfalls and transport lines beside.
// Unreachable households are drawn as points only for roles with personal data; others get counts per area.
import { api, el, fmt, rows } from "../api.js";
import { $, D, T, cfg, minutes, qty, ready, showError } from "./common.js";

const P = `${D}/plans/${cfg.plan}`;
const country = JSON.parse(document.getElementById("country-config").textContent);
const map = L.map("map", { preferCanvas: true, zoomSnap: 0.5, minZoom: 3, maxZoom: 18 }).fitBounds(cfg.bounds || country.bounds);
if (country.attribution) map.attributionControl.addAttribution(country.attribution);
$("map").leafletMap = map; // for the browser tests
const layers = {
  catchments: L.layerGroup().addTo(map),
  closed: L.layerGroup().addTo(map),
  routes: L.layerGroup().addTo(map),
  unreachable: L.layerGroup().addTo(map),
  points: L.layerGroup().addTo(map),
};
for (const [name, group] of Object.entries(layers)) {
  $(`layer-${name}`)?.addEventListener("change", (e) => (e.target.checked ? group.addTo(map) : group.remove()));
}

function bindList(layer, props, keys) {
  const lines = keys.filter((k) => props[k] !== undefined && props[k] !== null && props[k] !== "").map((k) => `${k}: ${props[k]}`);
  if (lines.length) layer.bindPopup(lines.map((l) => l.replace(/[<>&]/g, "")).join("<br>"));
}

async function loadPlan() {
  const plan = await api(`${P}/`);
  const result = plan.result || {};
  $("plan-title").textContent = `${$("plan-title").textContent} #${plan.id}`;
  $("plan-status").textContent = plan.status;
  $("plan-status").dataset.state = plan.status;
  $("plan-cycle").textContent = plan.cycle_name || `cycle ${plan.cycle}`;
  $("plan-served").textContent = fmt(result.assigned);
  $("plan-served").dataset.value = result.assigned ?? "";
  $("plan-unreachable").textContent = fmt(result.unreachable);
  $("plan-unreachable").dataset.value = result.unreachable ?? "";
  const changes = result.changes;
  if (changes) {
    $("changes-card").hidden = false;
    $("changes-text").textContent = `${fmt(changes.changed_point)} ${T.moved}, ${fmt(changes.joined)} ${T.joined}, ${fmt(changes.left)} ${T.left}`;
  }
  if (plan.status !== "succeeded") throw new Error(plan.error ? `${T.failed} ${typeof plan.error === "object" ? JSON.stringify(plan.error) : plan.error}` : `${plan.status}: ${plan.message || ""}`);
  return plan;
}

async function loadMap() {
  const collection = await api(`${P}/map/`);
  const bounds = [];
  for (const feature of rows(collection)) {
    const props = feature.properties || {};
    if (!feature.geometry) continue;
    if (props.layer === "point") {
      const usable = props.usable !== false;
      const marker = L.circleMarker([feature.geometry.coordinates[1], feature.geometry.coordinates[0]], {
        radius: 8, weight: 2, color: usable ? "#1e3a8a" : "#7f1d1d", fillColor: usable ? "#1d4ed8" : "#fca5a5", fillOpacity: 0.9, pane: "markerPane",
      });
      bindList(marker, props, ["code", "name", "households", "capacity", "reason"]);
      marker.addTo(layers.points);
      bounds.push(marker.getLatLng());
    } else if (props.layer === "unreachable") {
      // A household (with personal data) or an area's count at its centre (without).
      const latlng = [feature.geometry.coordinates[1], feature.geometry.coordinates[0]];
      const marker = L.circleMarker(latlng, { radius: props.household ? 4 : 9, color: "#b45309", fillColor: "#f59e0b", fillOpacity: 0.9, weight: 1 });
      marker.bindTooltip(props.household ? props.reason || "" : `${props.area}: ${fmt(props.households)}`);
      marker.addTo(layers.unreachable);
    } else if (props.layer === "catchment") {
      L.geoJSON(feature, { style: { color: "#2563eb", weight: 1, fillColor: "#93c5fd", fillOpacity: 0.25 } }).addTo(layers.catchments);
    }
  }
  if (bounds.length) map.fitBounds(L.latLngBounds(bounds).pad(0.3));
  $("plan-usable").textContent = fmt(rows(collection).filter((f) => f.properties?.layer === "point" && f.properties.usable).length);
  return rows(collection).length;
}

async function loadClosedRoads() {
  const closed = await api(`${P}/closed-roads/`);
  L.geoJSON(closed, { style: { color: "#b91c1c", weight: 4, dashArray: "6 4" } }).addTo(layers.closed);
}

async function loadRoutes() {
  const routes = await api(`${P}/routes/`);
  L.geoJSON(routes, { style: { color: "#047857", weight: 4, opacity: 0.8 } }).addTo(layers.routes);
}

async function loadTables() {
  const [points, items, transports, unreachable] = await Promise.all([
    api(`${P}/points/?page_size=1000`),
    api(`${P}/items/?page_size=1000`),
    api(`${P}/transport/?page_size=1000`),
    api(`${P}/unreachable/?summary=1`),
  ]);
  $("point-rows").replaceChildren(
    ...rows(points).map((p) =>
      el(
        "tr",
        { "data-point": p.point, "data-usable": String(p.usable) },
        el("td", { text: `${p.code}${p.usable ? "" : ` (${T.unusable}: ${p.reason})`}` }),
        el("td", { class: "num", "data-households": p.households, text: fmt(p.households) }),
        el("td", { class: "num", text: fmt(p.capacity) }),
        el("td", {}, el("a", { href: `/distribution/points/${p.point}/redeem/`, text: T.open })),
      ),
    ),
  );
  const short = rows(items).filter((i) => Number(i.shortfall) > 0); // the items of every point: needed vs short
  $("shortfall-rows").replaceChildren(
    ...short.map((i) =>
      el(
        "tr",
        { "data-shortfall": i.item },
        el("td", { text: i.point_code }),
        el("td", { text: i.item }),
        el("td", { class: "num", text: `${qty(i.quantity)} ${i.unit}` }),
        el("td", { class: "num error", text: `${qty(i.shortfall)} ${i.unit}` }),
      ),
    ),
  );
  if (!short.length) $("shortfall-rows").replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "muted", text: T.noShortfall })));
  $("transport-rows").replaceChildren(
    ...rows(transports).map((t) =>
      el(
        "tr",
        {},
        el("td", { text: t.warehouse_code }),
        el("td", { text: t.point_code }),
        el("td", { class: "num", text: fmt(t.trucks) }),
        el("td", { class: "num", text: minutes(t.travel_s) }),
      ),
    ),
  );
  const groups = rows(unreachable);
  $("unreachable-rows").replaceChildren(
    ...groups.map((u) =>
      el(
        "tr",
        { "data-unreachable": u.area_code || "" },
        el("td", { text: u.area_name || u.area_code || "–" }),
        el("td", { class: "num", "data-households": u.households, text: fmt(u.households) }),
        el("td", { text: u.reason }),
      ),
    ),
  );
  if (!groups.length) $("unreachable-rows").replaceChildren(el("tr", {}, el("td", { colspan: 3, class: "muted", text: T.noUnreachable })));
}

async function start() {
  try {
    await loadPlan();
    await Promise.all([loadTables(), loadMap()]);
    // Closed roads and routes are extra layers: a plan without routes yet still shows its catchments.
    await Promise.all([loadClosedRoads().catch(() => {}), loadRoutes().catch(() => {})]);
  } catch (error) {
    showError("plan-error", error);
  }
  ready();
}

start();
