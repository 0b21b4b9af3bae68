// The plans list and the form that starts one (a job row followed on a progress bar).
import { api, el, errorText, fmt, pollJob, rows } from "../api.js";
import { $, D, T, cfg, ready, showError, when } from "./common.js";

async function loadPlans() {
  const plans = rows(await api(`${D}/plans/?page_size=100`));
  const body = $("plan-rows");
  body.replaceChildren(
    ...plans.map((p) =>
      el(
        "tr",
        { "data-plan": p.id },
        el("td", {}, el("a", { href: `/distribution/plans/${p.id}/`, text: `#${p.id}` })),
        el("td", { text: p.cycle }),
        el("td", { "data-state": p.status, text: p.status }),
        el("td", { class: "num", text: fmt(p.result?.households) }),
        el("td", { class: "num", text: fmt(p.result?.unreachable) }),
        el("td", { text: when(p.created_at) }),
      ),
    ),
  );
  if (!plans.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted", text: T.noPlans })));
}

async function loadChoices() {
  // The cycles come with the page (the officer may plan them without browsing programs); the networks from the API.
  $("plan-cycle").replaceChildren(...cfg.cycles.map((c) => el("option", { value: c.id, text: c.label })));
  if (!cfg.cycles.length) $("plan-button").disabled = true;
  const networks = rows(await api(`${D}/road-networks/?page_size=100`).catch(() => []));
  $("plan-network").replaceChildren(
    el("option", { value: "", text: T.defaultNetwork }),
    ...networks.map((n) => {
      const props = n.properties || n;
      return el("option", { value: n.id ?? props.id, text: `${props.code} · ${props.name}` });
    }),
  );
}

async function create(event) {
  event.preventDefault();
  const form = event.target;
  const error = form.querySelector("[data-error]");
  error.textContent = "";
  const json = { cycle: Number(form.elements.cycle.value), days: Number(form.elements.days.value), truck_capacity_kg: form.elements.truck_capacity_kg.value };
  if (form.elements.network.value) json.network = Number(form.elements.network.value);
  $("plan-button").disabled = true;
  $("plan-progress").hidden = false;
  try {
    const plan = await api(`${D}/plans/`, { method: "POST", json });
    const done = await pollJob(`${D}/plans/${plan.id}/`, plan, {
      onProgress: (job) => {
        $("plan-bar").value = job.progress || 0;
        $("plan-message").textContent = job.message || `${T.planning}…`;
      },
    });
    if (done.status === "failed") throw new Error(`${T.failed} ${done.error && typeof done.error === "object" ? errorText(done.error) : done.error || done.message}`);
    $("plan-bar").value = 100;
    $("plan-message").replaceChildren(`${T.planned} ${done.message || ""} `, el("a", { id: "plan-link", href: `/distribution/plans/${done.id}/`, text: T.open }));
  } catch (failure) {
    error.textContent = failure.message;
  } finally {
    $("plan-button").disabled = false;
  }
  await loadPlans().catch((failure) => showError("plans-error", failure));
}

async function start() {
  if ($("plan-form")) {
    $("plan-form").addEventListener("submit", create);
    await loadChoices().catch((failure) => showError($("plan-form").querySelector("[data-error]"), failure));
  }
  await loadPlans().catch((failure) => showError("plans-error", failure));
  ready();
}

start();
