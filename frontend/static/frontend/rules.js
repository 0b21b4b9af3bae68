// The rule editor: a CEL eligibility rule checked and previewed as it is typed (POST rules/check/, then
// rules/preview/), its errors placed under the text at their line and column, the households it selects counted,
// broken down by area and hazard class and drawn per area on a map; and scenarios gathered for a simulation.
import { api, el, fmt } from "./api.js";

const cfg = JSON.parse(document.getElementById("page-config").textContent);
const country = JSON.parse(document.getElementById("country-config").textContent);
const T = cfg.text;
const P = "/api/v1/programs";
const $ = (id) => document.getElementById(id);
const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");
const DEBOUNCE_MS = 400;

const ruleBox = $("rule");
const runSelect = $("exposure-run");

// ---- The map: one circle per area, its area sized by how many households the rule selects there ---------------------
const map = L.map("preview-map", { preferCanvas: true, zoomSnap: 0.5, minZoom: 3, maxZoom: 14 }).fitBounds(country.bounds);
if (country.attribution) map.attributionControl.addAttribution(country.attribution);
$("preview-map").leafletMap = map; // for the browser tests
const points = L.layerGroup().addTo(map);
api(`/api/v1/geo/areas/?level=${country.chartLevel}&simplify=0.01&page_size=1000`)
  .then((areas) => L.geoJSON(areas, { interactive: false, style: { weight: 0.7, color: "#6b7280", fillColor: "#f3f4f6", fillOpacity: 0.7 } }).addTo(map).bringToBack())
  .catch(() => {}); // the outlines are only a guide: the circles and tables carry the figures

function drawPoints(collection) {
  points.clearLayers();
  const features = collection?.features || [];
  const max = Math.max(1, ...features.map((f) => f.properties.households || 0));
  for (const f of features) {
    if (!f.geometry) continue;
    const [lon, lat] = f.geometry.coordinates;
    const n = f.properties.households || 0;
    L.circleMarker([lat, lon], { radius: 3 + 17 * Math.sqrt(n / max), weight: 1, color: "#7c2d12", fillColor: "#ea580c", fillOpacity: 0.6 })
      .bindTooltip(`${f.properties.name}: ${fmt(n)} ${T.households.toLowerCase()}`)
      .addTo(points);
  }
  $("preview-map").dataset.points = features.length;
}

// ---- Errors at their place: the line of the rule, and a caret under the column ---------------------------------------
function showRuleErrors(errors) {
  const box = $("rule-errors");
  const lines = ruleBox.value.split("\n");
  box.replaceChildren(
    ...errors.map((e) => {
      const words = e.line ? fill(T.position, { line: e.line, column: e.column, message: e.message }) : e.message;
      const source = e.line ? lines[e.line - 1] ?? "" : null;
      return el(
        "div",
        { class: "rule-error", "data-line": e.line, "data-column": e.column },
        source !== null ? el("pre", { class: "caret", "aria-hidden": "true", text: `${source}\n${" ".repeat(Math.max(0, (e.column || 1) - 1))}^` }) : null,
        el("p", { class: "error", role: "alert", text: words }),
      );
    }),
  );
  ruleBox.setAttribute("aria-invalid", errors.length ? "true" : "false");
}

// A 400 from check or preview: errors placed in the rule, or other fields' messages in words.
function ruleErrorsOf(error) {
  const body = error.body;
  if (error.status === 400 && body && Array.isArray(body.rule)) return body.rule.map((e) => (typeof e === "object" ? e : { message: String(e) }));
  return null;
}

function clearPreview() {
  $("preview-households").textContent = "–";
  $("preview-people").textContent = "–";
  $("preview-elapsed").textContent = "";
  $("preview-tables").replaceChildren();
  points.clearLayers();
}

function table(caption, headers, body, id) {
  return el(
    "table",
    { id },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, headers.map((h, i) => el("th", { scope: "col", class: i ? "num" : null, text: h })))),
    el("tbody", {}, body),
  );
}

function showPreview(preview) {
  $("preview-households").textContent = fmt(preview.households);
  $("preview-households").dataset.count = preview.households;
  $("preview-people").textContent = fmt(preview.people);
  $("preview-people").dataset.count = preview.people;
  $("preview-elapsed").textContent = preview.elapsed_ms !== undefined ? fill(T.elapsed, { ms: Math.round(preview.elapsed_ms) }) : "";
  const byArea = (preview.by_area || []).map((a) => el("tr", { "data-area": a.code }, el("td", { text: a.name }), el("td", { class: "num", text: fmt(a.households) }), el("td", { class: "num", text: fmt(a.people) })));
  const byClass = (preview.by_class || []).map((c) => el("tr", { "data-class": c.key ?? "" }, el("td", { text: c.name || T.noClass }), el("td", { class: "num", text: fmt(c.households) }), el("td", { class: "num", text: fmt(c.people) })));
  const sample = (preview.sample || []).map((s) => {
    const why = el("td", { class: "why" }, el("button", { type: "button", class: "link", "data-explain": s.household, text: T.why }));
    return el("tr", {}, el("td", { text: s.registrant_id ?? s.household }), el("td", { text: s.area ?? "–" }), el("td", { text: s.class ?? "–" }), why);
  });
  const tables = [table(T.byArea, [T.area, T.households, T.people], byArea, "by-area")];
  if (byClass.length) tables.push(table(T.byClass, [T.class, T.households, T.people], byClass, "by-class"));
  if (sample.length) tables.push(table(T.sample, [T.registrantId, T.area, T.class, T.whyHeader], sample, "sample"));
  $("preview-tables").replaceChildren(...tables);
  drawPoints(preview.map);
}

// ---- Why one household of the sample is selected: the values the rule read for it (POST rules/explain/) ----------
$("preview-tables").addEventListener("click", async (event) => {
  const button = event.target.closest("[data-explain]");
  if (!button) return;
  const cell = button.parentElement;
  try {
    const answer = await api(`${P}/rules/explain/`, { method: "POST", json: ruleBody({ household: Number(button.dataset.explain) }) });
    const values = Object.entries(answer.values).map(([name, value]) => `${name} = ${value}`).join(", ");
    cell.replaceChildren(el("span", { class: "explained", "data-selected": String(answer.selected), text: `${answer.selected ? T.selected : T.notSelected}${values ? `: ${values}` : ""}` }));
  } catch (error) {
    cell.replaceChildren(el("span", { class: "error", text: error.message }));
  }
});

// ---- Check, then preview, a moment after the typing stops; a newer edit aborts the requests of the older one ---------
let timer = null;
let inFlight = null;

function ruleBody(extra = {}) {
  const body = { rule: ruleBox.value, ...extra };
  if (runSelect.value) body.exposure_run = Number(runSelect.value);
  return body;
}

async function checkAndPreview() {
  inFlight?.abort();
  const current = (inFlight = new AbortController());
  const signal = current.signal;
  $("rule-error").textContent = "";
  if (!ruleBox.value.trim()) {
    showRuleErrors([]);
    clearPreview();
    $("rule-status").textContent = T.emptyRule;
    return;
  }
  $("rule-status").textContent = T.loading;
  try {
    await api(`${P}/rules/check/`, { method: "POST", json: ruleBody(), signal });
    showRuleErrors([]);
    $("rule-status").textContent = T.ruleOk;
    const preview = await api(`${P}/rules/preview/`, { method: "POST", json: ruleBody(cfg.program ? { program: cfg.program } : {}), signal });
    if (signal.aborted) return;
    showPreview(preview);
    document.body.dataset.previewed = ruleBox.value;
  } catch (error) {
    if (signal.aborted || error.name === "AbortError") return;
    const placed = ruleErrorsOf(error);
    $("rule-status").textContent = "";
    if (placed) showRuleErrors(placed);
    else $("rule-error").textContent = error.message;
    clearPreview();
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(checkAndPreview, DEBOUNCE_MS);
}

ruleBox.addEventListener("input", schedule);
runSelect.addEventListener("change", schedule);

// ---- Variables help: each name inserts itself at the cursor ------------------------------------------------------
function insertAtCursor(text) {
  const start = ruleBox.selectionStart ?? ruleBox.value.length;
  const end = ruleBox.selectionEnd ?? start;
  ruleBox.setRangeText(text, start, end, "end");
  ruleBox.focus();
  schedule();
}

async function loadVariables() {
  const data = await api(`${P}/rules/variables/`);
  const entry = (name, type, description) =>
    el("li", {}, el("button", { type: "button", class: "link code", "data-variable": name, onclick: () => insertAtCursor(name), text: name }), type ? el("span", { class: "muted", text: ` ${type}` }) : null, description ? ` – ${description}` : null);
  $("variables").replaceChildren(
    el("ul", { class: "variables" }, (data.variables || []).map((v) => entry(v.name, v.type, v.description))),
    data.functions?.length ? el("ul", { class: "variables" }, data.functions.map((f) => entry(f.signature || f.name, "", f.description))) : "",
  );
}

// ---- A program's rule: loaded into the editor, saved back --------------------------------------------------------
async function loadProgramRule() {
  if (!cfg.program) return;
  const program = await api(`${P}/programs/${cfg.program}/`);
  $("rule-program-name").textContent = `${program.code} ${program.name}`;
  if (!ruleBox.value) ruleBox.value = program.eligibility_rule || "";
}

$("save-rule")?.addEventListener("click", async () => {
  $("save-ok").textContent = "";
  try {
    await api(`${P}/programs/${cfg.program}/`, { method: "PATCH", json: { eligibility_rule: ruleBox.value } });
    $("save-ok").textContent = T.saved;
  } catch (error) {
    const placed = ruleErrorsOf(error) || (error.body?.eligibility_rule && [].concat(error.body.eligibility_rule).map((e) => (typeof e === "object" ? e : { message: String(e) })));
    if (placed) showRuleErrors(placed);
    else $("rule-error").textContent = error.message;
  }
});

// ---- Scenarios for a simulation (one to four), compared on the simulation page ---------------------------------
const scenarios = [];

function renderScenarios() {
  $("scenario-list").replaceChildren(
    ...scenarios.map((s, i) =>
      el(
        "li",
        { "data-scenario": i + 1 },
        el("strong", { text: s.name }),
        " · ",
        el("code", { text: s.rule }),
        ` · ${s.amount || "–"}${s.budget ? ` · ${T.budget} ${s.budget}` : ""} `,
        el("button", { type: "button", class: "small", "aria-label": `${T.remove}: ${s.name}`, text: T.remove, onclick: () => (scenarios.splice(i, 1), renderScenarios()) }),
      ),
    ),
  );
  $("run-simulation").disabled = !scenarios.length;
  $("add-scenario").disabled = scenarios.length >= 4;
}

// The formula a scenario pays by: a flat cash amount per household (the API's formula: {"cash": {"base": …}}).
const formulaFor = (amount) => ({ cash: { base: amount || "0" } });

$("add-scenario")?.addEventListener("click", () => {
  $("simulation-error").textContent = "";
  if (scenarios.length >= 4) {
    $("simulation-error").textContent = T.atMostFour;
    return;
  }
  const name = $("sc-name").value.trim() || `${T.scenario} ${scenarios.length + 1}`;
  scenarios.push({ name, rule: ruleBox.value, amount: $("sc-amount").value.trim(), budget: $("sc-budget").value.trim() });
  $("sc-name").value = "";
  renderScenarios();
});

$("run-simulation")?.addEventListener("click", async () => {
  const button = $("run-simulation");
  button.disabled = true;
  $("simulation-error").textContent = "";
  const json = {
    name: $("sim-name").value.trim() || scenarios.map((s) => s.name).join(" / "),
    currency: cfg.currency,
    scenarios: scenarios.map((s) => ({ name: s.name, rule: s.rule, formula: formulaFor(s.amount), budget: s.budget || null })),
  };
  if (runSelect.value) json.exposure_run = Number(runSelect.value);
  try {
    const simulation = await api(`${P}/simulations/`, { method: "POST", json });
    window.location.assign(`/programs/simulations/${simulation.id}/`);
  } catch (error) {
    $("simulation-error").textContent = error.message;
    button.disabled = false;
  }
});

// ---- Start -----------------------------------------------------------------------------------------------------------
Promise.all([loadVariables().catch((error) => ($("variables").textContent = error.message)), loadProgramRule()])
  .then(() => {
    if (ruleBox.value.trim()) return checkAndPreview();
    $("rule-status").textContent = T.emptyRule;
  })
  .then(() => (document.body.dataset.ready = "true"))
  .catch((error) => {
    $("rule-error").textContent = error.message;
    document.body.dataset.ready = "error";
  });
