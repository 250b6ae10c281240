// Organisations and places (单位场所) of the account's jurisdiction, found by region or grid,
// name and kind, open or closed: each corrected (renamed, of another kind, moved on a map of
// the grids around it, told the grid it would land in), closed (注销、停业) or reopened, and its
// record read (who recorded it from the field or imported it from which file, and each change
// since, before and after); those found downloaded as the ledger (台账). Everything shown is
// set as text.
"use strict";

window.mapsvcUnits = { shown: null, changes: null, map: null, grids: null };

(function unitsRegister() {
  if (!signedIn("units")) return;
  const $ = (id) => document.getElementById(id);
  const finding = $("units-find").elements;
  const ACTION = { recorded: "采集", imported: "导入", changed: "更正" };
  let layer = finding.layer.value;  // of the rows listed
  let asking = null;  // the row the correction is about
  let moved = null;  // where the correction moves it, if it does

  const kindName = (of, kind) => (of === "organisations" ? ORGANISATION_KIND[kind] || kind
    : kind);
  // an organisation's kind picked from the registry's, a place's typed, in ``form``
  function kinds(form, of, chosen) {
    const organisation = of === "organisations";
    form.elements.organisation_kind.hidden = !organisation;
    form.elements.place_kind.hidden = organisation;
    if (form.id === "units-correct") form.elements.place_kind.required = !organisation;
    form.elements[organisation ? "organisation_kind" : "place_kind"].value = chosen || "";
  }
  for (const form of [$("units-find"), $("units-correct")]) {
    form.elements.organisation_kind.replaceChildren(...[
      ...(form.id === "units-find" ? [["", "全部"]] : []),
      ...Object.entries(ORGANISATION_KIND)].map(
      ([kind, name]) => Object.assign(text("option", name), { value: kind })));
  }
  kinds($("units-find"), layer);
  finding.layer.addEventListener("change", () => kinds($("units-find"), finding.layer.value));

  function row(unit) {
    const tr = document.createElement("tr");
    tr.dataset.unit = unit.id;
    for (const value of [unit.id, unit.name, kindName(layer, unit.kind), unit.code || "—",
                         unit.grid_name || "未落入网格",
                         unit.closed_on ? `${unit.closed_on} 注销或停业` : "在业"]) {
      tr.appendChild(text("td", value));
    }
    tr.appendChild(actions([["更正", () => askCorrecting(unit, tr)],
                            ["变更记录", () => showChanges(unit)],
                            unit.closed_on ? ["恢复", (e) => closing(e, unit, false)]
                              : ["注销", (e) => closing(e, unit, true)]]));
    return tr;
  }

  // closed (注销、停业: off the lists, the map and the counts, its record kept) or reopened, in
  // two clicks, the second on "确认…", so that a slip closes nothing
  function closing(event, unit, closed) {
    const button = event.target;
    const word = closed ? "注销" : "恢复";
    if (button.textContent === word) {
      button.textContent = `确认${word}`;
      return;
    }
    list.change("PATCH", `/api/v1/registry/${layer}/${unit.id}`, { closed },
                `已${word} ${unit.id} 号，已记入变更记录`);
  }

  const list = pagedList({
    page: "units", id: "units", unit: "个", path: () => `/api/v1/registry/${layer}`,
    rows: (found) => found.features.map((f) => ({ ...f.properties, at: f.geometry.coordinates })),
    show: (units) => $("units").tBodies[0].replaceChildren(...units.map(row)),
    empty: "没有符合条件的单位或场所", watched: window.mapsvcUnits,
    fields: { name: "名称", kind: "类别" } });

  function askCorrecting(unit, tr) {
    asking = unit;
    $("units-changes").hidden = true;
    const form = askAbout("units-correct", `更正 ${unit.id} 号：${unit.name}`, tr);
    form.elements.name.value = unit.name;
    kinds(form, layer, unit.kind);
    showPlace(unit);
  }

  // the map of the grids around the one corrected, its point on it: dragged, or the map
  // clicked where it is, it is moved there
  const map = { view: null, grids: null, pin: null };
  function showPlace(unit) {
    const [lon, lat] = unit.at;
    if (!map.view) {
      map.view = window.mapsvcUnits.map = L.map("units-map", { attributionControl: false });
      map.grids = L.geoJSON(null, {
        style: { color: "#1565c0", weight: 1, fillOpacity: 0.04 },
        onEachFeature: (f, drawn) => drawn.bindTooltip(text("span", f.properties.name)),
      }).addTo(map.view);
      map.pin = L.marker([lat, lon], { draggable: true }).addTo(map.view)
        .on("dragend", () => landing(map.pin.getLatLng()));
      map.view.on("click", (event) => landing(event.latlng));
    }
    moved = null;
    $("units-point").textContent = `${unit.grid_name || "未落入网格"}：拖动标记或点击地图可移动位置`;
    map.view.invalidateSize();
    map.pin.setLatLng([lat, lon]);
    map.view.setView([lat, lon], 17);
    const near = 0.01;
    const bbox = [lon - near, lat - near, lon + near, lat + near].join(",");
    callApi("units", "GET", `/api/v1/grids?bbox=${bbox}&limit=1000`).then((grids) => {
      map.grids.clearLayers();
      map.grids.addData(grids);
      window.mapsvcUnits.grids = grids.features.length;
    }).catch((error) => say(error.message, true));
  }

  // moved to ``latlng``: told the grid it would land in
  async function landing(latlng) {
    map.pin.setLatLng(latlng);
    const point = { lon: +latlng.lng.toFixed(7), lat: +latlng.lat.toFixed(7) };
    moved = point;
    const shown = `移至 ${point.lon.toFixed(6)}, ${point.lat.toFixed(6)}`;
    $("units-point").textContent = `${shown} · 查询所在网格…`;
    try {
      const at = await callApi("units", "GET", `/api/v1/locate?${new URLSearchParams(point)}`);
      if (moved !== point) return;  // moved again meanwhile
      $("units-point").textContent = `${shown} · ${at.grid ? at.grid.name : "不在任何网格内"}`;
    } catch (error) {
      say(error.message, true);
    }
  }

  $("units-correct").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target.elements;
    const kind = layer === "organisations" ? form.organisation_kind.value
      : form.place_kind.value.trim();
    const body = { name: form.name.value.trim(), kind, ...(moved ? { point: moved } : {}) };
    if (await list.change("PATCH", `/api/v1/registry/${layer}/${asking.id}`, body,
                          `已更正 ${asking.id} 号，已记入变更记录`)) {
      closeAsked();
    }
  });

  // how one was recorded and changed, oldest first, each as it was after
  async function showChanges(unit) {
    closeAsked();
    let changes;
    try {
      changes = await callApi("units", "GET", `/api/v1/registry/${layer}/${unit.id}/changes`);
    } catch (error) {
      say(error.message, true);
      return;
    }
    $("units-changes-title").textContent = `${unit.name} 的变更记录`;
    $("units-changes").querySelector("tbody").replaceChildren(...changes.map((c) => {
      const tr = document.createElement("tr");
      const was = c.before || {};
      const told = (key, shown = (v) => v) => (c.before && was[key] !== c.after[key]
        ? `${shown(was[key])} → ${shown(c.after[key])}` : shown(c.after[key]));
      const act = c.before && (was.closed_on || null) !== (c.after.closed_on || null)
        ? (c.after.closed_on ? "注销" : "恢复")
        : (c.file && c.before ? "文件更新" : ACTION[c.action] || c.action);
      for (const value of [localTime(c.at), c.username, c.file ? `${act}（${c.file}）` : act,
                           told("name"), told("kind", (k) => kindName(layer, k)),
                           told("code", (v) => v || "—"), told("grid"),
                           c.before && (was.lon !== c.after.lon || was.lat !== c.after.lat)
                             ? "已移动" : ""]) {
        tr.appendChild(text("td", value));
      }
      return tr;
    }));
    $("units-changes").hidden = false;
    window.mapsvcUnits.changes = changes.length;
    say(changes.length ? "" : "此条由文件导入，尚无变更");
  }

  areaPicker($("units-area"), $("units-find").dataset, { page: "units", chosen: (select) => {
    finding.region.value = areaRegion($("units-area"));
    finding.grid.value = select.dataset.level === "grid" ? select.value : "";
  } });

  $("units-find").addEventListener("submit", (event) => {
    event.preventDefault();
    layer = finding.layer.value;
    $("units-changes").hidden = true;
    const query = new URLSearchParams();
    const kind = layer === "organisations" ? finding.organisation_kind.value
      : finding.place_kind.value.trim();
    for (const [key, value] of [["region", finding.region.value], ["grid", finding.grid.value],
                                ["q", finding.q.value.trim()], ["kind", kind],
                                ["closed", finding.closed.value === "true" ? "true" : ""]]) {
      if (value) query.set(key, value);
    }
    $("units-ledger").href = `/api/v1/registry/${layer}.csv?${query}`;  // all those found
    list.find(query);
  });

  list.find(new URLSearchParams());
}());
