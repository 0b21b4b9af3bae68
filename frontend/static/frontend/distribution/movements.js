// Receipt (goods received note with shortage and damage lines), transfer and dispatch (waybill) forms. Each posts
// one document to /api/v1/distribution/stock/; the API checks the items, units, capacity and stock and answers with
// the document and its PDF, or with a 400 naming the field or the line, and records nothing then.
import { api, el, rows } from "../api.js";
import { $, D, T, locations, ready, showError, when } from "./common.js";

// Where each form posts, and which of its fields are the document's (the rest are lines).
const FORMS = {
  receipt: { url: `${D}/stock/receipts/`, fields: ["warehouse", "supplier", "reference"], pdf: T.grn },
  transfer: { url: `${D}/stock/transfers/`, fields: ["source", "destination", "reference"], pdf: T.waybill },
  dispatch: { url: `${D}/stock/dispatches/`, fields: ["warehouse", "point", "reference", "vehicle", "driver"], pdf: T.waybill },
};
const NUMERIC = new Set(["quantity", "shortage", "damaged"]);
let items = [];

function lineRow(columns) {
  const cells = columns.map((column) => {
    let input;
    if (column === "item") {
      input = el("select", { name: "item", required: true, "aria-label": T.item }, ...items.map((i) => el("option", { value: i.code, text: `${i.name} (${i.code})` })));
      if (!items.length) input = el("input", { name: "item", required: true, "aria-label": T.item });
    } else if (column === "unit") {
      input = el("input", { name: "unit", required: true, size: 6, "aria-label": T.unit, list: "unit-list" });
    } else if (column === "expiry") {
      input = el("input", { name: "expires_on", type: "date", "aria-label": T.expiry });
    } else if (NUMERIC.has(column)) {
      input = el("input", { name: column, type: "number", min: "0", step: "any", required: column === "quantity", "aria-label": column, class: "num" });
    } else {
      input = el("input", { name: column, size: 10, "aria-label": column });
    }
    return el("td", {}, input);
  });
  const remove = el("button", { type: "button", class: "small", text: T.remove });
  const row = el("tr", {}, ...cells, el("td", {}, remove));
  remove.addEventListener("click", () => row.remove());
  // The unit defaults to the item's base unit, the one the ledger keeps.
  const itemInput = row.querySelector("[name=item]");
  const unitInput = row.querySelector("[name=unit]");
  const setUnit = () => {
    const item = items.find((i) => i.code === itemInput.value);
    if (item && unitInput && !unitInput.dataset.touched) unitInput.value = item.base_unit || item.unit || "";
  };
  unitInput?.addEventListener("input", () => (unitInput.dataset.touched = "true"));
  itemInput.addEventListener("change", setUnit);
  setUnit();
  return row;
}

function formLines(form) {
  return [...form.querySelectorAll("[data-lines] tr")].map((tr) => {
    const line = {};
    for (const input of tr.querySelectorAll("input, select")) {
      if (input.value === "") continue;
      line[input.name] = input.value;
    }
    return line;
  });
}

async function submit(event) {
  event.preventDefault();
  const form = event.target;
  const spec = FORMS[form.dataset.kind];
  const error = form.querySelector("[data-error]");
  const result = form.querySelector("[data-result]");
  error.textContent = "";
  result.textContent = "";
  const json = { lines: formLines(form) };
  for (const field of spec.fields) if (form.elements[field].value) json[field] = form.elements[field].value;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const doc = await api(spec.url, { method: "POST", json });
    result.replaceChildren(`${T.saved} ${doc.number} `, el("a", { href: doc.pdf_url, "data-pdf": form.dataset.kind, "data-document": doc.id, target: "_blank", text: spec.pdf }));
    form.querySelector("[data-lines]").replaceChildren(lineRow(form.querySelector("[data-lines]").dataset.columns.split(" ")));
    await loadDocuments();
  } catch (failure) {
    error.textContent = failure.message;
  } finally {
    button.disabled = false;
  }
}

async function loadDocuments() {
  const documents = rows(await api(`${D}/stock/documents/?page_size=20`));
  $("document-rows").replaceChildren(
    ...documents.map((d) =>
      el(
        "tr",
        { "data-document": d.id },
        el("td", { text: d.number }),
        el("td", { text: T.documentKinds[d.kind] || d.kind }),
        el("td", { text: d.source_code || d.supplier || "–" }),
        el("td", { text: d.destination_code || "–" }),
        el("td", { text: when(d.recorded_at) }),
        el("td", {}, el("a", { href: d.pdf_url, target: "_blank", text: "PDF" })),
      ),
    ),
  );
}

async function start() {
  try {
    const [places, catalogue] = await Promise.all([locations(), api(`${D}/stock/items/?page_size=1000`).catch(() => [])]);
    items = rows(catalogue);
    const units = new Set(items.flatMap((i) => [i.base_unit, ...(i.units || []).map((u) => u.code || u)]).filter(Boolean));
    document.body.append(el("datalist", { id: "unit-list" }, ...[...units].map((u) => el("option", { value: u }))));
    for (const select of document.querySelectorAll("select[data-locations]")) {
      const list = select.dataset.locations === "point" ? places.points : places.warehouses;
      select.replaceChildren(...list.map((p) => el("option", { value: p.id, text: `${p.code} · ${p.name}` })));
    }
    for (const form of document.querySelectorAll("form[data-kind]")) {
      const body = form.querySelector("[data-lines]");
      const columns = body.dataset.columns.split(" ");
      body.append(lineRow(columns));
      form.querySelector("[data-add-line]").addEventListener("click", () => body.append(lineRow(columns)));
      form.addEventListener("submit", submit);
    }
    await loadDocuments().catch(() => {});
  } catch (error) {
    for (const node of document.querySelectorAll("[data-error]")) showError(node, error);
  }
  ready();
}

start();
