// "Launch top-up" on the map's analysis panel: pays the households of the analysis shown, by hazard class, as a
// top-up of a program's members (vertical) and/or a new caseload of an emergency program (horizontal). Preview asks
// the API with preview_only (nothing stored); Create makes the draft cycles and links to their pages.
import { api, el, fmt, rows } from "./api.js";

const T = JSON.parse(document.getElementById("topup-text").textContent);
const P = "/api/v1/programs";
const $ = (id) => document.getElementById(id);
let shown = null; // {runId, incident, classes} of the analysis the panel shows

function money(value) {
  if (value === null || value === undefined) return "–";
  const [whole, fraction] = String(value).split(".");
  return `${Number(whole).toLocaleString()}${fraction ? `.${fraction}` : ""}`;
}

function renderAmounts() {
  const box = $("topup-amounts");
  const previous = Object.fromEntries([...box.querySelectorAll("input")].map((i) => [i.dataset.class, i.value]));
  box.replaceChildren(
    ...shown.classes
      .slice()
      .sort((a, b) => b.rank - a.rank)
      .map((c) =>
        el(
          "div",
          { class: "amount-row" },
          el("label", { for: `topup-amount-${c.key}` }, el("span", { class: "swatch", style: `background:${c.color}` }), ` ${c.name}`),
          el("input", { id: `topup-amount-${c.key}`, "data-class": c.key, inputmode: "decimal", pattern: "[0-9]+([.][0-9]{1,3})?", "aria-label": T.amountFor.replace("%(name)s", c.name), value: previous[c.key] || "" }),
        ),
      ),
  );
}

async function loadPrograms() {
  const programs = rows(await api(`${P}/programs/?page_size=200`)).filter((p) => p.status !== "closed");
  $("topup-program").replaceChildren(el("option", { value: "", text: T.choose }), ...programs.map((p) => el("option", { value: p.id, text: `${p.code} ${p.name}` })));
  $("topup-emergency").replaceChildren(
    el("option", { value: "", text: T.newProgram }),
    ...programs.filter((p) => p.kind === "emergency").map((p) => el("option", { value: p.id, text: `${p.code} ${p.name}` })),
  );
}

function body(previewOnly) {
  if (!shown) throw new Error(T.noRun);
  const vertical = $("topup-vertical").checked;
  const horizontal = $("topup-horizontal").checked;
  if (!vertical && !horizontal) throw new Error(T.chooseTarget);
  const amounts = {};
  for (const input of $("topup-amounts").querySelectorAll("input")) if (input.value.trim()) amounts[input.dataset.class] = input.value.trim();
  const json = {
    exposure_run: shown.runId,
    vertical,
    horizontal,
    amounts_by_class: amounts,
    starts_on: $("topup-start").value,
    ends_on: $("topup-end").value,
    preview_only: previewOnly,
  };
  if (vertical && $("topup-program").value) json.program = Number($("topup-program").value);
  if (horizontal) {
    if ($("topup-emergency").value) json.emergency_program = Number($("topup-emergency").value);
    else json.new_program_name = $("topup-new-name").value.trim();
  }
  if ($("topup-base").value.trim()) json.base_amount = $("topup-base").value.trim();
  return json;
}

function renderPreview(preview) {
  const line = (key, label) => {
    const p = preview?.[key];
    if (!p) return null;
    return el("tr", { "data-side": key }, el("th", { scope: "row", text: label }), el("td", { class: "num", "data-households": key, text: fmt(p.households) }), el("td", { class: "num", text: fmt(p.people) }), el("td", { class: "num", "data-amount": key, text: money(p.amount) }));
  };
  return el(
    "table",
    { id: "topup-preview-table" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }), el("th", { scope: "col", class: "num", text: T.households }), el("th", { scope: "col", class: "num", text: T.people }), el("th", { scope: "col", class: "num", text: T.amount }))),
    el("tbody", {}, line("vertical", T.vertical), line("horizontal", T.horizontal)),
  );
}

async function send(previewOnly) {
  $("topup-error").textContent = "";
  const buttons = [$("topup-preview"), $("topup-create")];
  for (const b of buttons) b.disabled = true;
  try {
    const answer = await api(`${P}/topups/`, { method: "POST", json: body(previewOnly) });
    const parts = [renderPreview(answer.preview)];
    if (!previewOnly) {
      parts.push(
        el("p", { class: "ok", text: T.created }),
        el("ul", { id: "topup-cycles" }, (answer.cycles || []).map((c) => el("li", {}, el("a", { href: `/programs/cycles/${c.id}/`, "data-cycle": c.id, text: `${c.program_code} · ${c.name} (${fmt(c.planned_count)} ${T.households.toLowerCase()}, ${money(c.planned_amount)})` })))),
      );
    }
    $("topup-result").replaceChildren(...parts);
  } catch (error) {
    $("topup-error").textContent = error.message;
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

function onRunShown(detail) {
  shown = detail;
  renderAmounts();
  $("topup-result").replaceChildren();
}

document.addEventListener("spmis:run-shown", (e) => onRunShown(e.detail));
if ($("analysis-card").runShown) onRunShown($("analysis-card").runShown);
$("topup-preview").addEventListener("click", () => send(true));
$("topup-form").addEventListener("submit", (e) => {
  e.preventDefault();
  send(false);
});
const today = new Date();
$("topup-start").value ||= today.toISOString().slice(0, 10);
$("topup-end").value ||= new Date(today.getTime() + 30 * 86400000).toISOString().slice(0, 10);
loadPrograms().catch((error) => ($("topup-error").textContent = error.message));
