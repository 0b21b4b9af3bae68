// The coordinator's map: areas, layers, households, hazard zones, analyses and comparisons.
// Everything goes through the JSON/GeoJSON APIs under /api/v1/; this file holds no business rules.
import { api, el, fmt, pollJob, rows } from "./api.js";
import { holeProblem } from "./rings.js";

const cfg = JSON.parse(document.getElementById("page-config").textContent);
// The configured country (settings.SPMIS_COUNTRY, through base.html): start view, level names, chart level.
const country = JSON.parse(document.getElementById("country-config").textContent);
const T = cfg.text;
const R = "/api/v1/response";
const incident = cfg.incident;
const $ = (id) => document.getElementById(id);

// Start on the user's areas, or for national users on the configured country extent (never on the extent of the
// stored level-0 areas, which one bad import can move to the Arctic).
const map = L.map("map", { preferCanvas: true, zoomSnap: 0.5, minZoom: 3, maxZoom: 18 }).fitBounds(cfg.bounds || country.bounds);
if (country.attribution) map.attributionControl.addAttribution(country.attribution);
// The view on the page (west,south,east,north), for people's tools and the browser tests.
const showView = () => (document.body.dataset.mapView = map.getBounds().toBBoxString());
map.on("moveend", showView);
showView();
const CHART_LEVEL = country.chartLevel; // areas that shadings and per-area tables break down by
document.getElementById("map").leafletMap = map; // for the browser tests and bench/frontend.py
// Drawing order, bottom to top: admin areas, shadings (overlay pane), uploaded layers, household points, zones.
for (const [pane, z] of [["areas", 350], ["uploaded", 420], ["points", 440], ["zones", 460]]) map.createPane(pane).style.zIndex = z;

// ---- Admin areas: simplified GeoJSON at country scale (two requests instead of ~40 tiles), exact vector tiles
// (Leaflet.VectorGrid, served locally) once zoomed in far enough for the simplification to show.
const tileOptions = { rendererFactory: L.canvas.tile, interactive: false, maxNativeZoom: 16 };
const areaRenderer = L.canvas({ padding: 0.2, pane: "areas" });
const areas = L.layerGroup().addTo(map);
const DETAIL_ZOOM = 9;
const districtTiles = L.vectorGrid.protobuf(`/api/v1/geo/areas/tiles/{z}/{x}/{y}.mvt?level=${CHART_LEVEL}`, {
  ...tileOptions,
  minZoom: DETAIL_ZOOM,
  pane: "areas",
  vectorTileLayerStyles: { areas: { weight: 1, color: "#4b5563", fill: false } },
});
areas.addLayer(districtTiles);
let districtShapes = null;
const areasLoaded = Promise.all([
  api(`/api/v1/geo/areas/?level=${CHART_LEVEL}&simplify=0.01&page_size=1000`),
  api(`/api/v1/geo/areas/?level=${Math.max(0, CHART_LEVEL - 1)}&simplify=0.01&page_size=1000`),
]).then(([districtData, divisionData]) => {
  districtShapes = districtData;
  const coarse = L.layerGroup([
    L.geoJSON(districtData, { renderer: areaRenderer, interactive: false, style: { weight: 0.7, color: "#6b7280", fillColor: "#f3f4f6", fillOpacity: 0.7 } }),
    L.geoJSON(divisionData, { renderer: areaRenderer, interactive: false, style: { weight: 1.8, color: "#374151", fill: false } }),
  ]);
  const swap = () => (map.getZoom() >= DETAIL_ZOOM ? areas.removeLayer(coarse) : areas.addLayer(coarse));
  map.on("zoomend", swap);
  swap();
});

// Leaflet 1.9's GridLayer.redraw() asks for tiles at the map's zoom as it is — 8.5 with zoomSnap 0.5, so
// /tiles/8.5/… (404) — and ignores the layer's minZoom (every household tile of the country at zoom 5). Redraw
// through the layer's own view logic instead, which rounds the zoom and loads nothing outside minZoom–maxZoom.
function redrawTiles(layer) {
  if (!layer?._map) return; // not on the map: it loads with the current styles when it is added
  layer._removeAllTiles();
  layer._setView(map.getCenter(), map.getZoom());
}

const classColour = new Map(); // class key -> colour
const householdClass = new Map(); // household id -> class key (shown analysis)
const householdChange = new Map(); // household id -> change (comparison)
const CHANGE_COLOURS = { newly_affected: "#b91c1c", no_longer_affected: "#2563eb", class_changed: "#d97706" };

function householdStyle(props, zoom) {
  const radius = zoom >= 13 ? 4 : zoom >= 10 ? 2.5 : 1.5;
  const base = { radius, weight: 0, fill: true, fillOpacity: 0.85, fillColor: "#6b7280" };
  if (householdChange.size) {
    const change = householdChange.get(props.id);
    return change ? { ...base, radius: radius + 1, fillColor: CHANGE_COLOURS[change] } : { ...base, fillOpacity: 0.25 };
  }
  const key = householdClass.get(props.id);
  return key ? { ...base, radius: radius + 0.5, fillColor: classColour.get(key) || "#dc2626" } : base;
}
// Households: points from vector tiles when zoomed in; below that, districts shaded by how many households they
// hold (one small JSON request instead of tiles full of points).
const POINTS_ZOOM = 8;
let households = null;
let householdLayers = null;
const DENSITY_RAMP = ["#eef2ff", "#c7d2fe", "#818cf8", "#4f46e5", "#312e81"];
let densityLegend = null;
if (cfg.can.households) {
  // Points are exact locations (personal data): roles without that permission keep the district shading only.
  if (cfg.can.householdPoints) {
    households = L.vectorGrid.protobuf("/api/v1/registry/households/tiles/{z}/{x}/{y}.mvt", {
      ...tileOptions,
      minZoom: POINTS_ZOOM,
      pane: "points",
      vectorTileLayerStyles: { households: householdStyle },
    });
  }
  householdLayers = L.layerGroup(households ? [households] : []);
}
const densityLoaded = !cfg.can.households
  ? Promise.resolve()
  : Promise.all([api("/map/household-density.json"), areasLoaded]).then(([density]) => {
      const counts = density.households;
      const max = Math.max(1, ...Object.values(counts));
      const colour = (n) => DENSITY_RAMP[Math.min(4, Math.floor((n / max) * 5))];
      const shading = L.geoJSON(districtShapes, {
        style: (f) => {
          const n = counts[f.properties.code] || 0;
          return { weight: 0, fillColor: colour(n), fillOpacity: n ? 0.75 : 0 };
        },
        onEachFeature: (f, layer) => layer.bindTooltip(`${f.properties.name}: ${fmt(counts[f.properties.code] || 0)} ${T.households}`),
      });
      densityLegend = legendFor(
        T.density,
        DENSITY_RAMP.map((c, i) => [c, `≤ ${fmt(Math.ceil((max * (i + 1)) / 5))}`]),
      );
      // The shading steps aside for the "affected by district" shading of an analysis: one choropleth at a time.
      const shaded = () => map.getZoom() < POINTS_ZOOM && !(choropleth && map.hasLayer(choropleth));
      const swap = () => {
        if (shaded()) householdLayers.addLayer(shading);
        else householdLayers.removeLayer(shading);
        if (legendEntries.has("households") || shaded()) {
          if (shaded() && map.hasLayer(householdLayers)) legendEntries.set("households", densityLegend);
          else legendEntries.delete("households");
          renderLegend();
        }
      };
      map.on("zoomend", swap);
      map.on("layeradd layerremove", (e) => e.layer === choropleth && swap());
      swap();
    });

// ---- Hazard zones -------------------------------------------------------------------------------------------
// Leaflet.draw edits single polygons only: one-part zones (stored as MultiPolygon) are edited as a Polygon, zones
// with several parts are shown in a group the edit tool does not touch.
const zoneGroup = L.featureGroup();
const zoneFixed = L.featureGroup();
const zoneLayers = L.layerGroup([zoneGroup, zoneFixed]).addTo(map);
let classes = [];
let zones = [];
let choropleth = null;

function zoneStyle(feature) {
  const colour = classColour.get(feature.properties.hazard_class) || "#dc2626";
  return { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.25 };
}

async function loadClasses() {
  classes = rows(await api(`${R}/incidents/${incident}/classes/`)).sort((a, b) => a.rank - b.rank);
  classColour.clear();
  for (const c of classes) classColour.set(c.key, c.color);
  const select = $("draw-class");
  if (select) {
    select.replaceChildren(...classes.map((c) => el("option", { value: c.key, text: c.name })));
    select.value = classes[classes.length - 1]?.key;
  }
  renderClassEditor();
}

function renderClassEditor() {
  const body = $("classes-body");
  if (!body) return;
  const number = (name, value, label, extra = {}) => el("input", { type: "number", step: "any", name, value: value ?? "", "aria-label": label, class: "narrow", ...extra });
  body.replaceChildren(
    ...classes
      .slice()
      .reverse()
      .map((c) =>
        el(
          "tr",
          { "data-key": c.key, "data-rank": c.rank, "data-name": c.name },
          el("th", { scope: "row", text: c.name }),
          el("td", {}, number("min_value", c.min_value, `${c.name} min`)),
          el("td", {}, number("max_value", c.max_value, `${c.name} max`)),
          el("td", {}, number("displacement_rate", c.displacement_rate, `${c.name} displaced`, { min: 0, max: 1 })),
          el("td", {}, el("input", { type: "color", name: "color", value: c.color, "aria-label": `${c.name} colour` })),
        ),
      ),
  );
}

async function saveClasses(e) {
  e.preventDefault();
  const value = (row, name) => {
    const raw = row.querySelector(`[name=${name}]`).value;
    return raw === "" ? null : Number(raw);
  };
  const table = [...$("classes-body").rows].map((row) => ({
    key: row.dataset.key,
    name: row.dataset.name,
    rank: Number(row.dataset.rank),
    min_value: value(row, "min_value"),
    max_value: value(row, "max_value"),
    displacement_rate: value(row, "displacement_rate") ?? 0,
    color: row.querySelector("[name=color]").value,
  }));
  try {
    await api(`${R}/incidents/${incident}/classes/`, { method: "PUT", json: { classes: table } });
    $("classes-error").textContent = "";
    $("classes-ok").textContent = T.saved;
    await loadClasses();
    await loadZones();
  } catch (error) {
    $("classes-error").textContent = error.message;
    $("classes-ok").textContent = "";
  }
}

// A one-part zone as a Polygon (the shape Leaflet.draw edits); zones of several parts stay as they are.
function onePolygon(geometry) {
  return geometry.type === "MultiPolygon" && geometry.coordinates.length === 1 ? { type: "Polygon", coordinates: geometry.coordinates[0] } : geometry;
}

async function loadZones() {
  zones = rows(await api(`${R}/hazard-zones/?incident=${incident}&page_size=1000`));
  zoneGroup.clearLayers();
  zoneFixed.clearLayers();
  for (const feature of zones) {
    const geometry = onePolygon(feature.geometry);
    if (pending?.zone?.id === feature.id) continue; // shown as the pending zone, with its new holes
    L.geoJSON({ ...feature, geometry }, { style: zoneStyle, pane: "zones" }).eachLayer((layer) => {
      layer.zoneId = feature.id;
      layer.bindTooltip(`${feature.properties.name || T.zones} · ${feature.properties.class_name} · v${feature.properties.version}`);
      (geometry.type === "Polygon" ? zoneGroup : zoneFixed).addLayer(layer);
    });
  }
  renderZoneList();
}

function renderZoneList() {
  const list = $("zone-list");
  list.replaceChildren(
    ...zones.map((feature) => {
      const p = feature.properties;
      const select = el(
        "select",
        { "aria-label": `${T.class}: ${p.name || feature.id}`, disabled: !cfg.can.editZones, onchange: (e) => reviseZone(feature.id, { hazard_class: e.target.value }) },
        classes.map((c) => el("option", { value: c.key, text: c.name, selected: c.key === p.hazard_class })),
      );
      return el(
        "li",
        { "data-zone": feature.id },
        el("span", { class: "swatch", style: `background:${classColour.get(p.hazard_class) || "#dc2626"}` }),
        el("span", { class: "zone-name", text: `${p.name || T.zones} v${p.version}` }),
        select,
        cfg.can.editZones && drawControl && onePolygon(feature.geometry).type === "Polygon"
          ? el("button", { type: "button", class: "small", "data-cut": feature.id, "aria-label": `${T.cutHole}: ${p.name || feature.id}`, disabled: Boolean(pending), text: T.cutHole, onclick: () => cutHoleIn(feature) })
          : null,
        cfg.can.editZones ? el("button", { type: "button", class: "small", text: T.delete, onclick: () => deleteZone(feature.id) }) : null,
      );
    }),
  );
}

function zoneError(error) {
  $("zone-error").textContent = error ? error.message : "";
}

async function reviseZone(id, body) {
  try {
    await api(`${R}/hazard-zones/${id}/`, { method: "PATCH", json: body });
    zoneError(null);
  } catch (error) {
    zoneError(error);
  }
  await loadZones();
}

async function deleteZone(id) {
  try {
    await api(`${R}/hazard-zones/${id}/`, { method: "DELETE" });
    zoneError(null);
  } catch (error) {
    zoneError(error);
  }
  await loadZones();
}

// What a new zone gets from the panel: the incident, the chosen class and the name (or a numbered default).
function newZoneFields() {
  return { incident, hazard_class: $("draw-class").value, name: $("zone-name").value || `${T.zone} ${zones.length + 1}` };
}

async function createZone(url, body) {
  try {
    await api(url, { method: "POST", json: { ...newZoneFields(), ...body } });
    zoneError(null);
  } catch (error) {
    zoneError(error);
  }
  await loadZones();
}

// ---- The pending zone: a drawn polygon or rectangle (or a zone being given holes) waits here for Save, so that
// holes can be cut into it first. Leaflet.draw has no cut tool: a hole is drawn with its polygon handler and becomes
// an interior ring once rings.js has checked that it lies inside the zone and clear of the other holes.
const pendingGroup = L.featureGroup().addTo(map);
let pending = null; // { layer: L.Polygon (outer ring, then holes), zone: the feature being revised, or null }
let drawControl = null;
let pendingControl = null;
let holeDrawer = null;
let cutting = false;
let mapBusy = false; // a Leaflet.draw tool (draw, edit, delete) is in use

// Coordinates as the API will receive them: toGeoJSON rounds to 6 decimals, so the checks see the same numbers.
const ringCoords = (latlngs) => L.GeoJSON.latLngsToCoords(latlngs, 0);

function pendingPanel() {
  const box = el(
    "div",
    { id: "pending-zone", class: "pending-zone", role: "group", "aria-label": T.pendingZone, hidden: true },
    el("p", { id: "pending-status", "aria-live": "polite" }),
    el(
      "div",
      { class: "pending-actions" },
      el("button", { type: "button", id: "cut-hole", text: T.cutHole, onclick: toggleCutting }),
      el("button", { type: "button", id: "save-zone", text: T.saveZone, onclick: savePending }),
      el("button", { type: "button", id: "discard-zone", class: "small", text: T.discard, onclick: discardPending }),
    ),
    el("p", { id: "pending-hint", class: "hint", hidden: true, text: T.cutHint }),
    el("p", { id: "pending-error", class: "error", role: "alert" }),
  );
  // Clicks and scrolls on the panel must not reach the map (they would add a corner to a hole being drawn).
  L.DomEvent.disableClickPropagation(box);
  L.DomEvent.disableScrollPropagation(box);
  return box;
}

function renderPending() {
  const box = pendingControl.getContainer();
  box.hidden = !pending;
  // One pending zone at a time: the draw and edit toolbar comes back once it is saved or discarded.
  drawControl.getContainer().style.display = pending ? "none" : "";
  if (pending) {
    const holes = pending.layer.getLatLngs().length - 1;
    const what = pending.zone ? `${pending.zone.properties.name || T.zone} v${pending.zone.properties.version}` : T.newZone;
    $("pending-status").replaceChildren(`${what} · ${T.notSaved} · ${T.holes}: `, el("strong", { id: "pending-holes", text: String(holes) }));
  }
  $("cut-hole").textContent = cutting ? T.stopCutting : T.cutHole;
  $("cut-hole").setAttribute("aria-pressed", String(cutting));
  $("pending-hint").hidden = !cutting;
  renderZoneList();
}

function pendingError(message) {
  $("pending-error").textContent = message || "";
}

function startPending(latlngs, zone = null) {
  pending = { layer: L.polygon(latlngs, { pane: "zones", interactive: false, color: "#b91c1c", weight: 3, dashArray: "6 4", fillOpacity: 0.25 }), zone };
  pendingGroup.addLayer(pending.layer);
  pendingError(null);
  renderPending();
}

function endPending() {
  if (cutting) holeDrawer.disable();
  pendingGroup.clearLayers();
  pending = null;
  pendingError(null);
  renderPending();
}

// "Cut a hole" in the zone list: the zone becomes the pending one (its next version once saved).
function cutHoleIn(feature) {
  if (pending || mapBusy) return;
  zoneGroup.eachLayer((layer) => layer.zoneId === feature.id && zoneGroup.removeLayer(layer));
  startPending(L.GeoJSON.coordsToLatLngs(onePolygon(feature.geometry).coordinates, 1), feature);
  toggleCutting();
}

function toggleCutting() {
  if (cutting) {
    holeDrawer.disable();
    return;
  }
  pendingError(null);
  holeDrawer.enable();
}

function addHole(layer) {
  const [shell, ...holes] = pending.layer.getLatLngs();
  const ring = layer.getLatLngs()[0];
  const problem = holeProblem(ringCoords(ring), ringCoords(shell), holes.map(ringCoords));
  if (problem) {
    pendingError(problem === "outside" ? T.holeOutside : T.holeOverlaps);
    return;
  }
  pending.layer.setLatLngs([shell, ...holes, ring]);
  pendingError(null);
  renderPending();
}

async function savePending() {
  if (cutting) holeDrawer.disable();
  const geometry = pending.layer.toGeoJSON().geometry;
  const button = $("save-zone");
  button.disabled = true;
  try {
    if (pending.zone) await api(`${R}/hazard-zones/${pending.zone.id}/`, { method: "PATCH", json: { geometry } });
    else await api(`${R}/hazard-zones/`, { method: "POST", json: { ...newZoneFields(), geometry } });
    endPending();
    zoneError(null);
    await loadZones();
  } catch (error) {
    pendingError(error.message); // the zone stays pending, so nothing drawn is lost
  } finally {
    button.disabled = false;
  }
}

async function discardPending() {
  endPending();
  await loadZones(); // brings back the zone that was being revised
}

function setUpDrawing() {
  const shape = { shapeOptions: { color: "#b91c1c" } };
  drawControl = new L.Control.Draw({
    position: "topleft",
    draw: { polyline: false, marker: false, circlemarker: false, polygon: { allowIntersection: false, ...shape }, rectangle: shape, circle: shape },
    edit: cfg.can.editZones ? { featureGroup: zoneGroup } : false,
  });
  map.addControl(drawControl);
  const panel = pendingPanel();
  pendingControl = new (L.Control.extend({ onAdd: () => panel }))({ position: "topleft" }).addTo(map);
  holeDrawer = new L.Draw.Polygon(map, { allowIntersection: false, shapeOptions: { color: "#111827", weight: 2, dashArray: "4 4", fill: false } });
  holeDrawer.on("enabled", () => {
    cutting = true;
    renderPending();
  });
  holeDrawer.on("disabled", () => {
    cutting = false;
    renderPending();
  });
  map.on("draw:drawstart draw:editstart draw:deletestart", () => {
    if (!cutting) mapBusy = true;
  });
  map.on("draw:drawstop draw:editstop draw:deletestop", () => {
    if (!cutting) mapBusy = false;
  });
  map.on(L.Draw.Event.CREATED, (event) => {
    const layer = event.layer;
    if (cutting) addHole(layer);
    else if (event.layerType === "circle") {
      const c = layer.getLatLng();
      createZone(`${R}/hazard-zones/circle/`, { center: [c.lng, c.lat], radius_m: layer.getRadius() });
    } else startPending(layer.getLatLngs());
  });
  map.on(L.Draw.Event.EDITED, async (event) => {
    const edits = [];
    event.layers.eachLayer((layer) => edits.push(api(`${R}/hazard-zones/${layer.zoneId}/`, { method: "PATCH", json: { geometry: layer.toGeoJSON().geometry } })));
    try {
      await Promise.all(edits);
      zoneError(null);
    } catch (error) {
      zoneError(error);
    }
    await loadZones();
  });
  map.on(L.Draw.Event.DELETED, async (event) => {
    const deletes = [];
    event.layers.eachLayer((layer) => deletes.push(api(`${R}/hazard-zones/${layer.zoneId}/`, { method: "DELETE" })));
    try {
      await Promise.all(deletes);
    } catch (error) {
      zoneError(error);
    }
    await loadZones();
  });
  $("circle-form")?.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = e.target.elements;
    createZone(`${R}/hazard-zones/circle/`, { center: [Number(f.lon.value), Number(f.lat.value)], radius_m: Number(f.radius.value) });
  });
  $("from-layer-form")?.addEventListener("submit", (e) => {
    e.preventDefault();
    const [kind, id] = $("fl-layer").value.split(":");
    if (kind === "v") createZone(`${R}/hazard-zones/from-layer/`, { vector_layer: Number(id) });
    else if (kind === "r") {
      api(`${R}/hazard-zones/from-raster/`, { method: "POST", json: { incident, raster_layer: Number(id), name: $("zone-name").value } })
        .then(() => zoneError(null), zoneError)
        .then(loadZones);
    }
  });
}

// ---- Uploaded layers, toggles, opacity and legend -------------------------------------------------------------
const legendEntries = new Map();

function renderLegend() {
  const legend = $("legend");
  const items = [...legendEntries.values()];
  legend.hidden = !items.length;
  legend.replaceChildren(...items);
}

function legendFor(name, swatches) {
  return el("div", { class: "legend-block" }, el("strong", { text: name }), ...swatches.map(([colour, label]) => el("div", {}, el("span", { class: "swatch", style: `background:${colour}` }), ` ${label}`)));
}

function setOpacity(layer, value) {
  if (layer.setOpacity) layer.setOpacity(value);
  else if (layer.setStyle) layer.setStyle({ opacity: value, fillOpacity: value * 0.6 });
  else if (layer.eachLayer) layer.eachLayer((child) => setOpacity(child, value));
}

function layerRow(key, name, layer, { opacity = 1, on = true, legend = null } = {}) {
  const id = `layer-${key}`;
  const box = el("input", { type: "checkbox", id, checked: on });
  const slider = el("input", { type: "range", min: 0, max: 1, step: 0.1, value: opacity, "aria-label": `${T.opacity}: ${name}` });
  const apply = () => {
    if (box.checked) {
      layer.addTo(map);
      const current = key === "households" && map.getZoom() < POINTS_ZOOM ? densityLegend : legend;
      if (current) legendEntries.set(key, current);
    } else {
      map.removeLayer(layer);
      legendEntries.delete(key);
    }
    renderLegend();
  };
  box.addEventListener("change", apply);
  slider.addEventListener("input", () => setOpacity(layer, Number(slider.value)));
  if (on) apply();
  return el("div", { class: "layer-row" }, box, el("label", { for: id, text: name }), slider);
}

async function loadLayers() {
  const list = $("layer-list");
  const fixed = [layerRow("areas", T.areas, areas)];
  if (householdLayers) fixed.push(layerRow("households", T.householdsLayer, householdLayers));
  if (incident) fixed.push(layerRow("zones", T.zones, zoneLayers));
  list.replaceChildren(...fixed);
  let vectors = [];
  let rasters = [];
  try {
    [vectors, rasters] = await Promise.all([
      api("/api/v1/layers/vector-layers/?page_size=200").then(rows),
      api("/api/v1/layers/raster-layers/?page_size=200").then(rows),
    ]);
  } catch {
    // Roles without layer access still get areas, households and zones.
  }
  for (const layer of vectors) {
    const s = layer.style || {};
    const colour = s.color || "#2563eb";
    const grid = L.vectorGrid.protobuf(`/api/v1/layers/vector-layers/${layer.id}/tiles/{z}/{x}/{y}.mvt`, {
      ...tileOptions,
      pane: "uploaded",
      vectorTileLayerStyles: {
        [`layer_${layer.id}`]: { color: s.outline_color || colour, weight: s.width ?? 1, fill: true, fillColor: colour, fillOpacity: (s.opacity ?? 0.6) * 0.6, radius: s.radius ?? 4 },
      },
    });
    list.append(layerRow(`v${layer.id}`, layer.name, grid, { on: false, legend: legendFor(layer.name, [[colour, layer.geometry_type || ""]]) }));
  }
  for (const layer of rasters) {
    const s = layer.style || {};
    const tiles = L.tileLayer(`/api/v1/layers/raster-layers/${layer.id}/tiles/{z}/{x}/{y}.png`, { opacity: s.opacity ?? 0.8, maxNativeZoom: 16, pane: "uploaded" });
    let swatches = [];
    if (s.breaks && s.colors) swatches = s.colors.map((c, i) => [c, (s.labels && s.labels[i]) || `${s.breaks[i]} – ${s.breaks[i + 1]}`]);
    else swatches = [["linear-gradient(90deg,#f7fbff,#08306b)", `${s.colormap || "ramp"} ${(s.rescale || []).join(" – ")}`]];
    list.append(layerRow(`r${layer.id}`, layer.name, tiles, { on: false, opacity: s.opacity ?? 0.8, legend: legendFor(layer.name, swatches) }));
  }
  if (!vectors.length && !rasters.length) list.append(el("p", { class: "muted", text: T.noLayers }));
  $("run-raster")?.append(...rasters.map((l) => el("option", { value: l.id, text: l.name })));
  const picker = $("fl-layer");
  if (picker) {
    picker.replaceChildren(
      ...vectors.map((l) => el("option", { value: `v:${l.id}`, text: `${l.name} (${l.kind})` })),
      ...rasters.map((l) => el("option", { value: `r:${l.id}`, text: `${l.name} (raster)` })),
    );
  }
}

// ---- Analyses ---------------------------------------------------------------------------------------------------
let runs = [];

async function loadRuns(selectId) {
  runs = rows(await api(`${R}/exposure-runs/?incident=${incident}&page_size=100`))
    .filter((r) => r.status === "succeeded")
    .sort((a, b) => b.id - a.id);
  const select = $("run-select");
  select.replaceChildren(...runs.map((r) => el("option", { value: r.id, text: `#${r.id} · ${new Date(r.finished_at || r.created_at).toLocaleString()}` })));
  const compare = $("compare-select");
  compare?.replaceChildren(compare.options[0], ...runs.map((r) => el("option", { value: r.id, text: `#${r.id}` })));
  if (!runs.length) {
    $("run-summary").replaceChildren(el("p", { class: "muted", text: T.noRuns }));
    return;
  }
  select.value = selectId || runs[0].id;
  await showRun(Number(select.value));
}

// A count of an aggregate as the dashboard prints it: "–" when withheld (k-anonymity) and nothing else is known,
// "≥ n" when some of the cells it sums were withheld.
function shown(figure, key) {
  if (!figure.withheld.includes(key)) return fmt(figure[key]);
  return figure[key] ? `≥ ${fmt(figure[key])}` : "–";
}

function table(headers, body) {
  return el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))), el("tbody", {}, body));
}

// The analysis being shown. Choosing another one aborts the requests of the one before, and whatever they still
// deliver is dropped, so two analyses' colours and totals never mix.
let runShown = null;
const aborted = (error) => error?.name === "AbortError";

async function showRun(runId) {
  runShown?.abort();
  const current = (runShown = new AbortController());
  try {
    await renderRun(runId, current.signal);
  } catch (error) {
    if (current.signal.aborted || aborted(error)) return;
    throw error;
  }
}

async function renderRun(runId, signal) {
  householdChange.clear();
  householdClass.clear();
  if ($("compare-select")) $("compare-select").value = "";
  $("diff-summary")?.replaceChildren();
  // One aggregate (by district) and its summary from the server: the same totals the dashboard shows, and with
  // k-anonymity no country figure that would give away the district cells withheld.
  const [byArea, needs] = await Promise.all([
    api(`${R}/exposure-runs/${runId}/aggregates/?level=${CHART_LEVEL}`, { signal }),
    api(`${R}/exposure-runs/${runId}/needs/?level=0`, { signal }).catch((error) => (aborted(error) ? Promise.reject(error) : null)),
  ]);
  if (signal.aborted) return;
  const t = byArea.totals;
  const classRows = byArea.by_class.map((c) =>
    el("tr", {}, el("td", {}, el("span", { class: "swatch", style: `background:${classColour.get(c.hazard_class) || "#dc2626"}` }), ` ${c.class_name}`), el("td", { class: "num", text: shown(c, "households") }), el("td", { class: "num", text: shown(c, "individuals") })),
  );
  const areaTotals = new Map(byArea.by_area.map((a) => [a.area_code, { name: a.area_name, households: a.households, withheld: a.withheld }]));
  const areaRows = byArea.by_area.map((a) => el("tr", {}, el("td", { text: a.area_name }), el("td", { class: "num", text: shown(a, "households") })));
  const summary = [
    el("p", { class: "big" }, el("span", { text: `${T.affected}: ` }), el("strong", { id: "affected-total", "data-run": runId, text: shown(t, "households") })),
    el("p", { class: "muted", text: `${shown(t, "individuals")} ${T.people} · ${shown(t, "approximate_households")} ${T.approximate}` }),
    table([T.class, T.households, T.peopleHeader], classRows),
    el("details", {}, el("summary", { text: T.area }), table([T.area, T.households], areaRows)),
  ];
  if (t.withheld.length) summary.push(el("p", { class: "hint", id: "withheld-legend", text: T.withheld.replace("%(k)s", byArea.k) }));
  if (needs && needs.totals) {
    summary.push(el("details", {}, el("summary", { text: T.needs }), table(["", ""], Object.entries(needs.totals).map(([item, value]) => el("tr", {}, el("td", { text: item }), el("td", { class: "num", text: fmt(Math.round(value)) }))))));
  }
  $("run-summary").replaceChildren(...summary);
  const base = `${R}/exposure-runs/${runId}`;
  const links = [el("a", { href: `/incidents/${incident}/dashboard/?run=${runId}`, text: T.dashboard }), el("a", { href: `${base}/report/?level=${CHART_LEVEL}`, target: "_blank", text: T.report })];
  if (cfg.can.results) {
    links.push(el("a", { href: `/incidents/${incident}/runs/${runId}/affected/`, text: T.list }));
    for (const f of ["csv", "xlsx", "gpkg"]) links.push(el("a", { href: `${base}/export/?as=${f}`, download: "", text: f.toUpperCase() }));
  }
  $("run-links").replaceChildren(...links);
  // The top-up form (topup.js, for roles that may create cycles) pays the households of the analysis shown.
  const shownRun = { runId, incident, classes: classes.map((c) => ({ key: c.key, name: c.name, rank: c.rank, color: c.color })) };
  $("analysis-card").runShown = shownRun;
  document.dispatchEvent(new CustomEvent("spmis:run-shown", { detail: shownRun }));
  legendEntries.set("classes", legendFor(T.affected, classes.slice().reverse().map((c) => [c.color, c.name])));
  renderLegend();
  await Promise.all([colourHouseholds(runId, signal), drawChoropleth(areaTotals, signal)]);
}

// Households of the shown analysis, coloured by class on the household tiles (first 20,000 rows). The classes are
// collected apart and only take effect if this analysis is still the one shown when the last page arrives.
async function colourHouseholds(runId, signal) {
  if (!cfg.can.results || !households) return;
  const collected = new Map();
  let url = `${R}/exposure-runs/${runId}/results/?page_size=1000`;
  for (let page = 0; url && page < 20; page += 1) {
    const data = await api(url, { signal });
    if (signal.aborted) return;
    for (const r of rows(data)) collected.set(r.household, r.hazard_class);
    url = data.next;
  }
  householdClass.clear();
  for (const [household, key] of collected) householdClass.set(household, key);
  const mapBox = $("map");
  mapBox.dataset.colouredRun = runId;
  mapBox.dataset.colouredHouseholds = householdClass.size;
  redrawTiles(households);
}

async function drawChoropleth(areaTotals, signal) {
  await areasLoaded;
  if (signal.aborted) return;
  const max = Math.max(1, ...[...areaTotals.values()].map((a) => a.households));
  const ramp = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
  const colour = (n) => (n ? ramp[Math.min(4, Math.ceil((n / max) * 4))] : "transparent");
  if (choropleth) map.removeLayer(choropleth);
  choropleth = L.geoJSON(districtShapes, {
    style: (f) => {
      const n = areaTotals.get(f.properties.code)?.households || 0;
      return { weight: 0.5, color: "#7c2d12", fillColor: colour(n), fillOpacity: n ? 0.45 : 0 };
    },
    onEachFeature: (f, layer) => layer.bindTooltip(`${f.properties.name}: ${fmt(areaTotals.get(f.properties.code)?.households || 0)}`),
  });
  const row = layerRow("choropleth", T.choropleth, choropleth, { on: map.getZoom() < 8, legend: legendFor(T.choropleth, ramp.slice(1).map((c, i) => [c, `≤ ${fmt(Math.ceil((max * (i + 1)) / 4))}`])) });
  document.querySelector(".layer-row:has(#layer-choropleth)")?.remove();
  $("layer-list").append(row);
}

async function startRun() {
  const button = $("run-analysis");
  button.disabled = true;
  $("run-error").textContent = "";
  $("run-progress").hidden = false;
  $("run-bar").value = 0;
  try {
    const raster = $("run-raster")?.value;
    const body = raster ? { incident, raster_layer: Number(raster) } : { incident };
    let run = await api(`${R}/exposure-runs/`, { method: "POST", json: body });
    run = await pollJob(`${R}/exposure-runs/${run.id}/`, run, {
      onProgress: (job) => {
        $("run-bar").value = job.progress || 0;
        $("run-message").textContent = job.message || job.status;
      },
    });
    $("run-bar").value = run.progress || 100;
    $("run-message").textContent = run.message || run.status;
    if (run.status === "failed") throw new Error(`${T.failed} ${typeof run.error === "object" ? JSON.stringify(run.error) : run.error}`);
    await loadRuns(run.id);
  } catch (error) {
    $("run-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

async function compare(againstId) {
  householdChange.clear();
  const summary = $("diff-summary");
  summary.replaceChildren();
  if (againstId) {
    const runId = Number($("run-select").value);
    try {
      const diff = await api(`${R}/exposure-runs/${runId}/diff/?against=${againstId}&limit=10000`);
      for (const r of diff.rows || []) householdChange.set(r.household, r.change);
      const c = diff.counts || {};
      summary.replaceChildren(
        table(
          ["", T.households],
          [
            ["newly_affected", T.newly],
            ["no_longer_affected", T.noLonger],
            ["class_changed", T.changed],
          ].map(([key, label]) => el("tr", {}, el("td", {}, el("span", { class: "swatch", style: `background:${CHANGE_COLOURS[key]}` }), ` ${label}`), el("td", { class: "num", "data-change": key, text: fmt(c[key]) }))),
        ),
      );
    } catch (error) {
      $("run-error").textContent = error.message;
    }
  }
  redrawTiles(households);
}

// ---- New incident ---------------------------------------------------------------------------------------------
$("new-incident")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  const f = form.elements;
  try {
    const created = await api(`${R}/incidents/`, { method: "POST", json: { name: f.name.value, hazard_type: f.hazard_type.value, started_on: f.started_on.value, status: "active" } });
    window.location.assign(`/map/?incident=${created.id}`);
  } catch (error) {
    form.querySelector("[data-error]").textContent = error.message;
  }
});
async function loadCapAlerts() {
  const select = $("cap-alert");
  if (!select) return;
  const alerts = rows(await api("/api/v1/layers/cap-alerts/?status=open&page_size=100").catch(() => []));
  select.replaceChildren(...alerts.map((a) => el("option", { value: a.id, text: `${a.headline || a.event} · ${a.identifier}` })));
  if (!alerts.length) select.append(el("option", { value: "", text: T.noAlerts }));
}
$("cap-incident")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  const f = form.elements;
  try {
    const created = await api(`${R}/incidents/from-cap/`, { method: "POST", json: { alert: Number(f.alert.value), hazard_type: f.hazard_type.value, hazard_class: f.hazard_class.value } });
    window.location.assign(`/map/?incident=${created.id}`);
  } catch (error) {
    form.querySelector("[data-error]").textContent = error.message;
  }
});
const startInput = $("ni-start");
if (startInput && !startInput.value) startInput.value = new Date().toISOString().slice(0, 10);

// ---- Go to an area: type a name or P-code, pick one, and the map fits its bounding box -------------------------
const goneTo = L.layerGroup().addTo(map);
let searchTimer = null;
let searchAbort = null;

async function searchAreas(q) {
  const list = $("area-results");
  const message = $("area-search-message");
  searchAbort?.abort();
  if (q.length < 2) {
    list.replaceChildren();
    message.textContent = "";
    return [];
  }
  searchAbort = new AbortController();
  const found = await api(`/api/v1/geo/areas/search/?q=${encodeURIComponent(q)}`, { signal: searchAbort.signal });
  list.replaceChildren(
    ...found.map((area) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "link", "data-code": area.code, onclick: () => goToArea(area) },
          el("strong", { text: area.name }),
          ` · ${area.level_name}${area.parent_name ? ` · ${area.parent_name}` : ""} · ${area.code}`,
        ),
      ),
    ),
  );
  message.textContent = found.length ? "" : T.noMatch;
  return found;
}

async function goToArea(area) {
  const [west, south, east, north] = area.bbox;
  map.fitBounds([[south, west], [north, east]]);
  $("area-results").replaceChildren();
  $("area-q").value = area.name;
  document.body.dataset.goneTo = area.code;
  goneTo.clearLayers();
  // The outline, dashed, so the person sees which area they went to (simplified: only a guide).
  const outline = await api(`/api/v1/geo/areas/${encodeURIComponent(area.code)}/?simplify=0.0005`).catch(() => null);
  if (outline) goneTo.addLayer(L.geoJSON(outline, { pane: "zones", interactive: false, style: { color: "#111827", weight: 2.5, dashArray: "6 4", fill: false } }));
}

$("area-q")?.addEventListener("input", (e) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => searchAreas(e.target.value.trim()).catch((error) => error.name !== "AbortError" && ($("area-search-message").textContent = error.message)), 250);
});
$("area-search")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearTimeout(searchTimer);
  try {
    const found = await searchAreas($("area-q").value.trim());
    if (found.length) await goToArea(found[0]);
  } catch (error) {
    if (error.name !== "AbortError") $("area-search-message").textContent = error.message;
  }
});

// ---- Start ------------------------------------------------------------------------------------------------------
async function start() {
  const work = [loadLayers(), areasLoaded, densityLoaded, loadCapAlerts()];
  if (incident) {
    await loadClasses();
    if (cfg.can.addZones) setUpDrawing();
    // Opening an incident shows its zones, whoever opens it (national or scoped).
    work.push(loadZones().then(() => zones.length && map.fitBounds(L.featureGroup([zoneGroup, zoneFixed]).getBounds(), { maxZoom: 14 })));
    work.push(loadRuns());
    $("run-analysis")?.addEventListener("click", startRun);
    $("classes-form")?.addEventListener("submit", saveClasses);
    $("run-select").addEventListener("change", (e) => showRun(Number(e.target.value)));
    $("compare-select")?.addEventListener("change", (e) => compare(e.target.value ? Number(e.target.value) : null));
  }
  await Promise.all(work);
  // Milliseconds from navigation start to a usable map, read by bench/frontend.py.
  document.body.dataset.readyMs = Math.round(performance.now());
  document.body.dataset.ready = "true";
}
start().catch((error) => {
  document.body.dataset.ready = "error";
  const target = $("run-error") || $("layer-list");
  if (target) target.textContent = error.message;
});
