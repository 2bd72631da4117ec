// Place search: counties, townships, protected areas and redlines by name (GET /places);
// choosing one flies the map to it and marks a point inside it.
"use strict";

const PLACE_DELAY_MS = 250;

function placeItem(place, choose) {
  const li = document.createElement("li");
  const button = Object.assign(document.createElement("button"), { type: "button" });
  button.append(Object.assign(document.createElement("span"), { className: "name", textContent: place.name }));
  const where = [place.layer_title, place.layer === "admin_county" ? null : place.county].filter(Boolean).join(" · ");
  button.append(Object.assign(document.createElement("span"), { className: "where", textContent: where }));
  button.addEventListener("click", () => choose(place));
  li.append(button);
  return li;
}

function flyToPlace(map, place) {
  const [x0, y0, x1, y1] = place.bbox;
  map.fitBounds([[x0, y0], [x1, y1]], { padding: 60, maxZoom: 14, duration: 600 });
  redline.placeMarker?.remove();
  redline.placeMarker = new maplibregl.Marker({ color: "#1565c0" }).setLngLat(place.center).addTo(map);
  redline.place = place;
}

function setupPlaceSearch(map) {
  const input = $("#place-q"), list = $("#place-results"), error = $("#place-error");
  let timer = null, asked = 0, shownFor = null;
  const choose = (place) => {
    list.hidden = true;
    input.value = place.name;
    flyToPlace(map, place);
  };
  async function search(pickFirst = false) {
    const q = input.value.trim(), mine = ++asked;
    error.hidden = true;
    if (!q) { list.hidden = true; return; }
    let places;
    try {
      places = await getJSON(`/places?${new URLSearchParams({ q, limit: 10 })}`);
    } catch (err) {
      error.textContent = `地名搜索失败：${err.message}`;
      error.hidden = false;
      return;
    }
    if (mine !== asked) return; // a later search answered first
    shownFor = q;
    if (pickFirst && places.length) { choose(places[0]); return; }
    list.innerHTML = "";
    for (const place of places) list.append(placeItem(place, choose));
    if (!places.length) list.append(Object.assign(document.createElement("li"), { className: "none", textContent: `没有名称含“${q}”的地方` }));
    list.hidden = false;
  }
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, PLACE_DELAY_MS); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") list.hidden = true;
    if (e.key !== "Enter") return;
    e.preventDefault();
    clearTimeout(timer);
    const first = list.querySelector("button");
    if (first && !list.hidden && shownFor === input.value.trim()) first.click(); else search(true);
  });
}
