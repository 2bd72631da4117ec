// Redline map page: layers from our own vector tiles, screening by drawing or dropping a file,
// township summaries. Talks only to this server (works offline); MapLibre comes from npm.
"use strict";

const LABELS = { prohibited: "禁止", restricted: "限制", attention: "关注", clear: "无冲突" };
const RELATIONS = { inside: "位于其内", overlaps: "部分重叠", nearby: "邻近", outside: "位于其外" };
const SKIP_CLICK = new Set(["draw", "site"]);
const redline = (window.redline = { ready: false, lastResult: null, errors: [] });

const $ = (sel) => document.querySelector(sel);

// ---- API keys --------------------------------------------------------------------------
// Screening needs an officer's key. It is asked for on the first 401/403, kept in this
// browser's localStorage and sent as a header (never a cookie, so other sites cannot use it).
const KEY_STORAGE = "redline.apiKey";

function withKey(headers) {
  const key = localStorage.getItem(KEY_STORAGE);
  return key ? { ...headers, Authorization: `Bearer ${key}` } : { ...headers };
}

let pendingKey = null; // requests refused together share one dialog

function askForKey(status) {
  pendingKey ??= promptForKey(status).finally(() => { pendingKey = null; });
  return pendingKey;
}

function promptForKey(status) {
  const dialog = $("#key-dialog");
  $("#key-reason").textContent = status === 403
    ? "当前密钥的角色不足以执行此操作，请输入权限更高的 API 密钥。"
    : "此操作需要 API 密钥（研判需 officer 及以上角色），请向管理员索取。";
  $("#key-input").value = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const key = dialog.returnValue === "ok" ? $("#key-input").value.trim() : "";
      if (key) localStorage.setItem(KEY_STORAGE, key);
      resolve(Boolean(key));
    }, { once: true });
    dialog.showModal();
  });
}

// fetch with the stored key; on 401/403 ask for a key once and try again.
async function apiFetch(url, options = {}) {
  const send = () => fetch(url, { ...options, headers: withKey(options.headers) });
  const resp = await send();
  if ((resp.status === 401 || resp.status === 403) && await askForKey(resp.status)) return send();
  return resp;
}

// Open a file the server sends only to key holders (reports) in a new tab.
async function openWithKey(event) {
  event.preventDefault();
  const tab = window.open("", "_blank");
  const resp = await apiFetch(event.currentTarget.href);
  if (!resp.ok) { tab.close(); showError(`${resp.status} ${event.currentTarget.href}`); return; }
  tab.location = URL.createObjectURL(await resp.blob());
}

async function getJSON(url, options) {
  const resp = await apiFetch(url, options);
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.detail || body.title || `${resp.status} ${url}`);
  return body;
}

function showError(message) {
  const el = $("#error");
  el.textContent = message || "";
  el.hidden = !message;
}

// ---- layers, toggles, legend ------------------------------------------------------------
function styleLayersOf(map, source) {
  return map.getStyle().layers.filter((l) => l.source === source).map((l) => l.id);
}

function buildLayerList(map, layers) {
  const list = $("#layer-list");
  for (const layer of layers) {
    const li = document.createElement("li");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = true;
    box.id = `toggle-${layer.id}`;
    box.addEventListener("change", () => {
      for (const id of styleLayersOf(map, layer.id)) {
        map.setLayoutProperty(id, "visibility", box.checked ? "visible" : "none");
      }
    });
    const label = document.createElement("label");
    label.htmlFor = box.id;
    label.textContent = ` ${layer.title_zh}（${layer.feature_count}）`;
    li.append(box, label);
    list.append(li);
  }
}

function legendEntries(style) {
  if (style.fill_by) return Object.entries(style.fill_by.values);
  return [["", style.fill || style.stroke || "#999"]];
}

function buildLegend(details) {
  const legend = $("#legend");
  for (const layer of details) {
    const title = document.createElement("div");
    title.innerHTML = `<strong>${layer.title_zh}</strong>`;
    legend.append(title);
    for (const [value, colour] of legendEntries(layer.style || {})) {
      const item = document.createElement("div");
      item.className = "item";
      item.innerHTML = `<span class="swatch" style="background:${colour}"></span>${value || layer.title_zh}`;
      legend.append(item);
    }
  }
}

function popupFor(map, event) {
  const features = map.queryRenderedFeatures(event.point)
    .filter((f) => !SKIP_CLICK.has(f.source) && !String(f.layer.id).startsWith("hl-"));
  if (!features.length) return;
  const f = features[0];
  const rows = Object.entries(f.properties)
    .map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("");
  new maplibregl.Popup({ maxWidth: "360px" }).setLngLat(event.lngLat)
    .setHTML(`<strong>${f.source}</strong><table>${rows}</table>`).addTo(map);
}

// ---- drawing ----------------------------------------------------------------------------
const draw = { mode: null, coords: [], geometry: null };

function drawGeometry() {
  if (!draw.coords.length) return null;
  if (draw.mode === "Point") return { type: "Point", coordinates: draw.coords[0] };
  if (draw.mode === "LineString") return { type: "LineString", coordinates: draw.coords };
  return { type: "Polygon", coordinates: [[...draw.coords, draw.coords[0]]] };
}

function renderDraw(map) {
  const geometry = draw.geometry || drawGeometry();
  const features = geometry ? [{ type: "Feature", geometry, properties: {} }] : [];
  const vertices = draw.geometry ? [] : draw.coords.map((c) => ({
    type: "Feature", geometry: { type: "Point", coordinates: c }, properties: {} }));
  map.getSource("draw").setData({ type: "FeatureCollection", features: [...features, ...vertices] });
  $("#screen-button").disabled = !draw.geometry;
}

function startDraw(map, mode) {
  draw.mode = mode;
  draw.coords = [];
  draw.geometry = null;
  map.doubleClickZoom.disable();
  map.getCanvas().style.cursor = "crosshair";
  document.querySelectorAll("[data-draw]").forEach((b) => b.classList.toggle("on", b.dataset.draw === mode));
  renderDraw(map);
}

function finishDraw(map) {
  const needed = { Point: 1, LineString: 2, Polygon: 3 }[draw.mode];
  if (!draw.mode || draw.coords.length < needed) return;
  draw.geometry = drawGeometry();
  draw.mode = null;
  map.getCanvas().style.cursor = "";
  map.doubleClickZoom.enable();
  document.querySelectorAll("[data-draw]").forEach((b) => b.classList.remove("on"));
  renderDraw(map);
}

function addDrawLayers(map) {
  map.addSource("draw", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
  map.addSource("site", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
  map.addLayer({ id: "draw-fill", type: "fill", source: "draw", filter: ["==", ["geometry-type"], "Polygon"],
                 paint: { "fill-color": "#ff6d00", "fill-opacity": 0.25 } });
  map.addLayer({ id: "draw-line", type: "line", source: "draw",
                 paint: { "line-color": "#ff6d00", "line-width": 3 } });
  map.addLayer({ id: "draw-point", type: "circle", source: "draw", filter: ["==", ["geometry-type"], "Point"],
                 paint: { "circle-color": "#ff6d00", "circle-radius": 5, "circle-stroke-color": "#000", "circle-stroke-width": 1 } });
  map.addLayer({ id: "site-line", type: "line", source: "site",
                 paint: { "line-color": "#000", "line-width": 2, "line-dasharray": [2, 1] } });
}

// ---- screening --------------------------------------------------------------------------
function showResult(map, result) {
  redline.lastResult = result;
  $("#result").hidden = false;
  const verdict = $("#verdict");
  // verdict_label carries 不完整 when a finding layer's data does not cover the whole site.
  verdict.textContent = result.verdict_label || LABELS[result.verdict];
  verdict.className = `verdict ${result.verdict}${result.complete === false ? " incomplete" : ""}`;
  verdict.dataset.verdict = result.verdict;
  verdict.dataset.complete = String(result.complete !== false);
  const warnings = $("#warnings");
  warnings.innerHTML = "";
  for (const w of result.warnings || []) warnings.append(Object.assign(document.createElement("li"), { textContent: w }));
  warnings.hidden = !warnings.children.length;
  $("#report-link").href = `/screenings/${result.id}/report.html`;
  $("#pdf-link").href = `/screenings/${result.id}/report.pdf`;
  const ctx = result.context || {};
  $("#context").textContent = [ctx.county, (ctx.townships || []).join("、"), ctx.zone_type]
    .filter(Boolean).join(" · ");
  const body = $("#findings tbody");
  body.innerHTML = "";
  for (const f of result.findings) {
    const tr = document.createElement("tr");
    const ha = f.overlap_area_m2 ? (f.overlap_area_m2 / 1e4).toFixed(4) : "";
    const dist = f.distance_m == null ? "" : f.distance_m.toFixed(1);
    tr.innerHTML = `<td>${f.layer_title}</td><td>${f.name ?? ""}</td><td>${RELATIONS[f.relation]}</td>` +
      `<td class="num">${ha}</td><td class="num">${dist}</td><td><span class="verdict ${f.verdict}">${LABELS[f.verdict]}</span></td>`;
    tr.title = f.rules.map((r) => `${r.message}（${r.basis}）`).join("\n");
    body.append(tr);
  }
  highlightOverlaps(map, result.findings);
  if (result.site && result.site.geometry) {
    map.getSource("site").setData({ type: "Feature", geometry: result.site.geometry, properties: {} });
  }
}

function highlightOverlaps(map, findings) {
  for (const layer of map.getStyle().layers.filter((l) => l.id.startsWith("hl-"))) map.removeLayer(layer.id);
  const byLayer = {};
  for (const f of findings) {
    if (f.feature_id && (f.relation === "inside" || f.relation === "overlaps")) {
      (byLayer[f.layer] = byLayer[f.layer] || []).push(f.feature_id);
    }
  }
  for (const [layer, ids] of Object.entries(byLayer)) {
    if (!map.getSource(layer)) continue;
    map.addLayer({ id: `hl-${layer}`, type: "line", source: layer, "source-layer": layer,
                   filter: ["in", ["get", "fid"], ["literal", ids]],
                   paint: { "line-color": "#00e5ff", "line-width": 4 } });
  }
}

function screeningFields() {
  return {
    project_name: $("#project-name").value || null,
    project_category: $("#project-category").value || null,
    buffer_m: Number($("#buffer").value || 0),
  };
}

async function screenDrawn(map) {
  showError("");
  const body = { geometry: draw.geometry, ...screeningFields() };
  try {
    showResult(map, await getJSON("/screenings", { method: "POST",
      headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
  } catch (err) { showError(err.message); }
}

async function screenFile(map, file) {
  showError("");
  const form = new FormData();
  form.append("file", file);
  const fields = screeningFields();
  for (const [k, v] of Object.entries(fields)) if (v !== null) form.append(k, String(v));
  if ($("#file-crs").value) form.append("crs", $("#file-crs").value);
  try {
    const result = await getJSON("/screenings", { method: "POST", body: form });
    showResult(map, result);
    if (result.site && result.site.geometry) fitTo(map, result.site.geometry);
  } catch (err) { showError(`${file.name}: ${err.message}`); }
}

function fitTo(map, geometry) {
  const coords = JSON.stringify(geometry.coordinates).match(/-?\d+(\.\d+)?/g).map(Number);
  const xs = coords.filter((_, i) => i % 2 === 0), ys = coords.filter((_, i) => i % 2 === 1);
  map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]],
                { padding: 80, maxZoom: 15 });
}

// ---- summaries --------------------------------------------------------------------------
// Column titles for the unit and its parent at each summary level.
const LEVEL_HEADS = {
  province: ["", "省"], city: ["省", "市"], county: ["市", "县（区）"], township: ["县（区）", "乡镇（街道）"],
};

async function loadSummary(layerId, rasters) {
  const { by, region } = summaryScope();
  const q = new URLSearchParams({ by, layers: layerId });
  if (region) q.set("region", region);
  if (rasters.length) q.set("rasters", rasters.join(","));
  const chart = new URLSearchParams({ layer: layerId, by });
  if (region) chart.set("region", region);
  $("#summary-chart").src = `/summaries/chart?${chart}`;
  $("#summary-csv").href = `/summaries?${q}&format=csv`;
  $("#summary-xlsx").href = `/summaries?${q}&format=xlsx`;
  const data = await getJSON(`/summaries?${q}`);
  const head = [...LEVEL_HEADS[by], "主体功能区", "面积 km²", "覆盖 km²", "占比 %", "个数"];
  const rasterCols = [];
  for (const r of rasters) {
    const first = data.rows[0]?.rasters?.[r];
    for (const label of Object.keys(first?.class_shares || {})) rasterCols.push([r, label, `${first.title_zh}·${label} %`]);
  }
  $("#summary-table thead").innerHTML = `<tr>${[...head, ...rasterCols.map((c) => c[2])].map((h) => `<th>${h}</th>`).join("")}</tr>`;
  $("#summary-table").dataset.by = by;
  $("#summary-table").dataset.region = region || "";
  const body = $("#summary-table tbody");
  body.innerHTML = "";
  for (const row of data.rows) {
    const f = row.layers[layerId];
    const cells = [row.parent_name ?? row.parent, row.name, row.zone_type, row.area_km2.toFixed(2),
                   (f.area_km2 ?? 0).toFixed(3), ((f.share ?? 0) * 100).toFixed(2), f.count,
                   ...rasterCols.map(([r, label]) => ((row.rasters[r].class_shares[label] || 0) * 100).toFixed(1))];
    const tr = document.createElement("tr");
    if (row.code) tr.dataset.code = row.code;
    tr.innerHTML = cells.map((c, i) => `<td class="${i > 2 ? "num" : ""}">${c ?? ""}</td>`).join("");
    body.append(tr);
  }
}

// ---- data extent and region picker --------------------------------------------------------
// The level summarised under a chosen region: the one below it (no region: townships, as before).
const BY_BELOW = { province: "city", city: "county", county: "township" };
const regions = { list: [], byCode: new Map(), chosen: null };

function summaryScope() {
  const r = regions.chosen && regions.byCode.get(regions.chosen);
  return r ? { by: BY_BELOW[r.level], region: r.code } : { by: "township", region: null };
}

function unionBbox(boxes) {
  const valid = boxes.filter((b) => Array.isArray(b) && b.length >= 4 && b.every(Number.isFinite));
  if (!valid.length) return null;
  return [Math.min(...valid.map((b) => b[0])), Math.min(...valid.map((b) => b[1])),
          Math.max(...valid.map((b) => b[2])), Math.max(...valid.map((b) => b[3]))];
}

// /regions when this server has it (asked through the OpenAPI document, so no 404 in the
// console); otherwise none, and the extent comes from the collections.
async function loadRegions() {
  const api = await getJSON("/openapi.json").catch(() => ({ paths: {} }));
  if (!api.paths || !api.paths["/regions"]) return [];
  return (await getJSON("/regions").catch(() => ({ regions: [] }))).regions || [];
}

async function dataExtent(regionList) {
  const provinces = unionBbox(regionList.filter((r) => r.level === "province").map((r) => r.bbox));
  if (provinces) return provinces;
  const ogc = await getJSON("/ogc/collections").catch(() => ({ collections: [] }));
  return unionBbox((ogc.collections || []).flatMap((c) => c.extent?.spatial?.bbox || []));
}

function fillSelect(select, items, placeholder) {
  select.innerHTML = "";
  select.append(new Option(placeholder, ""));
  for (const r of items) select.append(new Option(r.name, r.code));
  select.disabled = !items.length;
}

function childrenOf(code, level) {
  return regions.list.filter((r) => r.parent_code === code && r.level === level);
}

// The county list follows the city, or the province itself for a 直辖市 (counties under it).
function refillBelow(changed) {
  const [prov, city, county] = ["#region-province", "#region-city", "#region-county"].map($);
  if (changed === "province") fillSelect(city, childrenOf(prov.value, "city"), "（全部市）");
  if (changed !== "county") fillSelect(county, childrenOf(city.value || prov.value, "county"), "（全部区县）");
  regions.chosen = county.value || city.value || prov.value || null;
}

function fitPending(map) {
  const bbox = regions.pendingFit;
  regions.pendingFit = null;
  if (bbox) map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 40, duration: 0 });
}

function buildRegionPicker(map, onChange) {
  if (!regions.list.length) return;
  $("#region-picker").hidden = false;
  fillSelect($("#region-province"), regions.list.filter((r) => r.level === "province"), "（全部省）");
  refillBelow("province");
  for (const level of ["province", "city", "county"]) {
    $(`#region-${level}`).addEventListener("change", () => {
      refillBelow(level);
      regions.pendingFit = regions.byCode.get(regions.chosen)?.bbox || regions.extent;
      // A hidden map has no size to fit into: the summaries view fits when the map shows again.
      if ($("#map-view").classList.contains("active")) fitPending(map);
      onChange();
    });
  }
}

// ---- start ------------------------------------------------------------------------------
async function main() {
  const [layers, categories, style, rasters, regionList] = await Promise.all([
    getJSON("/layers"), getJSON("/screenings/categories"), getJSON("/tiles/style.json"),
    getJSON("/rasters").catch(() => []), loadRegions(),
  ]);
  regions.list = regionList.filter((r) => ["province", "city", "county"].includes(r.level));
  regions.byCode = new Map(regions.list.map((r) => [r.code, r]));
  regions.extent = await dataExtent(regions.list);
  const loaded = layers.filter((l) => l.active_version);
  for (const c of categories.categories) $("#project-category").append(new Option(c.id, c.id));
  // Tiles carry the key too, for servers whose reads are closed (REDLINE_OPEN_READS=false).
  const transformRequest = (url) =>
    (new URL(url, location.href).origin === location.origin ? { url, headers: withKey() } : { url });
  // Open on the loaded data; with none loaded yet, on the whole country.
  const view = regions.extent
    ? { bounds: regions.extent, fitBoundsOptions: { padding: 20 } } : { center: [104.0, 35.0], zoom: 3 };
  const map = (redline.map = new maplibregl.Map({ container: "map", style, ...view, transformRequest }));
  $("#report-link").addEventListener("click", openWithKey);
  $("#pdf-link").addEventListener("click", openWithKey);
  map.addControl(new maplibregl.NavigationControl());
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }));
  map.on("load", async () => {
    addDrawLayers(map);
    buildLayerList(map, loaded);
    buildLegend(await Promise.all(loaded.map((l) => getJSON(`/layers/${l.id}`))));
    map.once("idle", () => { redline.ready = true; });
  });
  map.on("error", (e) => redline.errors.push(String(e.error && e.error.message)));
  map.on("click", (e) => {
    if (draw.mode) {
      draw.coords.push([e.lngLat.lng, e.lngLat.lat]);
      if (draw.mode === "Point") finishDraw(map); else renderDraw(map);
    } else popupFor(map, e);
  });
  map.on("dblclick", (e) => { if (draw.mode) { e.preventDefault(); finishDraw(map); } });
  document.querySelectorAll("[data-draw]").forEach((b) => b.addEventListener("click", () => startDraw(map, b.dataset.draw)));
  $("#draw-finish").addEventListener("click", () => finishDraw(map));
  $("#draw-clear").addEventListener("click", () => { startDraw(map, null); draw.mode = null; renderDraw(map); });
  $("#screen-form").addEventListener("submit", (e) => { e.preventDefault(); screenDrawn(map); });
  const container = map.getContainer();
  container.addEventListener("dragover", (e) => { e.preventDefault(); document.body.classList.add("drop-target"); });
  container.addEventListener("dragleave", () => document.body.classList.remove("drop-target"));
  container.addEventListener("drop", (e) => {
    e.preventDefault();
    document.body.classList.remove("drop-target");
    if (e.dataTransfer.files.length) screenFile(map, e.dataTransfer.files[0]);
  });
  const polygonLayers = loaded.filter((l) => l.geometry_type === "polygon" && l.id !== "admin_county");
  for (const l of polygonLayers) $("#summary-layer").append(new Option(l.title_zh, l.id));
  $("#summary-layer").value = polygonLayers.some((l) => l.id === "redline") ? "redline" : polygonLayers[0]?.id;
  const rasterIds = rasters.filter((r) => r.active).map((r) => r.id);
  const reloadSummary = () => loadSummary($("#summary-layer").value, rasterIds).catch((err) => showError(err.message));
  $("#summary-layer").addEventListener("change", reloadSummary);
  buildRegionPicker(map, () => { if ($("#summary-view").classList.contains("active")) reloadSummary(); });
  document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => {
    document.querySelectorAll(".tab, .view").forEach((el) => el.classList.remove("active"));
    tab.classList.add("active");
    $(`#${tab.dataset.view}`).classList.add("active");
    if (tab.dataset.view === "summary-view") reloadSummary();
    else { map.resize(); fitPending(map); }
  }));
}

main().catch((err) => { redline.errors.push(err.message); showError(err.message); });
