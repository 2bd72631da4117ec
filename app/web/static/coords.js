// Typed or pasted site coordinates → a GeoJSON geometry with the crs and axis_order that
// POST /screenings expects. Pure: no page state; errors are thrown in Chinese for the page.
"use strict";

(function () {
  // China's extent (as the server checks it): lon/lat outside it means a wrong CRS or axes.
  const LON = [73, 136], LAT = [3, 54];
  // CGCS2000 3° Gauss-Krüger: zone n (25–45, central meridian 3n°E) is EPSG:4513+(n-25) with the
  // zone number before the easting, EPSG:4534+(n-25) without it.
  const ZONES = { first: 25, last: 45, prefixed: 4513, plain: 4534 };
  const NUMBER = /^[-+]?\d+(\.\d+)?$/;

  class CoordError extends Error {}

  function fail(message) { throw new CoordError(message); }

  // A line of a list: numbers separated by spaces, commas or semicolons (ASCII or Chinese); a
  // leading point name (J1, 界址点1) or point number in an "n X Y" line is skipped.
  function lineNumbers(line, index) {
    const tokens = line.trim().split(/[\s,，;；\t]+/).filter(Boolean);
    if (tokens.length && !NUMBER.test(tokens[0])) tokens.shift();
    if (tokens.length === 3 && /^\d{1,4}$/.test(tokens[0]) && Math.abs(Number(tokens[1])) >= 1e5) tokens.shift();
    for (const t of tokens) {
      if (!NUMBER.test(t)) fail(`第 ${index + 1} 行：“${t}”不是数字。`);
    }
    if (tokens.length % 2) fail(`第 ${index + 1} 行：数字个数为奇数，坐标须成对填写。`);
    const pairs = [];
    for (let i = 0; i < tokens.length; i += 2) pairs.push([Number(tokens[i]), Number(tokens[i + 1])]);
    return pairs;
  }

  function readPairs(text) {
    const pairs = text.split(/\r?\n/).flatMap((line, i) => lineNumbers(line, i));
    if (!pairs.length) fail("请输入坐标：每行一对，或在一行内以空格分隔多对。");
    return pairs;
  }

  const same = (a, b) => a[0] === b[0] && a[1] === b[1];

  // 1 pair → point; a closed ring → polygon; otherwise a line (or what the officer chose).
  function shapeOf(pairs, kind) {
    const closed = pairs.length >= 4 && same(pairs[0], pairs[pairs.length - 1]);
    const chosen = kind && kind !== "auto" ? kind : pairs.length === 1 ? "Point" : closed ? "Polygon" : "LineString";
    if (chosen === "Point") {
      if (pairs.length !== 1) fail(`点只需一对坐标，现有 ${pairs.length} 对。`);
      return { type: "Point", coordinates: pairs[0] };
    }
    if (chosen === "LineString") {
      if (pairs.length < 2) fail("线至少需要两对坐标。");
      return { type: "LineString", coordinates: pairs };
    }
    const ring = closed ? pairs : [...pairs, pairs[0]];
    if (ring.length < 4) fail("面至少需要三个不同的顶点。");
    return { type: "Polygon", coordinates: [ring] };
  }

  function checkLonLat(pairs) {
    pairs.forEach(([lon, lat], i) => {
      if (lon < LON[0] || lon > LON[1] || lat < LAT[0] || lat > LAT[1]) {
        const swapped = lat >= LON[0] && lat <= LON[1] && lon >= LAT[0] && lon <= LAT[1];
        fail(`第 ${i + 1} 个坐标（${lon}, ${lat}）不在中国范围内` +
             (swapped ? "：似乎先写了纬度，请按“经度 纬度”的顺序填写。" : "：请检查坐标系与数值。"));
      }
    });
  }

  // Surveyors' X (northing) first, then Y (easting, with or without the zone number in front).
  function gkCrs(pairs, zone) {
    const prefixes = new Set();
    pairs.forEach(([x, y], i) => {
      if (x < 2e5 || x > 6.2e6) fail(`第 ${i + 1} 个坐标的 X（北坐标）${x} 不在中国范围内：X 应为 7 位整数米数，请先写 X 再写 Y。`);
      if (y >= 1e7) prefixes.add(Math.floor(y / 1e6));
      else if (y < 1e5 || y > 9e5) fail(`第 ${i + 1} 个坐标的 Y（东坐标）${y} 不是高斯-克吕格坐标：应为 6 位（无带号）或 8 位（带号在前）。`);
      else prefixes.add(null);
    });
    if (prefixes.size > 1) fail("各点的 Y 坐标带号不一致：请统一为带号在前的 8 位或无带号的 6 位。");
    const prefix = [...prefixes][0];
    if (prefix !== null) {
      if (prefix < ZONES.first || prefix > ZONES.last) fail(`Y 坐标的带号 ${prefix} 不是中国的 3° 带（${ZONES.first}–${ZONES.last}）。`);
      return `EPSG:${ZONES.prefixed + prefix - ZONES.first}`;
    }
    const n = Number(zone);
    if (!(n >= ZONES.first && n <= ZONES.last)) fail("Y 坐标不带带号：请选择 3° 带号（中央经线）。");
    return `EPSG:${ZONES.plain + n - ZONES.first}`;
  }

  // crs: "EPSG:4490" | "GK3" | "GCJ02" | "BD09"; kind: "auto" | "Point" | "LineString" | "Polygon".
  function parse(text, { crs = "EPSG:4490", kind = "auto", zone = null } = {}) {
    const pairs = readPairs(text);
    if (crs === "GK3") {
      const epsg = gkCrs(pairs, zone);
      return { geometry: shapeOf(pairs, kind), crs: epsg, axis_order: "north_east", count: pairs.length };
    }
    checkLonLat(pairs);
    return { geometry: shapeOf(pairs, kind), crs, axis_order: "auto", count: pairs.length };
  }

  // The 3° zone whose central meridian is nearest a longitude (for the zone selector's default).
  const zoneOf = (lon) => Math.min(ZONES.last, Math.max(ZONES.first, Math.round(lon / 3)));

  window.redlineCoords = { parse, zoneOf, CoordError, ZONES };
})();
