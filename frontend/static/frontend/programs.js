// The program officer's pages: programs list, program, simulation and cycle. Everything comes from
// /api/v1/programs/; this file holds no business rules (who may approve, what a cycle costs: the API decides).
import { api, el, fmt, money, pollJob, rows } from "./api.js";

const cfg = JSON.parse(document.getElementById("page-config").textContent);
const T = cfg.text;
const P = "/api/v1/programs";
const $ = (id) => document.getElementById(id);

const percent = (rate) => (rate === null || rate === undefined ? "–" : `${(Number(rate) * 100).toFixed(1)} %`);
const stateName = (state) => T.cycleStates[state] || state;
const kindName = (kind) => T.kinds[kind] || kind;
const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");

function table(headers, body) {
  return el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))), el("tbody", {}, body));
}

function showError(target, error) {
  $(target).textContent = error ? error.message : "";
}

// ---- Programs list and the new program form -----------------------------------------------------------------------
async function listPage() {
  const body = $("program-rows");
  try {
    const programs = rows(await api(`${P}/programs/?page_size=200`));
    body.replaceChildren(
      ...programs.map((p) =>
        el(
          "tr",
          { "data-program": p.id },
          el("td", {}, el("a", { href: `/programs/${p.id}/`, text: p.code })),
          el("td", { text: p.name }),
          el("td", { text: kindName(p.kind) }),
          el("td", { text: p.status }),
          el("td", { class: "num", "data-enrolled": p.id, text: fmt(p.counts?.enrolled) }),
        ),
      ),
    );
    if (!programs.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted", text: T.noPrograms })));
  } catch (error) {
    body.replaceChildren();
    showError("list-error", error);
  }
  $("new-program")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    const f = form.elements;
    const json = { name: f.name.value.trim(), kind: f.kind.value, currency: f.currency.value.trim().toUpperCase(), eligibility_rule: f.eligibility_rule.value };
    if (f.budget.value.trim()) json.budget = f.budget.value.trim();
    try {
      const created = await api(`${P}/programs/`, { method: "POST", json });
      window.location.assign(`/programs/${created.id}/`);
    } catch (error) {
      form.querySelector("[data-error]").textContent = error.message;
    }
  });
}

// ---- One program: fields, member counts, cycles, enrol by rule ------------------------------------------------------
async function loadProgram() {
  const program = await api(`${P}/programs/${cfg.program}/`);
  document.title = `${program.name} · spmis`;
  $("program-title").textContent = `${program.code} · ${program.name}`;
  const fields = [
    [T.kind, kindName(program.kind)],
    [T.status, program.status],
    [T.target, program.target],
    [T.budget, money(program.budget, program.currency)],
    [T.funding, program.funding_source || "–"],
    [T.rule, program.eligibility_rule || "–"],
  ];
  $("program-fields").replaceChildren(...fields.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { class: name === T.rule ? "code" : null, text: value })]));
  for (const key of ["enrolled", "paused", "exited"]) $(`count-${key}`).textContent = fmt(program.counts?.[key] ?? 0);
  return program;
}

async function loadCycles() {
  const body = $("cycle-rows");
  if (!body) return;
  const cycles = rows(await api(`${P}/cycles/?program=${cfg.program}&page_size=200`));
  body.replaceChildren(
    ...cycles.map((c) =>
      el(
        "tr",
        { "data-cycle": c.id },
        el("td", { text: c.sequence }),
        el("td", {}, el("a", { href: `/programs/cycles/${c.id}/`, text: c.name })),
        el("td", { text: kindName(c.kind) }),
        el("td", { "data-state": c.state, text: stateName(c.state) }),
        el("td", { text: `${c.starts_on} – ${c.ends_on}` }),
        el("td", { class: "num", text: fmt(c.planned_count) }),
        el("td", { class: "num", text: money(c.planned_amount, c.currency) }),
      ),
    ),
  );
  if (!cycles.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "muted", text: T.noCycles })));
}

async function enrol(e) {
  e.preventDefault();
  const button = $("enrol-button");
  button.disabled = true;
  showError("enrol-error", null);
  $("enrol-progress").hidden = false;
  $("enrol-bar").value = 0;
  const onProgress = (job) => {
    $("enrol-bar").value = job.progress || 0;
    $("enrol-message").textContent = job.message || `${T.enrolling}…`;
  };
  try {
    let job = await api(`${P}/programs/${cfg.program}/enrol/`, { method: "POST", json: { reason: $("enrol-reason").value } });
    job = await pollJob(`${P}/enrolment-runs/${job.id}/`, job, { onProgress });
    onProgress(job);
    if (job.status === "failed") throw new Error(`${T.failed} ${typeof job.error === "object" ? JSON.stringify(job.error) : job.error}`);
    $("enrol-bar").value = 100;
    $("enrol-message").textContent = `${T.enrolDone} ${job.message || ""}`;
    await loadProgram();
  } catch (error) {
    showError("enrol-error", error);
  } finally {
    button.disabled = false;
  }
}

async function detailPage() {
  $("enrol-form")?.addEventListener("submit", enrol);
  try {
    await Promise.all([loadProgram(), loadCycles()]);
  } catch (error) {
    showError("program-error", error);
  }
}

// ---- A simulation: scenarios side by side ---------------------------------------------------------------------------
async function simulationPage() {
  let simulation;
  try {
    simulation = await api(`${P}/simulations/${cfg.simulation}/`);
  } catch (error) {
    $("scenario-rows").replaceChildren();
    showError("simulation-error", error);
    return;
  }
  const scenarios = simulation.scenarios || [];
  const currency = simulation.currency || cfg.currency;
  $("simulation-title").textContent = simulation.name;
  document.title = `${simulation.name} · spmis`;
  if (simulation.exposure_run) $("simulation-meta").textContent = `${T.analysis} #${simulation.exposure_run} · ${simulation.currency}`;
  $("scenario-head").replaceChildren(el("th", { scope: "col", text: T.scenario }), ...scenarios.map((s) => el("th", { scope: "col", "data-position": s.position, text: `${s.position}. ${s.name}` })));
  const r = (s) => s.results || {};
  const lines = [
    [T.rule, (s) => el("code", { text: s.rule })],
    [T.households, (s) => fmt(r(s).households), "households"],
    [T.people, (s) => fmt(r(s).people), "people"],
    [T.cost, (s) => money(r(s).cost, currency), "cost"],
    [T.fees, (s) => money(r(s).fees, currency), "fees"],
    [T.totalCost, (s) => money(r(s).total_cost, currency), "total_cost"],
    [T.budget, (s) => money(s.budget, currency)],
    [T.overBudget, (s) => (r(s).over_budget ? T.yes : T.no), "over_budget"],
    [T.affected, (s) => fmt(r(s).affected_households), "affected_households"],
    [T.coveredAffected, (s) => fmt(r(s).covered_affected), "covered_affected"],
    [T.coverage, (s) => percent(r(s).coverage_rate), "coverage_rate"],
    [T.exclusion, (s) => `${fmt(r(s).exclusion_count)} (${percent(r(s).exclusion_rate)})`, "exclusion"],
    [T.inclusion, (s) => `${fmt(r(s).inclusion_count)} (${percent(r(s).inclusion_rate)})`, "inclusion"],
    [T.overlap, (s) => (r(s).overlap?.length ? el("ul", { class: "plain" }, r(s).overlap.map((o) => el("li", { text: `${o.program_code} ${o.program_name}: ${fmt(o.households)}` }))) : T.noOverlap), "overlap"],
  ];
  $("scenario-rows").replaceChildren(
    ...lines.map(([label, cell, key]) => el("tr", { "data-row": key }, el("th", { scope: "row", text: label }), ...scenarios.map((s) => el("td", { "data-position": s.position }, cell(s))))),
  );
  if ($("promote-form")) {
    $("scenario-rows").append(
      el(
        "tr",
        {},
        el("th", { scope: "row", text: T.promote }),
        ...scenarios.map((s) =>
          el(
            "td",
            {},
            el("button", { type: "button", class: "small", "data-promote": s.position, "aria-label": `${T.promote}: ${s.name}`, text: T.promote, onclick: () => choosePromotion(s) }),
          ),
        ),
      ),
    );
  }
  // Households per area: one row per area any scenario selects, one column per scenario.
  const areas = new Map();
  for (const s of scenarios) for (const a of r(s).by_area || []) areas.set(a.code, a.name || a.code);
  $("area-head").replaceChildren(el("th", { scope: "col", text: T.area }), ...scenarios.map((s) => el("th", { scope: "col", class: "num", text: `${s.position}. ${s.name}` })));
  $("area-rows").replaceChildren(
    ...[...areas].map(([code, name]) =>
      el("tr", { "data-area": code }, el("th", { scope: "row", text: name }), ...scenarios.map((s) => el("td", { class: "num", text: fmt((r(s).by_area || []).find((a) => a.code === code)?.households ?? 0) }))),
    ),
  );
  const select = $("promote-position");
  if (select) {
    select.replaceChildren(...scenarios.map((s) => el("option", { value: s.position, text: `${s.position}. ${s.name}` })));
    $("promote-form").addEventListener("submit", promote);
  }
}

function choosePromotion(scenario) {
  $("promote-position").value = scenario.position;
  if (!$("promote-name").value) $("promote-name").value = scenario.name;
  $("promote-name").focus();
}

async function promote(e) {
  e.preventDefault();
  const form = e.target;
  const f = form.elements;
  form.querySelector("[data-error]").textContent = "";
  try {
    const program = await api(`${P}/simulations/${cfg.simulation}/scenarios/${f.position.value}/promote/`, { method: "POST", json: { program_name: f.program_name.value.trim(), kind: f.kind.value } });
    $("promote-ok").replaceChildren(`${T.promoted} `, el("a", { href: `/programs/${program.id}/`, id: "promoted-link", text: `${program.code} ${program.name}` }));
  } catch (error) {
    form.querySelector("[data-error]").textContent = error.message;
  }
}

// ---- A cycle: state, figures, the four-eyes workflow and the entitlement list ---------------------------------------
let cycle = null;
let entitlementPage = 1;
let entitlementPageSize = 0;

function renderCycle() {
  const c = cycle;
  document.title = `${c.program_code} · ${c.name} · spmis`;
  $("cycle-title").textContent = `${c.program_code} · ${c.sequence}. ${c.name}`;
  const link = $("cycle-program-link");
  link.href = `/programs/${c.program}/`;
  link.hidden = false;
  $("cycle-state").textContent = stateName(c.state);
  $("cycle-state").dataset.state = c.state;
  $("cycle-kind").textContent = kindName(c.kind);
  $("cycle-period").textContent = `${c.starts_on} – ${c.ends_on}`;
  $("cycle-count").textContent = fmt(c.planned_count);
  $("cycle-people").textContent = fmt(c.planned_people);
  $("cycle-amount").textContent = money(c.planned_amount, c.currency);
  $("cycle-flagged").textContent = fmt(c.flagged_count);
  const trail = [];
  if (c.submitted_by) trail.push(fill(T.submittedBy, { user: c.submitted_by, when: when(c.submitted_at) }));
  if (c.approved_by) trail.push(fill(T.approvedBy, { user: c.approved_by, when: when(c.approved_at) }));
  $("cycle-trail").textContent = trail.join(" · ");
  if (!$("cycle-actions")) return;
  // Which buttons a state offers; the API refuses the rest with a 400 in words.
  const running = c.latest_run && ["pending", "running"].includes(c.latest_run.status);
  const own = c.state === "to_approve" && c.submitted_by === cfg.username;
  $("cycle-generate").hidden = c.state !== "draft";
  $("cycle-generate").disabled = Boolean(running);
  $("cycle-submit").hidden = c.state !== "draft";
  const approve = $("cycle-approve"); // only for roles that may approve
  if (approve) {
    approve.hidden = c.state !== "to_approve";
    approve.disabled = own;
  }
  $("own-submission").hidden = !own;
  $("cycle-cancel").hidden = !["draft", "to_approve", "approved"].includes(c.state);
  if (running) watchRun(c.latest_run);
}

async function loadCycle() {
  cycle = await api(`${P}/cycles/${cfg.cycle}/`);
  renderCycle();
}

async function loadEntitlements(page = entitlementPage) {
  const body = $("entitlement-rows");
  if (!body) return;
  const data = await api(`${P}/cycles/${cfg.cycle}/entitlements/?page=${page}`);
  entitlementPage = page;
  const list = rows(data);
  const count = data.count ?? list.length;
  $("entitlement-count").textContent = `${fmt(count)} ${T.households.toLowerCase()}`;
  $("entitlement-count").dataset.count = count;
  body.replaceChildren(
    ...list.map((e) =>
      el(
        "tr",
        { "data-code": e.code },
        el("td", { text: e.code }),
        el("td", { text: e.registrant_id ?? "–" }),
        el("td", { text: e.kind === "in_kind" ? (e.items || []).map((i) => `${i.quantity} ${i.unit} ${i.item}`).join(", ") || e.kind : e.kind }),
        el("td", { class: "num", text: money(e.amount, e.currency) }),
        el("td", { class: "num", text: money(e.fee) }),
        el("td", { class: "num", text: e.hazard_rank ?? "–" }),
        el("td", { class: "num", text: fmt(e.people) }),
        el("td", { title: e.flag_reason || null, text: e.flagged ? `${T.yes}: ${e.flag_reason}` : T.no }),
        el("td", { text: e.status }),
      ),
    ),
  );
  if (!list.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 9, class: "muted", text: T.noEntitlements })));
  // A full page (one with a next page) tells the page size; the last page may be shorter.
  if (data.next && list.length) entitlementPageSize = list.length;
  const pages = entitlementPageSize ? Math.max(page, Math.ceil(count / entitlementPageSize)) : page;
  const pager = $("entitlement-pager");
  pager.replaceChildren(
    data.previous ? el("button", { type: "button", class: "small", text: T.previous, onclick: () => loadEntitlements(page - 1) }) : "",
    el("span", { text: fill(T.pageOf, { number: page, total: pages }) }),
    data.next ? el("button", { type: "button", class: "small", id: "entitlements-next", text: T.next, onclick: () => loadEntitlements(page + 1) }) : "",
  );
}

let watching = null;
async function watchRun(job) {
  if (watching === job.id) return;
  watching = job.id;
  $("generate-progress").hidden = false;
  const onProgress = (current) => {
    $("generate-bar").value = current.progress || 0;
    $("generate-message").textContent = current.message || `${T.generating}…`;
  };
  try {
    const done = await pollJob(`${P}/entitlement-runs/${job.id}/`, job, { onProgress });
    onProgress(done);
    if (done.status === "failed") throw new Error(`${T.failed} ${typeof done.error === "object" ? JSON.stringify(done.error) : done.error}`);
    $("generate-bar").value = 100;
    $("generate-message").textContent = `${T.generated} ${done.message || ""}`;
  } catch (error) {
    showError("cycle-error", error);
  } finally {
    watching = null;
  }
  await Promise.all([loadCycle(), loadEntitlements(1)]);
}

// One workflow step: the button waits, the API answers with the cycle (or a 400 in words).
async function step(path, json) {
  showError("cycle-error", null);
  $("cycle-ok").textContent = "";
  const buttons = [...document.querySelectorAll("#cycle-actions button")];
  for (const b of buttons) b.disabled = true;
  try {
    const answer = await api(`${P}/cycles/${cfg.cycle}/${path}/`, { method: "POST", json: json || {} });
    if (path === "generate") {
      await watchRun(answer);
      return;
    }
    cycle = answer;
    $("cycle-ok").textContent = stateName(cycle.state);
  } catch (error) {
    showError("cycle-error", error);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
  await loadCycle().catch((error) => showError("cycle-error", error));
  await loadEntitlements(1).catch(() => {});
}

async function cyclePage() {
  $("cycle-generate")?.addEventListener("click", () => step("generate"));
  $("cycle-submit")?.addEventListener("click", () => step("submit"));
  $("cycle-approve")?.addEventListener("click", () => step("approve"));
  $("cycle-cancel")?.addEventListener("click", () => {
    $("cancel-form").hidden = false;
    $("cancel-reason").focus();
  });
  $("cancel-form")?.addEventListener("submit", (e) => {
    e.preventDefault();
    $("cancel-form").hidden = true;
    step("cancel", { reason: $("cancel-reason").value.trim() });
  });
  try {
    await loadCycle();
    await loadEntitlements(1);
  } catch (error) {
    showError("cycle-error", error);
    $("entitlement-rows")?.replaceChildren();
  }
}

const pages = { list: listPage, detail: detailPage, simulation: simulationPage, cycle: cyclePage };
pages[cfg.page]()
  .then(() => (document.body.dataset.ready = "true"))
  .catch(() => (document.body.dataset.ready = "error"));
