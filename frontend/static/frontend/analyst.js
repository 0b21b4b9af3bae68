// The GIS analyst's page: drag-and-drop uploads with progress, per-file errors, styles and raster thresholds.
import { api, csrfToken, el, errorText, fmt, pollJob, rows } from "./api.js";

const T = JSON.parse(document.getElementById("page-text").textContent);
const CAN = JSON.parse(document.getElementById("page-can").textContent); // may change the style, per layer type
const L_API = "/api/v1/layers";
const $ = (id) => document.getElementById(id);

function guessKind(file) {
  const chosen = $("upload-kind").value;
  if (chosen !== "auto") return chosen;
  const name = file.name.toLowerCase();
  if (/\.(tif|tiff)$/.test(name)) return "raster";
  if (/\.(xml|cap)$/.test(name)) return "cap";
  if (/^emsr\d+.*\.zip$/.test(name)) return "ems";
  return "vector";
}

// One upload: the file goes up with XMLHttpRequest (fetch has no upload progress), then the job is polled.
function upload(file, extra = {}) {
  const bar = el("progress", { max: 100, value: 0, "aria-label": `${T.uploading} ${file ? file.name : extra.url}` });
  const status = el("span", { class: "status", text: T.uploading });
  const item = el("li", { "data-file": file ? file.name : extra.url }, el("strong", { text: file ? file.name : extra.url }), " ", status, bar);
  $("uploads").prepend(item);
  const form = new FormData();
  form.append("kind", file ? guessKind(file) : "cap");
  if (file) {
    form.append("file", file);
    form.append("name", file.name.replace(/\.[^.]+$/, ""));
    if (["vector", "raster"].includes(form.get("kind"))) form.append("layer_kind", $("upload-layer-kind").value);
  }
  for (const [key, value] of Object.entries(extra)) form.append(key, value);
  const fail = (message) => {
    item.classList.add("failed");
    status.className = "error";
    status.textContent = `${T.failed} ${message}`;
    bar.remove();
  };
  const xhr = new XMLHttpRequest();
  xhr.open("POST", `${L_API}/layer-imports/`);
  xhr.setRequestHeader("X-CSRFToken", csrfToken());
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 50);
  });
  xhr.addEventListener("error", () => fail("network error"));
  xhr.addEventListener("load", async () => {
    let job = null;
    try {
      job = JSON.parse(xhr.responseText);
    } catch {
      job = xhr.responseText;
    }
    if (xhr.status >= 400) return fail(errorText(job, xhr.status));
    status.textContent = T.checking;
    try {
      job = await pollJob(`${L_API}/layer-imports/${job.id}/`, job, {
        intervalMs: 600,
        onProgress: (current) => {
          bar.value = 50 + Math.round((current.progress || 0) / 2);
        },
      });
    } catch (error) {
      return fail(error.message);
    }
    if (job.status === "failed") return fail(errorText(job.error, 400));
    bar.value = 100;
    item.classList.add("succeeded");
    status.className = "ok";
    status.textContent = `${T.done} #${job.vector_layer || job.raster_layer || job.id}`;
    loadLayers();
  });
  xhr.send(form);
}

function setUpUploads() {
  const zone = $("dropzone");
  if (!zone) return;
  const files = $("upload-files");
  files.addEventListener("change", () => {
    for (const file of files.files) upload(file);
    files.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    for (const file of e.dataTransfer.files) upload(file);
  });
  $("cap-url-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if ($("cap-url").value) upload(null, { url: $("cap-url").value });
  });
}

// ---- Layer list and style editor ------------------------------------------------------------------------------
let editing = null;

async function loadLayers() {
  const [vectors, rasters] = await Promise.all([api(`${L_API}/vector-layers/?page_size=200`).then(rows), api(`${L_API}/raster-layers/?page_size=200`).then(rows)]);
  const all = [...vectors.map((l) => ({ ...l, type: "vector" })), ...rasters.map((l) => ({ ...l, type: "raster" }))];
  const body = $("layer-table");
  if (!all.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted", text: T.none })));
    return;
  }
  body.replaceChildren(
    ...all.map((layer) =>
      el(
        "tr",
        { "data-layer": `${layer.type}-${layer.id}` },
        el("td", { text: layer.name }),
        el("td", { text: layer.type === "vector" ? layer.geometry_type : "raster" }),
        el("td", { text: layer.kind }),
        el("td", { class: "num", text: layer.type === "vector" ? fmt(layer.feature_count) : `${fmt(layer.width)} × ${fmt(layer.height)}` }),
        el("td", {}, CAN[layer.type] ? el("button", { type: "button", class: "small", text: T.style, onclick: () => openEditor(layer) }) : null),
      ),
    ),
  );
}

function openEditor(layer) {
  editing = layer;
  const s = layer.style || {};
  $("style-editor").hidden = false;
  $("style-layer-name").textContent = layer.name;
  for (const block of document.querySelectorAll("[data-for]")) block.hidden = block.dataset.for !== layer.type;
  const f = $("style-form").elements;
  f.color.value = s.color || "#2563eb";
  f.outline_color.value = s.outline_color || s.color || "#1e3a8a";
  f.width.value = s.width ?? 1;
  f.radius.value = s.radius ?? 4;
  f.opacity.value = s.opacity ?? 0.8;
  f.breaks.value = (s.breaks || []).join(", ");
  f.colors.value = (s.colors || []).join(", ");
  f.labels.value = (s.labels || []).join(", ");
  $("style-error").textContent = "";
  $("style-ok").textContent = "";
  drawHistogram();
  $("style-editor").scrollIntoView({ behavior: "smooth" });
}

const list = (text) => text.split(",").map((v) => v.trim()).filter(Boolean);

// The raster's band-1 histogram as bars, with the class thresholds as vertical lines.
function drawHistogram() {
  const target = $("histogram");
  if (!editing || editing.type !== "raster") return target.replaceChildren();
  const h = (editing.histogram || {})["1"];
  if (!h || !h.counts) return target.replaceChildren(el("p", { class: "muted", text: "–" }));
  const { edges, counts } = h;
  const lo = edges[0];
  const hi = edges[edges.length - 1];
  const span = hi - lo || 1;
  const top = Math.max(...counts, 1);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 500 160");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `histogram ${lo} – ${hi}`);
  const add = (tag, attrs) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    svg.append(node);
    return node;
  };
  const x = (v) => 10 + ((v - lo) / span) * 480;
  counts.forEach((count, i) => {
    const height = (Math.sqrt(count) / Math.sqrt(top)) * 130;
    add("rect", { x: x(edges[i]), y: 140 - height, width: Math.max(1, x(edges[i + 1]) - x(edges[i]) - 1), height, fill: "#64748b" });
  });
  for (const value of list($("style-form").elements.breaks.value).map(Number)) {
    if (Number.isNaN(value) || value < lo || value > hi) continue;
    add("line", { x1: x(value), x2: x(value), y1: 5, y2: 140, stroke: "#b91c1c", "stroke-width": 2 });
    add("text", { x: x(value) + 3, y: 15, "font-size": 12, fill: "#b91c1c" }).textContent = value;
  }
  add("text", { x: 10, y: 156, "font-size": 12 }).textContent = fmt(lo);
  add("text", { x: 450, y: 156, "font-size": 12 }).textContent = fmt(hi);
  target.replaceChildren(svg);
}

async function saveStyle(e) {
  e.preventDefault();
  const f = e.target.elements;
  const style = { ...(editing.style || {}), opacity: Number(f.opacity.value) };
  if (editing.type === "vector") {
    Object.assign(style, { color: f.color.value, outline_color: f.outline_color.value, width: Number(f.width.value), radius: Number(f.radius.value) });
  } else if (f.breaks.value.trim()) {
    const breaks = list(f.breaks.value).map(Number);
    if (breaks.some(Number.isNaN) || breaks.some((v, i) => i && v <= breaks[i - 1])) {
      $("style-error").textContent = T.badBreaks;
      return;
    }
    Object.assign(style, { breaks, colors: list(f.colors.value), labels: list(f.labels.value) });
    if (!style.labels.length) delete style.labels;
    if (!style.colors.length) delete style.colors;
  } else {
    delete style.breaks;
    delete style.colors;
    delete style.labels;
  }
  try {
    editing = { ...(await api(`${L_API}/${editing.type}-layers/${editing.id}/`, { method: "PATCH", json: { style } })), type: editing.type };
    $("style-error").textContent = "";
    $("style-ok").textContent = T.saved;
    loadLayers();
  } catch (error) {
    $("style-error").textContent = error.message;
    $("style-ok").textContent = "";
  }
}

setUpUploads();
$("style-form").addEventListener("submit", saveStyle);
$("style-form").elements.breaks.addEventListener("input", drawHistogram);
loadLayers().then(
  () => (document.body.dataset.ready = "true"),
  (error) => ($("layer-table").textContent = error.message),
);
