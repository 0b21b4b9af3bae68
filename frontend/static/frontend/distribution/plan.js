// One distribution plan on the map: the points (usable or not, and why), their catchments, the roads the flood
// closes, the trucks' routes and the households no point can serve, with the shortfalls and transport lines beside.
// Unreachable households are drawn as points only for roles with personal data; others get counts per area.
import { api, el, fmt, pollJob, rows } from "../api.js";
import { $, D, T, cfg, fill, minutes, qty, ready, showError } from "./common.js";

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
  plan = await api(`${P}/`);
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

// ---- Truck routes: the plan's transport lines as stops (weight per point), routed by the fleet's trucks (h2's VRP
// with the plan's closures); the last run of this plan is remembered on this browser to draw it again.
const ROUTE_KEY = `spmis.plan-route.${cfg.plan}`;
let plan = null;
let transports = [];

async function drawRoutes(runId) {
  const routes = await api(`${D}/route-runs/${runId}/geojson/`);
  layers.routes.clearLayers();
  L.geoJSON(routes, { style: { color: "#047857", weight: 4, opacity: 0.8 } }).addTo(layers.routes);
  const km = rows(routes).reduce((sum, f) => sum + Number(f.properties.distance_m || f.properties.metres || 0), 0) / 1000;
  const unserved = (routes.unserved || []).map((u) => u.code || u.point || u).join(", ");
  $("route-result")?.replaceChildren(
    fill(T.routed, { routes: fmt(rows(routes).length), km: km.toFixed(1) }),
    unserved ? ` — ${fill(T.unserved, { stops: unserved })}` : "",
    " ",
    el("a", { href: `${D}/route-runs/${runId}/sheet/`, "data-sheet": runId, text: T.routeSheet }),
  );
  $("map").dataset.routes = String(rows(routes).length);
}

async function setUpRoutes() {
  const form = $("route-form");
  if (!form) return;
  const vehicles = rows(await api(`${D}/vehicles/?page_size=200`)).filter((v) => v.is_active !== false);
  $("vehicle-list").replaceChildren(
    ...vehicles.map((v) =>
      el("label", { class: "check" }, el("input", { type: "checkbox", name: "vehicle", value: v.id, checked: true }), ` ${v.code} · ${fmt(v.capacity_kg)} kg`),
    ),
  );
  if (!vehicles.length) $("vehicle-list").replaceChildren(el("p", { class: "muted", text: T.noVehicles }));
  if (!transports.length) $("route-result").textContent = T.noTransport;
  $("route-button").disabled = !vehicles.length || !transports.length;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector("[data-error]");
    error.textContent = "";
    const demand = new Map();
    for (const t of transports) demand.set(t.point, (demand.get(t.point) || 0) + Number(t.weight_kg));
    const json = {
      network: plan.network,
      stops: [...demand].map(([point, kg]) => ({ point, demand_kg: kg })),
      vehicles: [...form.querySelectorAll("input[name=vehicle]:checked")].map((input) => Number(input.value)),
    };
    if (plan.exposure_run) json.exposure_run = plan.exposure_run;
    $("route-button").disabled = true;
    try {
      let run = await api(`${D}/route-runs/`, { method: "POST", json });
      run = await pollJob(`${D}/route-runs/${run.id}/`, run);
      if (run.status === "failed") throw new Error(`${T.failed} ${typeof run.error === "object" ? JSON.stringify(run.error) : run.error || run.message}`);
      localStorage.setItem(ROUTE_KEY, String(run.id));
      await drawRoutes(run.id);
    } catch (failure) {
      error.textContent = failure.message;
    } finally {
      $("route-button").disabled = false;
    }
  });
  const last = localStorage.getItem(ROUTE_KEY);
  if (last) await drawRoutes(last).catch(() => localStorage.removeItem(ROUTE_KEY));
}

async function loadTables() {
  const [points, items, transportLines, unreachable] = await Promise.all([
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
  transports = rows(transportLines);
  $("transport-rows").replaceChildren(
    ...transports.map((t) =>
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
    await Promise.all([loadClosedRoads().catch(() => {}), setUpRoutes().catch((e) => showError($("route-form")?.querySelector("[data-error]"), e))]);
  } catch (error) {
    showError("plan-error", error);
  }
  ready();
}

start();
