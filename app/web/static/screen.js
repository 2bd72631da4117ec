// Screening on the map page: one site at a time (drawn, dropped or typed), the project form,
// the officer's name, the result panel. Helpers ($, getJSON, showError) come from app.js.
"use strict";

const LABELS = { prohibited: "禁止", restricted: "限制", attention: "关注", clear: "无冲突" };
const RELATIONS = { inside: "位于其内", overlaps: "部分重叠", nearby: "邻近", outside: "位于其外" };
const KIND_NAMES = { Point: "点", LineString: "线", Polygon: "面" };
const OFFICER_STORAGE = "redline.officer";
// Times people read are Beijing time, whatever zone the browser is in (the API keeps ISO 8601).
const BEIJING = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "numeric", day: "numeric",
  hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

function beijingTime(iso) {
  const part = Object.fromEntries(BEIJING.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${part.year}年${part.month}月${part.day}日 ${part.hour}:${part.minute}（北京时间）`;
}

// The site being screened. newSite() is the only place a site starts: drawing, dropping or
// choosing a file and using typed coordinates all go through it, so nothing of the previous
// site (its name, category, file, result) can be filed with the next one.
const site = { serial: 0, how: null, geometry: null, file: null, crs: null, axisOrder: null, label: "" };
const draw = { mode: null, coords: [] };

function newSite(map, { keepCoords = false } = {}) {
  Object.assign(site, { serial: site.serial + 1, how: null, geometry: null, file: null, crs: null, axisOrder: null, label: "" });
  Object.assign(draw, { mode: null, coords: [] });
  $("#screen-form").reset();
  $("#site-file").value = "";
  if (!keepCoords) { $("#coord-text").value = ""; showCoordError(""); }
  clearResult(map);
  showError("");
  map.getCanvas().style.cursor = "";
  map.doubleClickZoom.enable();
  document.querySelectorAll("[data-draw]").forEach((b) => b.classList.remove("on"));
  map.getSource("draw").setData(emptyCollection());
  map.getSource("site").setData(emptyCollection());
  updateScreenState();
}

const emptyCollection = () => ({ type: "FeatureCollection", features: [] });

function setSite(fields) {
  Object.assign(site, fields);
  updateScreenState();
}

function missingForScreening() {
  const out = [];
  if (!site.geometry && !site.file) out.push(draw.mode ? "完成绘制（双击或点“完成”）" : "画出、拖入或输入用地范围");
  if (!$("#project-category").value) out.push("选择项目类别");
  return out;
}

// The screen button is enabled only when the site and the category are given; the line above
// it says what is still missing (no silent 未指定).
function updateScreenState() {
  const missing = missingForScreening();
  const button = $("#screen-button");
  $("#project-fields").disabled = !(site.geometry || site.file);
  $("#file-crs-label").hidden = !site.file;
  button.disabled = missing.length > 0;
  button.title = missing.length ? `还需：${missing.join("；")}` : "";
  $("#screen-missing").textContent = missing.length ? `研判前请${missing.join("；")}。` : "";
  $("#site-status").textContent = site.label ? `当前用地：${site.label}` : "当前用地：未指定";
}

// ---- officer ----------------------------------------------------------------------------
// Asked once, kept in this browser, shown in the header and sent with every screening.
const currentOfficer = () => (localStorage.getItem(OFFICER_STORAGE) || "").trim();

function showOfficer() {
  $("#officer-name").textContent = currentOfficer() || "未填写";
}

function askOfficer() {
  const dialog = $("#officer-dialog");
  $("#officer-input").value = currentOfficer();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const name = $("#officer-input").value.trim().slice(0, 50);
      if (dialog.returnValue === "ok" && name) localStorage.setItem(OFFICER_STORAGE, name);
      showOfficer();
      resolve(currentOfficer());
    }, { once: true });
    dialog.showModal();
  });
}

async function ensureOfficer() {
  return currentOfficer() || askOfficer();
}

// ---- drawing ----------------------------------------------------------------------------
function drawGeometry() {
  if (!draw.coords.length) return null;
  if (draw.mode === "Point") return { type: "Point", coordinates: draw.coords[0] };
  if (draw.mode === "LineString") return { type: "LineString", coordinates: draw.coords };
  return { type: "Polygon", coordinates: [[...draw.coords, draw.coords[0]]] };
}

function renderDraw(map) {
  const geometry = site.geometry || drawGeometry();
  const features = geometry ? [{ type: "Feature", geometry, properties: {} }] : [];
  const vertices = draw.mode ? draw.coords.map((c) => ({
    type: "Feature", geometry: { type: "Point", coordinates: c }, properties: {} })) : [];
  map.getSource("draw").setData({ type: "FeatureCollection", features: [...features, ...vertices] });
}

function startDraw(map, mode) {
  newSite(map);
  draw.mode = mode;
  map.doubleClickZoom.disable();
  map.getCanvas().style.cursor = "crosshair";
  document.querySelectorAll("[data-draw]").forEach((b) => b.classList.toggle("on", b.dataset.draw === mode));
  updateScreenState();
}

function finishDraw(map) {
  const needed = { Point: 1, LineString: 2, Polygon: 3 }[draw.mode];
  if (!draw.mode || draw.coords.length < needed) return;
  const geometry = drawGeometry();
  const label = `手绘${KIND_NAMES[draw.mode]}（${draw.coords.length} 个顶点）`;
  draw.mode = null;
  map.getCanvas().style.cursor = "";
  map.doubleClickZoom.enable();
  document.querySelectorAll("[data-draw]").forEach((b) => b.classList.remove("on"));
  setSite({ how: "draw", geometry, crs: "EPSG:4490", axisOrder: "auto", label });
  renderDraw(map);
}

function addDrawLayers(map) {
  map.addSource("draw", { type: "geojson", data: emptyCollection() });
  map.addSource("site", { type: "geojson", data: emptyCollection() });
  map.addLayer({ id: "draw-fill", type: "fill", source: "draw", filter: ["==", ["geometry-type"], "Polygon"],
                 paint: { "fill-color": "#ff6d00", "fill-opacity": 0.25 } });
  map.addLayer({ id: "draw-line", type: "line", source: "draw",
                 paint: { "line-color": "#ff6d00", "line-width": 3 } });
  map.addLayer({ id: "draw-point", type: "circle", source: "draw", filter: ["==", ["geometry-type"], "Point"],
                 paint: { "circle-color": "#ff6d00", "circle-radius": 5, "circle-stroke-color": "#000", "circle-stroke-width": 1 } });
  map.addLayer({ id: "site-fill", type: "fill", source: "site", filter: ["==", ["geometry-type"], "Polygon"],
                 paint: { "fill-color": "#ff6d00", "fill-opacity": 0.2 } });
  map.addLayer({ id: "site-line", type: "line", source: "site",
                 paint: { "line-color": "#000", "line-width": 2, "line-dasharray": [2, 1] } });
  map.addLayer({ id: "site-point", type: "circle", source: "site", filter: ["==", ["geometry-type"], "Point"],
                 paint: { "circle-color": "#ff6d00", "circle-radius": 6, "circle-stroke-color": "#000", "circle-stroke-width": 2 } });
}

// ---- files and typed coordinates ----------------------------------------------------------
function useFile(map, file) {
  newSite(map);
  setSite({ how: "file", file, label: `文件 ${file.name}（研判后在地图上显示）` });
}

function showCoordError(message) {
  const el = $("#coord-error");
  el.textContent = message;
  el.hidden = !message;
}

function coordOptions() {
  return {
    crs: $("#coord-crs").value,
    kind: document.querySelector("input[name=coord-kind]:checked").value,
    zone: $("#coord-zone").value,
  };
}

function useTypedCoordinates(map) {
  let parsed;
  try {
    parsed = redlineCoords.parse($("#coord-text").value, coordOptions());
  } catch (err) {
    if (!(err instanceof redlineCoords.CoordError)) throw err;
    showCoordError(err.message);
    return;
  }
  newSite(map, { keepCoords: true });
  showCoordError("");
  const kind = KIND_NAMES[parsed.geometry.type];
  setSite({ how: "typed", geometry: parsed.geometry, crs: parsed.crs, axisOrder: parsed.axis_order,
            label: `输入坐标（${kind}，${parsed.count} 个点，${$("#coord-crs").selectedOptions[0].text}）` });
  // Lon/lat in CGCS2000 can be shown at once; other systems once the server has converted them.
  if (parsed.crs === "EPSG:4490") {
    renderDraw(map);
    fitTo(map, parsed.geometry);
  }
}

function fillZones(map) {
  const { first, last } = redlineCoords.ZONES;
  const select = $("#coord-zone");
  for (let n = first; n <= last; n++) select.append(new Option(`${n} 带（中央经线 ${3 * n}°E）`, String(n)));
  select.value = String(redlineCoords.zoneOf(map.getCenter().lng));
  $("#coord-crs").addEventListener("change", () => {
    $("#coord-zone-label").hidden = $("#coord-crs").value !== "GK3";
  });
}

// ---- screening --------------------------------------------------------------------------
function screeningFields(officer) {
  const fields = {
    project_name: $("#project-name").value.trim() || null,
    project_category: $("#project-category").value || null,
    buffer_m: Number($("#buffer").value || 0),
    officer,
  };
  const industry = $("#industry-code").value.trim();
  if (industry) fields.industry_code = industry.split(/\s/)[0];
  return fields;
}

function screeningRequest(fields) {
  if (site.file) {
    const form = new FormData();
    form.append("file", site.file);
    for (const [k, v] of Object.entries(fields)) if (v !== null) form.append(k, String(v));
    if ($("#file-crs").value) form.append("crs", $("#file-crs").value);
    return { method: "POST", body: form };
  }
  const body = { geometry: site.geometry, crs: site.crs, axis_order: site.axisOrder, ...fields };
  return { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

async function screen(map) {
  if (missingForScreening().length) { updateScreenState(); return; }
  const officer = await ensureOfficer();
  if (!officer) { showError("请填写经办人姓名后再研判：每次研判都记录经办人。"); return; }
  showError("");
  const serial = site.serial;
  const button = $("#screen-button");
  button.disabled = true;
  try {
    const result = await getJSON("/screenings", screeningRequest(screeningFields(officer)));
    if (serial !== site.serial) return; // a new site was started meanwhile: this one is filed, not shown
    showResult(map, result);
    $("#result").scrollIntoView({ block: "nearest" });
    // Files and typed coordinates are seen on the map only now, as the server converted them.
    if (site.how !== "draw" && result.site?.geometry) fitTo(map, result.site.geometry);
  } catch (err) {
    if (serial === site.serial) showError(site.file ? `${site.file.name}：${err.message}` : err.message);
  } finally {
    updateScreenState();
  }
}

function clearResult(map) {
  redline.lastResult = null;
  $("#result").hidden = true;
  $("#verdict").removeAttribute("data-verdict");
  for (const sel of ["#warnings", "#by-category", "#findings tbody", "#parcels tbody"]) $(sel).innerHTML = "";
  $("#parcels").hidden = true;
  for (const sel of ["#result-project", "#context"]) $(sel).textContent = "";
  highlightOverlaps(map, []);
}

function fillList(list, items) {
  list.innerHTML = "";
  for (const text of items) list.append(Object.assign(document.createElement("li"), { textContent: text }));
  list.hidden = !items.length;
}

function showResult(map, result) {
  redline.lastResult = result;
  $("#result").hidden = false;
  const verdict = $("#verdict");
  // verdict_label carries 不完整 when a finding layer's data does not cover the whole site.
  verdict.textContent = result.verdict_label || LABELS[result.verdict];
  verdict.className = `verdict ${result.verdict}${result.complete === false ? " incomplete" : ""}`;
  verdict.dataset.verdict = result.verdict;
  verdict.dataset.complete = String(result.complete !== false);
  fillList($("#warnings"), result.warnings ?? []);
  fillList($("#by-category"), (result.by_category ?? []).map((c) => `${c.category}：${c.verdict_label || LABELS[c.verdict]}`));
  $("#report-link").href = `/screenings/${result.id}/report.html`;
  $("#pdf-link").href = `/screenings/${result.id}/report.pdf`;
  const p = result.project || {};
  $("#result-project").textContent = [p.name && `项目：${p.name}`, p.category && `类别：${p.category}`,
    p.industry_name && `行业：${p.industry_code} ${p.industry_name}`, p.officer && `经办人：${p.officer}`,
    result.created_at && `研判时间：${beijingTime(result.created_at)}`]
    .filter(Boolean).join(" · ");
  const ctx = result.context || {};
  $("#context").textContent = [ctx.county, ctx.summary || (ctx.townships || []).join("、"), ctx.summary ? null : ctx.zone_type]
    .filter(Boolean).join(" · ");
  showFindings(result.findings ?? []);
  showParcels(result.parcels ?? []);
  highlightOverlaps(map, result.findings ?? []);
  if (result.site?.geometry) {
    map.getSource("site").setData({ type: "Feature", geometry: result.site.geometry, properties: {} });
  }
}

function showFindings(findings) {
  const body = $("#findings tbody");
  body.innerHTML = "";
  for (const f of findings) {
    const tr = document.createElement("tr");
    const ha = f.overlap_area_m2 ? (f.overlap_area_m2 / 1e4).toFixed(4) : "";
    const dist = f.distance_m == null ? "" : f.distance_m.toFixed(1);
    tr.innerHTML = `<td>${f.layer_title}</td><td></td><td>${RELATIONS[f.relation]}</td>` +
      `<td class="num">${ha}</td><td class="num">${dist}</td><td><span class="verdict ${f.verdict}">${LABELS[f.verdict]}</span></td>`;
    tr.children[1].textContent = f.name ?? "";
    tr.title = f.rules.map((r) => `${r.message}（${r.basis}）`).join("\n");
    body.append(tr);
  }
}

// Per-parcel results of a 报盘 file (absent from older screenings and single sites).
function showParcels(parcels) {
  const body = $("#parcels tbody");
  body.innerHTML = "";
  const ha = (v) => (v == null ? "" : v.toFixed(4));
  for (const p of parcels) {
    const tr = document.createElement("tr");
    const cells = [p.number ?? "", p.name ?? "", ha(p.declared_area_ha), ha(p.computed_area_ha),
                   p.difference_pct == null ? "" : `${p.difference_pct.toFixed(1)}%`];
    for (const [i, text] of cells.entries()) {
      tr.append(Object.assign(document.createElement("td"), { textContent: text, className: i > 1 ? "num" : "" }));
    }
    const verdict = Object.assign(document.createElement("span"),
      { className: `verdict ${p.verdict}`, textContent: p.verdict_label || LABELS[p.verdict] });
    const cell = document.createElement("td");
    cell.append(verdict);
    tr.append(cell);
    if (p.warning) { tr.title = p.warning; tr.classList.add("warned"); }
    body.append(tr);
  }
  $("#parcels").hidden = !parcels.length;
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

function fitTo(map, geometry) {
  const coords = JSON.stringify(geometry.coordinates).match(/-?\d+(\.\d+)?(e-?\d+)?/g).map(Number);
  const xs = coords.filter((_, i) => i % 2 === 0), ys = coords.filter((_, i) => i % 2 === 1);
  map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]],
                { padding: 80, maxZoom: 15 });
}

// ---- wiring -----------------------------------------------------------------------------
function setupScreening(map, categories) {
  for (const c of categories) $("#project-category").append(new Option(c.id, c.id));
  showOfficer();
  fillZones(map);
  updateScreenState();
  $("#officer-change").addEventListener("click", () => askOfficer());
  map.on("click", (e) => {
    if (draw.mode) {
      draw.coords.push([e.lngLat.lng, e.lngLat.lat]);
      if (draw.mode === "Point") finishDraw(map); else renderDraw(map);
    } else popupFor(map, e);
  });
  map.on("dblclick", (e) => { if (draw.mode) { e.preventDefault(); finishDraw(map); } });
  document.querySelectorAll("[data-draw]").forEach((b) => b.addEventListener("click", () => startDraw(map, b.dataset.draw)));
  $("#draw-finish").addEventListener("click", () => finishDraw(map));
  $("#draw-clear").addEventListener("click", () => newSite(map));
  $("#new-site").addEventListener("click", () => newSite(map));
  $("#project-category").addEventListener("change", updateScreenState);
  $("#screen-form").addEventListener("submit", (e) => { e.preventDefault(); screen(map); });
  $("#coord-form").addEventListener("submit", (e) => { e.preventDefault(); useTypedCoordinates(map); });
  $("#site-file").addEventListener("change", (e) => { if (e.target.files.length) useFile(map, e.target.files[0]); });
  const container = map.getContainer();
  container.addEventListener("dragover", (e) => { e.preventDefault(); document.body.classList.add("drop-target"); });
  container.addEventListener("dragleave", () => document.body.classList.remove("drop-target"));
  container.addEventListener("drop", (e) => {
    e.preventDefault();
    document.body.classList.remove("drop-target");
    if (e.dataTransfer.files.length) useFile(map, e.dataTransfer.files[0]);
  });
}
