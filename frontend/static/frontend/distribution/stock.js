// Stock page: balances by location, item and lot with expiry (from the stock ledger), and the alerts (below minimum
// stock, near expiry). Everything comes from /api/v1/distribution/; the page computes no balance itself.
import { api, el, fmt, rows } from "../api.js";
import { $, D, T, locations, qty, ready, showError } from "./common.js";

let places = { warehouses: [], points: [] };

const locationLabel = (row) => `${row.location_kind === "warehouse" ? T.warehouse : T.point} ${row.location_code} · ${row.location_name}`;

async function loadStock() {
  const params = new URLSearchParams({ page_size: "1000" });
  const [kind, id] = ($("stock-location").value || ":").split(":");
  if (kind) params.set(kind, id);
  if ($("stock-item").value) params.set("item", $("stock-item").value);
  const balances = rows(await api(`${D}/stock/balances/?${params}`));
  const body = $("stock-rows");
  body.replaceChildren(
    ...balances.map((b) =>
      el(
        "tr",
        { "data-item": b.item, "data-lot": b.lot || "", "data-location": `${b.location_kind}:${b.location_id}` },
        el("td", { text: locationLabel(b) }),
        el("td", { text: b.item_name ? `${b.item_name} (${b.item})` : b.item }),
        el("td", { text: b.lot || "–" }),
        el("td", { class: b.expired ? "error" : "", text: b.expires_on || "–" }),
        el("td", { class: "num", "data-on-hand": b.on_hand, text: qty(b.on_hand) }),
        el("td", { text: b.base_unit }),
      ),
    ),
  );
  if (!balances.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted", text: T.noStock })));
  body.dataset.shown = $("stock-location").value; // which location the rows are for (the tests wait on it)
}

async function loadAlerts() {
  const alerts = rows(await api(`${D}/stock/alerts/`));
  const list = $("alert-list");
  const label = { low_stock: T.lowStock, near_expiry: T.nearExpiry, expired: T.expired };
  list.replaceChildren(
    ...alerts.map((a) => el("li", { "data-alert": a.kind, "data-item": a.item }, el("strong", { text: `${label[a.kind] || a.kind}: ` }), a.message)),
  );
  if (!alerts.length) list.replaceChildren(el("li", { class: "muted", text: T.noAlerts }));
}

async function loadItems() {
  const items = rows(await api(`${D}/stock/items/?page_size=1000`));
  $("stock-item").append(...items.map((i) => el("option", { value: i.code, text: `${i.name} (${i.code})` })));
}

function renderPoints() {
  $("point-rows").replaceChildren(
    ...places.points.map((p) =>
      el(
        "tr",
        { "data-point": p.id },
        el("td", { text: p.code }),
        el("td", { text: p.name }),
        el("td", { text: p.kind || "" }),
        el("td", { class: "num", text: fmt(p.daily_capacity_households) }),
        el("td", {}, el("a", { href: `/distribution/points/${p.id}/redeem/`, text: T.open })),
      ),
    ),
  );
}

async function start() {
  try {
    places = await locations();
    const select = $("stock-location");
    select.append(
      ...places.warehouses.map((w) => el("option", { value: `warehouse:${w.id}`, text: `${T.warehouse} ${w.code} · ${w.name}` })),
      ...places.points.map((p) => el("option", { value: `point:${p.id}`, text: `${T.point} ${p.code} · ${p.name}` })),
    );
    renderPoints();
    await loadItems().catch(() => {}); // the item filter is a convenience: the table still shows every item
    await Promise.all([loadStock(), loadAlerts()]);
  } catch (error) {
    showError("stock-error", error);
  }
  $("stock-location").addEventListener("change", () => loadStock().catch((e) => showError("stock-error", e)));
  $("stock-item").addEventListener("change", () => loadStock().catch((e) => showError("stock-error", e)));
  ready();
}

start();
