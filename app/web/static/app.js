// Redline map page: layers from our own vector tiles, township summaries, and the start-up
// that wires screen.js (screening) and places.js (place search) to the map. Talks only to this
// server (works offline unless a basemap is configured); MapLibre comes from npm.
"use strict";

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

function toggleItem(id, text, onChange) {
  const li = document.createElement("li");
  const box = Object.assign(document.createElement("input"), { type: "checkbox", checked: true, id });
  box.addEventListener("change", () => onChange(box.checked));
  const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: ` ${text}` });
  li.append(box, label);
  return li;
}

// A configured basemap (REDLINE_BASEMAP_URL) gets a toggle; without one there is none.
function buildBasemapToggle(map) {
  if (!map.getLayer("basemap")) return;
  $("#layer-list").prepend(toggleItem("toggle-basemap", "底图", (on) =>
    map.setLayoutProperty("basemap", "visibility", on ? "visible" : "none")));
}

function buildLayerList(map, layers) {
  for (const layer of layers) {
    $("#layer-list").append(toggleItem(`toggle-${layer.id}`, `${layer.title_zh}（${layer.feature_count}）`, (on) => {
      for (const id of styleLayersOf(map, layer.id)) map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
    }));
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

// Optional routes are asked for only when the OpenAPI document lists them (no 404 in the
// console): /regions (else the extent comes from the collections), /screenings/industries.
const serves = (api, path) => Boolean(api.paths && api.paths[path]);

async function loadRegions(api) {
  if (!serves(api, "/regions")) return [];
  return (await getJSON("/regions").catch(() => ({ regions: [] }))).regions || [];
}

// GB/T 4754 codes offered while typing the industry code; a plain field when not served.
async function loadIndustries(api) {
  if (!serves(api, "/screenings/industries")) return;
  const { industries = [] } = await getJSON("/screenings/industries").catch(() => ({}));
  const list = $("#industry-list");
  for (const i of industries) list.append(new Option(`${i.code} ${i.name}`, i.code));
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
  const api = await getJSON("/openapi.json").catch(() => ({ paths: {} }));
  const [layers, categories, style, rasters, regionList, pageConfig] = await Promise.all([
    getJSON("/layers"), getJSON("/screenings/categories"), getJSON("/tiles/style.json"),
    getJSON("/rasters").catch(() => []), loadRegions(api), getJSON("/web/config.json").catch(() => ({})),
    loadIndustries(api),
  ]);
  if (style.sources.basemap && pageConfig.basemap_attribution) {
    style.sources.basemap.attribution = pageConfig.basemap_attribution;
  }
  regions.list = regionList.filter((r) => ["province", "city", "county"].includes(r.level));
  regions.byCode = new Map(regions.list.map((r) => [r.code, r]));
  regions.extent = await dataExtent(regions.list);
  const loaded = layers.filter((l) => l.active_version);
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
    setupScreening(map, categories.categories);
    setupPlaceSearch(map);
    buildLayerList(map, loaded);
    buildBasemapToggle(map);
    buildLegend(await Promise.all(loaded.map((l) => getJSON(`/layers/${l.id}`))));
    map.once("idle", () => { redline.ready = true; });
  });
  map.on("error", (e) => redline.errors.push(String(e.error && e.error.message)));
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
