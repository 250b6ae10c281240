// The command centre's wall screen: vector tile layers, heat, backlog, coverage, the live
// list of cases and the region's panel. Text that users typed is only ever set as text.
"use strict";

const COLOUR = { green: "#2e7d32", yellow: "#f9a825", red: "#c62828" };
// the regions a region's map drills into (the deployment's: its top regions, its cities and
// its counties of no city)
const CHILD = { city: "county", county: "township", township: "village", village: null,
                grid: null };
const LEVEL_NAME = { city: "地级市", county: "区县", township: "乡镇（街道）", village: "村（社区）",
                     grid: "网格" };
const LIST_MAX = 50;
// Patrols ended this long before the feed was found lost are asked for once it is back: a
// connection may die a little before the browser notices.
const LOST_MARGIN_MS = 60000;

function mapsvcWall(map, config) {
  // Cases shown: the open ones unless chosen otherwise (a wall watches the backlog, and their
  // tiles then cost the open cases, not every case ever reported).
  const state = {
    map, region: config.region, stack: [], source: null, followed: null, lastId: null,
    drawn: {}, steps: 0,
    listedPatrols: new Set(),  // the patrols listed since the place followed was chosen
    lostAt: null,  // when the feed was found lost, by the service's clock (ms)
    heatWindow: "7d", heatCategory: "", visitDays: 30, backlog: "open", incidentStatus: "open",
    clockOffset: 0,  // the service's clock less the screen's, in milliseconds
    waitingSince: null,  // when the report waiting longest to be taken in came (ms)
    // the tour: every ``seconds`` (none: no tour) the next of ``stops`` (the wall's own
    // region's parts), ``at`` the one shown (0: the whole region)
    tour: { seconds: 0, stops: [], at: 0, timer: null },
  };
  window.mapsvcWall = state;  // what the page shows, for whoever looks on (tests, kiosks)
  const categoryName = Object.fromEntries(config.categories.map((c) => [c.code, c.name]));
  const $ = (id) => document.getElementById(id);

  function text(tag, value, className) {
    const el = document.createElement(tag);
    el.textContent = value == null ? "" : String(value);
    if (className) el.className = className;
    return el;
  }

  // ---- vector tile layers ----
  function tileUrl(collection, params) {
    const query = new URLSearchParams(params || {}).toString();
    return config.tiles.replace("{collection}", collection) + (query ? "?" + query : "");
  }

  function counted(layer, style) {
    return (properties, zoom) => {
      state.drawn[layer] = (state.drawn[layer] || 0) + 1;
      return style(properties, zoom);
    };
  }

  // Tiles drawn 512 pixels wide from the tile one zoom level up: a quarter of the requests,
  // which a 4K screen needs; and none outside the zooms a collection has data for.
  const Protobuf512 = L.VectorGrid.Protobuf.extend({
    _getVectorTilePromise(coords) {
      const up = L.point(coords.x, coords.y);
      up.z = coords.z - 1;
      return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, up);
    },
  });

  function vectorLayer(collection, style, params, options) {
    const layer = new Protobuf512(tileUrl(collection, params), Object.assign({
      rendererFactory: L.canvas.tile, tileSize: 512,
      minZoom: config.minzoom[collection] + 1,
      vectorTileLayerStyles: { [collection]: counted(collection, style) },
      maxNativeZoom: 22, maxZoom: 23, interactive: false,
      fetchOptions: { credentials: "same-origin" },
    }, options || {}));
    layer.on("tileerror", () => { state.tileErrors = (state.tileErrors || 0) + 1; });
    return layer;
  }

  const outline = (colour, weight) => () => ({ color: colour, weight, fill: false });
  function ramp(n, stops) {
    for (const [limit, colour] of stops) if (n <= limit) return colour;
    return stops[stops.length - 1][1];
  }
  const BACKLOG = [[0, "#2e7d32"], [2, "#fdd835"], [5, "#fb8c00"], [10, "#e53935"], [1e9, "#b71c1c"]];
  const HEAT = [[1, "#fff3e0"], [3, "#ffcc80"], [10, "#ff9800"], [30, "#e65100"], [1e9, "#7f0000"]];

  const NO_WORKER = "#ab47bc";
  const UNVISITED = "#42a5f5";
  const UNPATROLLED = "#26c6da";
  const UNVISITED_UNPATROLLED = "#3949ab";
  const PATROL = "#76ff03";
  const NO_CLOCK = "#1976d2";
  const URGENT = "#ff1744";  // the ring of an open urgent case (加急)
  const HOTSPOT = "#d500f9";
  const CLASSES_SHOWN = 5;  // the panel's main classes most reported
  const HOTSPOTS = "高发点位";
  const ORGANISATIONS = "实有单位";  // enterprises, social organisations, schools …, each a dot
  const ORGANISATION = "#ffb300";

  // grids coloured by their open or overdue cases (state.backlog), read as each tile is drawn
  const grids = () => vectorLayer("grids", (p) => ({
    color: "#b0bec5", weight: 0.6, fill: true, fillOpacity: p.open == null ? 0 : 0.45,
    fillColor: ramp(p[state.backlog] || 0, BACKLOG),
  }), { visit_days: state.visitDays });
  // Grids wanting cover: with no worker; staffed, but over half their households not visited,
  // or not patrolled, within the days chosen (of the account's grids alone: others, whose
  // figures the tiles do not give, are not the centre's to cover)
  const COVERAGE = [["noWorker", NO_WORKER], ["both", UNVISITED_UNPATROLLED],
                    ["unvisited", UNVISITED], ["unpatrolled", UNPATROLLED]];
  const COVER_COLOUR = Object.fromEntries(COVERAGE);
  function wantingCover(p) {
    if (p.open == null) return null;
    if (!p.workers) return "noWorker";
    const unvisited = p.households > 0 && 2 * (p.visited || 0) < p.households;
    const unpatrolled = p.patrol_days == null || p.patrol_days >= state.visitDays;
    return unvisited && unpatrolled ? "both" : unvisited ? "unvisited"
      : unpatrolled ? "unpatrolled" : null;
  }
  const coverage = () => vectorLayer("grids", (p) => {
    const want = wantingCover(p);
    return { color: want === "noWorker" ? "#6a1b9a" : "#1565c0", weight: want ? 2 : 0,
             fill: Boolean(want), fillOpacity: 0.35, fillColor: COVER_COLOUR[want] };
  }, { visit_days: state.visitDays });
  const heatParams = () => {
    const params = {};
    if (state.heatWindow === "custom") {
      // whole local days: from the first's midnight to the midnight after the last
      if ($("heat-since").value) params.since = chinaMidnights($("heat-since").value)[0];
      if ($("heat-until").value) params.until = chinaMidnights($("heat-until").value)[1];
    } else params.window = state.heatWindow;
    if (state.heatCategory) params.category = state.heatCategory;
    return params;
  };
  const heat = () => vectorLayer("heat", (p) => ({
    stroke: false, fill: true, fillOpacity: 0.7, fillColor: ramp(p.count, HEAT),
  }), heatParams());
  const incidents = () => vectorLayer("incidents", (p) => (p.count != null
    ? { stroke: false, fill: true, fillOpacity: 0.6, fillColor: ramp(p.open || 0, HEAT) }
    : { radius: p.urgent ? 8 : 5, weight: p.urgent ? 3 : 1, color: p.urgent ? URGENT : "#fff",
        fill: true, fillOpacity: 0.9,
        fillColor: COLOUR[p.colour] || (p.status in STATUS ? NO_CLOCK : "#555") }),
  state.incidentStatus ? { status: state.incidentStatus } : {});
  // today's patrols (since midnight, China Standard Time) through the account's grids
  state.patrolIds = new Set();  // the tracks drawn so far
  const patrols = () => vectorLayer("patrols", (p) => {
    state.patrolIds.add(p.id);
    return { color: PATROL, weight: 3, opacity: 0.9 };
  }, { window: "today" });

  // A campaign's grids (专项排查), filled by the share of their things checked, ringed where a
  // hazard stands (state.campaign: grid code → its progress); no fill for the other grids
  const CAMPAIGN = [["未开始", "#e53935"], ["不足一半", "#fb8c00"], ["过半", "#fdd835"],
                    ["已完成", "#43a047"]];
  const HAZARD = "#d500f9";
  state.campaign = new Map();
  const campaignStage = (g) => (g.checked === 0 ? 0 : g.checked >= g.targets ? 3
    : 2 * g.checked < g.targets ? 1 : 2);
  const campaign = () => vectorLayer("grids", (p) => {
    const g = state.campaign.get(p.code);
    return g ? { color: g.hazards ? HAZARD : "#37474f", weight: g.hazards ? 3 : 0.8, fill: true,
                 fillOpacity: 0.5, fillColor: CAMPAIGN[campaignStage(g)][1] }
      : { stroke: false, fill: false };
  });

  // the layers that show cases, visits and patrols, by their names in the layer control
  const DATA = { grids: "网格积压", heat: "热力", incidents: "事件",
                 coverage: "覆盖（无网格员、走访不足、未巡查）", patrols: "今日巡查轨迹",
                 campaign: "专项排查进度" };
  const layers = {
    ...(config.region.child === "city" || state.region.kind === "city"
      ? { "地级市界": vectorLayer("cities", outline("#ffffff", 4)) } : {}),
    "区县界": vectorLayer("counties", outline("#e3f2fd", 3)),
    "乡镇（街道）界": vectorLayer("townships", outline("#90caf9", 2)),
    "村（社区）界": vectorLayer("villages", outline("#64b5f6", 1)),
    [DATA.grids]: grids(),
    [DATA.heat]: heat(),
    [DATA.incidents]: incidents(),
    [DATA.coverage]: coverage(),
    [DATA.patrols]: patrols(),
    [DATA.campaign]: campaign(),
    "服务站与重点场所": vectorLayer("places", () => ({
      radius: 6, color: "#004d40", weight: 1, fill: true, fillColor: "#26a69a", fillOpacity: 1,
    })),
    [ORGANISATIONS]: vectorLayer("organisations", () => ({
      radius: 5, color: "#4e342e", weight: 1, fill: true, fillColor: ORGANISATION, fillOpacity: 1,
    })),
  };
  const reach = L.layerGroup();
  layers["服务站500米覆盖"] = reach;
  const hotspots = L.layerGroup();  // places where cases of a class keep coming, each a circle
  const hotspotMarks = L.svg();  // drawn as elements, for the keyboard to reach (the map: canvas)
  layers[HOTSPOTS] = hotspots;
  for (const name of ["地级市界", "区县界", "乡镇（街道）界", "村（社区）界", DATA.grids,
                      DATA.incidents]) {
    if (layers[name]) layers[name].addTo(map);
  }
  const control = L.control.layers(null, layers, { collapsed: false });
  control.addTo(map);
  $("wall-layers").append(control.getContainer());  // in the right column, off the map
  // the scale heads the controls at the foot of the map
  $("wall-controls").prepend(map.getContainer().querySelector(".leaflet-control-scale"));

  function replace(name, make) {
    const old = layers[name];
    const shown = map.hasLayer(old);
    control.removeLayer(old);
    if (shown) map.removeLayer(old);
    layers[name] = make();
    control.addOverlay(layers[name], name);
    if (shown) layers[name].addTo(map);
  }

  // ---- the legend: what the colours of the layers on the map mean ----
  function rampLabels(stops) {
    return stops.map(([limit, colour], i) => {
      const from = i === 0 ? null : stops[i - 1][0] + 1;
      const label = i === stops.length - 1 ? `>${stops[i - 1][0]}`
        : from === null ? (limit > 0 ? `≤${limit}` : "0")
        : from === limit ? String(limit) : `${from}–${limit}`;
      return [label, colour];
    });
  }

  function legendSection(title, entries) {
    const section = document.createElement("section");
    section.appendChild(text("h2", title));
    const list = document.createElement("ul");
    for (const [label, colour] of entries) {
      const item = text("li", "");
      const swatch = document.createElement("i");
      swatch.style.background = colour;
      item.append(swatch, label);
      list.appendChild(item);
    }
    section.appendChild(list);
    return section;
  }

  function legend() {
    const shown = (name) => map.hasLayer(layers[name]);
    const sections = [];
    if (shown(DATA.grids)) {
      sections.push(legendSection(state.backlog === "overdue" ? "网格超期件数" : "网格在办件数",
                                  rampLabels(BACKLOG)));
    }
    if (shown(DATA.heat)) sections.push(legendSection("热力：每格事件数", rampLabels(HEAT)));
    if (shown(DATA.incidents)) {
      const which = state.incidentStatus
        ? `（${$("incident-status").selectedOptions[0].text}）` : "";
      // tiles are drawn from one zoom level up (Protobuf512)
      sections.push(map.getZoom() - 1 >= config.pointZoom
        ? legendSection(`事件${which}预警`, [["红灯（超期）", COLOUR.red], ["黄灯", COLOUR.yellow],
                                     ["绿灯", COLOUR.green], ["未计时", NO_CLOCK],
                                     ["加急（外圈）", URGENT]])
        : legendSection(`事件${which}：每格在办件数`, rampLabels(HEAT)));
    }
    if (shown(DATA.coverage)) {
      const days = state.visitDays;
      const label = { noWorker: "无网格员", both: `走访不足且${days}天未巡查`,
                      unvisited: `过半住户${days}天未走访`, unpatrolled: `${days}天未巡查` };
      sections.push(legendSection("覆盖", COVERAGE.map(([want, colour]) => [label[want], colour])));
    }
    if (shown(DATA.patrols)) sections.push(legendSection("巡查", [["今日巡查轨迹", PATROL]]));
    if (shown(DATA.campaign)) {
      const chosen = $("wall-campaign").selectedOptions[0];
      sections.push(legendSection(`专项排查${chosen.value ? `：${chosen.text}` : ""}`,
                                  [...CAMPAIGN, ["存在隐患（粗框）", HAZARD]]));
    }
    if (shown(HOTSPOTS)) {
      const { radiusM, least } = config.hotspots;
      sections.push(legendSection("高发点位", [[
        `同类事件 ${radiusM} 米内 ${least} 件以上（圈中为件数）`, HOTSPOT]]));
    }
    $("wall-legend").replaceChildren(...sections);
    state.legend = sections.map((section) => Array.from(section.querySelectorAll("h2, li"),
                                                        (e) => e.textContent));
  }
  map.on("overlayadd overlayremove zoomend", legend);

  // ---- controls: the grids' backlog, the cases shown, heat, coverage ----
  for (const c of config.categories.filter((k) => !k.parent_code)) {  // heat: by class
    const option = text("option", c.name);
    option.value = c.code;
    $("heat-category").appendChild(option);
  }
  $("heat-window").addEventListener("change", (e) => {
    state.heatWindow = e.target.value;
    $("heat-custom").hidden = state.heatWindow !== "custom";
    replace(DATA.heat, heat);
    loadHotspots();
  });
  for (const id of ["heat-since", "heat-until"]) {
    $(id).addEventListener("change", () => {
      replace(DATA.heat, heat);
      loadHotspots();
    });
  }
  $("heat-category").addEventListener("change", (e) => {
    state.heatCategory = e.target.value;
    replace(DATA.heat, heat);
    loadHotspots();
    for (const li of $("kpi-classes").children) markChosen(li);
  });
  // a main class of the panel's as the heat's class chosen or not, drawn and said so
  function markChosen(li) {
    const chosen = li.dataset.code === state.heatCategory;
    li.classList.toggle("chosen", chosen);
    li.firstChild.setAttribute("aria-pressed", chosen);
  }
  // the heat of one main class (or, with "", of all), shown
  function heatOf(code) {
    const select = $("heat-category");
    select.value = code;
    select.dispatchEvent(new Event("change"));
    if (!map.hasLayer(layers[DATA.heat])) layers[DATA.heat].addTo(map);
  }
  $("visit-days").addEventListener("change", (e) => {
    state.visitDays = Number(e.target.value);
    replace(DATA.coverage, coverage);
    legend();
    loadPanel();
  });
  $("incident-status").addEventListener("change", (e) => {
    state.incidentStatus = e.target.value;
    replace(DATA.incidents, incidents);
    legend();
  });
  $("backlog-by").addEventListener("change", (e) => {
    state.backlog = e.target.value;
    layers[DATA.grids].redraw();
    legend();
  });

  // ---- a campaign's progress (专项排查): those going on offered, the one chosen drawn ----
  async function loadCampaigns() {
    const r = await fetch(`${config.api}/campaigns?limit=50`, { credentials: "same-origin" })
      .catch(() => null);  // offline: the feed says so, and the next call tries again
    if (!r || !r.ok) return;
    const select = $("wall-campaign");
    const chosen = select.value;
    select.replaceChildren(select.options[0], ...(await r.json()).map((c) => {
      const option = text("option", `${c.title}（${c.region_name}，`
                                    + `${c.ended_at ? "已结束" : `截止 ${c.due}`}）`);
      option.value = c.id;
      return option;
    }));
    select.value = chosen;
  }
  // the campaign chosen as it now stands; ``chosen``: just chosen, its layer shown
  async function loadCampaign(chosen) {
    const id = $("wall-campaign").value;
    if (!id) {
      state.campaign = new Map();
      map.removeLayer(layers[DATA.campaign]);
      legend();
      return;
    }
    const r = await fetch(`${config.api}/campaigns/${id}/grids`, { credentials: "same-origin" })
      .catch(() => null);
    if (!r || !r.ok) return;
    state.campaign = new Map((await r.json()).map((g) => [g.code, g]));
    if (map.hasLayer(layers[DATA.campaign])) layers[DATA.campaign].redraw();
    else if (chosen) layers[DATA.campaign].addTo(map);
    legend();
  }
  $("wall-campaign").addEventListener("change", () => loadCampaign(true));
  loadCampaigns();

  // ---- service stations' reach ----
  async function loadReach() {
    reach.clearLayers();
    const params = new URLSearchParams({ limit: "1000" });
    if (state.region.code) params.set("region", state.region.code);
    const r = await fetch(`${config.api}/registry/places?${params}`, { credentials: "same-origin" });
    if (!r.ok) return;
    for (const f of (await r.json()).features) {
      if (f.properties.kind !== "service_station") continue;
      const [lon, lat] = f.geometry.coordinates;
      L.circle([lat, lon], { radius: 500, color: "#00897b", weight: 1, fillOpacity: 0.08 })
        .bindTooltip(text("span", f.properties.name)).addTo(reach);
    }
  }

  // ---- hot spots (高发点位): of the region in view, the heat's days and class ----
  async function loadHotspots() {
    if (!map.hasLayer(hotspots)) return;
    const region = state.region;
    const heated = heatParams();  // the heat's names for the list's: since from, until to
    const params = new URLSearchParams({ limit: "200" });
    for (const [mine, theirs] of [["window", "window"], ["since", "from"], ["until", "to"],
                                  ["category", "category"]]) {
      if (heated[mine]) params.set(theirs, heated[mine]);
    }
    if (region.kind !== "deployment") params.set(region.kind, region.code);
    let r;
    try {
      r = await fetch(`${config.api}/incidents/hotspots?${params}`,
                      { credentials: "same-origin" });
    } catch {
      return;  // offline: asked again with the next redraw
    }
    if (!r.ok || state.region !== region) return;  // not if another region was chosen meanwhile
    const found = (await r.json()).features;
    const focused = document.activeElement.dataset.hotspot;  // kept on it as they are redrawn
    hotspots.clearLayers();
    for (const f of found) {
      const p = f.properties;
      const [lon, lat] = f.geometry.coordinates;
      const mark = L.circleMarker([lat, lon], { radius: 10 + 2 * Math.sqrt(p.cases),
                                                color: "#fff", weight: 2, fillColor: HOTSPOT,
                                                fillOpacity: 0.8, bubblingMouseEvents: false,
                                                className: "hotspot",
                                                renderer: hotspotMarks })
        .bindTooltip(String(p.cases), { permanent: true, direction: "center",
                                        className: "hotspot-count" })
        .on("click", () => openHotspot(f)).addTo(hotspots);
      // reached from the keyboard too (Tab, in the map), and opened by Enter or Space
      const path = mark.getElement();
      path.dataset.hotspot = `${p.category} ${lon} ${lat}`;
      path.setAttribute("tabindex", "0");
      path.setAttribute("role", "button");
      path.setAttribute("aria-label", `高发点位 · ${categoryName[p.category] || p.category} · `
                                      + `${p.cases} 件`);
      path.addEventListener("focus", () => {
        if (!map.getBounds().contains([lat, lon])) map.panTo([lat, lon]);
      });
      path.addEventListener("keydown", (e) => {
        if (e.key !== "Enter" && e.key !== " ") return;
        e.preventDefault();
        openHotspot(f, path);
      });
      if (path.dataset.hotspot === focused) path.focus({ preventScroll: true });
    }
    state.hotspots = found;
  }

  // where a case (or a hot spot) is, from below the wall's own region: its township and grid
  const where = (p) => [casePlace(p, config.region.kind, "township"),
                        p.grid ? p.grid.name : "未入格"].filter(Boolean).join(" ");

  // A hot spot: its class, how many cases and how many open, over what days and how far, its
  // township and grid, and its newest cases, each leading to the desk.
  function openHotspot(f, opener) {
    const p = f.properties;
    const [lon, lat] = f.geometry.coordinates;
    const box = text("div", "", "wall-hotspot");
    const cases = text("p", "", "cases");
    for (const id of p.ids) cases.append(deskLink(`#${id}`, `case=${id}`), " ");
    box.append(text("h3", `高发点位 · ${categoryName[p.category] || p.category}`),
               text("p", `${p.cases} 件（在办 ${p.open} 件），相距中心 ${p.radius_m} 米内`),
               text("p", `${localTime(p.first_reported_at)} 至 ${localTime(p.last_reported_at)}`),
               text("p", where(p)), cases);
    popUp([lat, lon], box, opener);
  }

  // ``box`` in a popup at ``at``; opened from the keyboard (by ``opener``), the focus goes into
  // it and, once it is closed (Escape), back to what opened it (a hot spot: as drawn anew since)
  function popUp(at, box, opener) {
    const popup = L.popup({ maxWidth: 600, autoPan: false }).setLatLng(at).setContent(box)
      .openOn(map);
    if (!opener) return;
    box.tabIndex = -1;
    box.focus({ preventScroll: true });  // the map's panes do not scroll
    box.addEventListener("keydown", (e) => e.key === "Escape" && map.closePopup(popup));
    popup.once("remove", () => {  // (its box is taken off the page a moment later)
      const focused = document.activeElement;
      if (focused !== document.body && !box.contains(focused)) return;
      const { hotspot } = opener.dataset;
      const back = opener.isConnected || !hotspot ? opener
        : document.querySelector(`[data-hotspot="${hotspot}"]`);
      if (back) back.focus({ preventScroll: true });
    });
  }
  map.on("overlayadd", (e) => e.layer === hotspots && loadHotspots());

  // ---- the region's panel and drill-down ----
  function regionQuery() {
    const params = new URLSearchParams({ visit_days: state.visitDays });
    if (state.region.kind !== "deployment") {
      params.set("level", state.region.kind);
      params.set("code", state.region.code);
    }
    return params;
  }

  function percent(v) { return v == null ? "—" : (v * 100).toFixed(1) + "%"; }

  // A page left on the wall outlives its session (a work shift): when it ends, the sign-in
  // page, rather than a map that has stopped changing.
  const SIGN_IN = "/map/login?next=/map/wall";

  async function loadPanel() {
    const region = state.region;
    let r;
    try {
      r = await fetch(`${config.api}/stats/board?${regionQuery()}`, { credentials: "same-origin" });
    } catch {
      return;  // offline: the feed says so, and the next call tries again
    }
    if (r.status === 401) {
      location.assign(SIGN_IN);
      return;
    }
    if (!r.ok) return;
    const served = Date.parse(r.headers.get("Date"));  // the service's clock, to the second
    if (served) {
      state.clockOffset = served - Date.now();
      tick();
    }
    const b = await r.json();
    if (state.region !== region) return;  // another region was chosen meanwhile
    $("wall-region-name").textContent = b.name;
    for (const key of ["reported_today", "closed_today", "open", "overdue", "waiting",
                       "urgent"]) {
      $("kpi-" + key).textContent = b[key];
    }
    // the figures that count cases open them on the desk, those of the region shown
    for (const link of document.querySelectorAll("#wall-kpi a.to-desk")) {
      const asked = new URLSearchParams({ view: link.dataset.view });
      if (b.kind !== "deployment") {
        asked.set(b.kind, b.code);
        asked.set("name", b.name);
      }
      link.href = `/map/desk#${asked}`;
    }
    state.waitingSince = b.waiting_since && Date.parse(b.waiting_since);
    showWaited();
    $("kpi-on_time_closure_rate").textContent = percent(b.year.on_time_closure_rate);
    $("kpi-satisfaction").textContent = b.year.satisfaction == null ? "—" : b.year.satisfaction;
    // of this year's filed cases, those the public (citizens, the 12345 hotline) found first
    $("kpi-public").textContent = `本年监督举报率 ${percent(b.year.public_report_rate)}`
      + `（公众举报立案 ${b.year.public_filed} / 立案 ${b.year.filed}）`;
    // this year's callers contacted in time, what they answered the follow-ups, and those who
    // called again (接诉即办: 响应率, 满意率, 解决率, 催办率)
    const y = b.year;
    $("kpi-answers").replaceChildren(
      text("p", `本年响应率 ${percent(y.response_rate)}（按时联系 ${y.responded} / 应联系 `
                + `${y.response_due}）`),
      text("p", `满意率 ${percent(y.satisfied_rate)}（满意 ${y.satisfied} / 评价 ${y.rated}）`),
      text("p", `解决率 ${percent(y.resolved_rate)}（已解决 ${y.resolved} / 问及 `
                + `${y.resolution_asked}）`),
      text("p", `催办率 ${percent(y.urged_rate)}（催办 ${y.urged} / 派遣 ${y.public_dispatched}）`));
    // the same days by day, and the year's rates by month, on the evaluation (考核评价) of the
    // region shown
    const evaluated = (from, by) => {
      const asked = new URLSearchParams({ from, to: b.trend.at(-1).day, by });
      if (b.kind !== "deployment") {
        asked.set("level", b.kind);
        asked.set("code", b.code);
      }
      return `/map/stats#${asked}`;
    };
    $("kpi-trend-link").href = evaluated(b.trend[0].day, "day");
    for (const link of document.querySelectorAll("#wall-kpi a.to-stats")) {
      link.href = evaluated(`${b.trend.at(-1).day.slice(0, 4)}-01-01`, "month");
    }
    const svg = $("kpi-trend");
    svg.replaceChildren();
    const max = Math.max(1, ...b.trend.map((t) => t.reported));
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", b.trend.map((t, i) =>
      `${(i * 140) / (b.trend.length - 1)},${30 - (t.reported / max) * 28 - 1}`).join(" "));
    svg.appendChild(line);
    // the main classes most reported over the same days, each with a bar to the most's length;
    // one pressed is the heat's class (shown), and pressed again, all classes are
    const most = Math.max(1, ...b.classes.map((c) => c.reported));
    $("kpi-classes").replaceChildren(...b.classes.slice(0, CLASSES_SHOWN).map((c) => {
      const li = document.createElement("li");
      li.dataset.code = c.code;
      const button = text("button", "");
      Object.assign(button, { type: "button", title: "热力只看此类" });
      const bar = document.createElement("i");
      bar.style.width = `${(100 * c.reported) / most}%`;
      button.append(text("span", c.name), bar, text("b", c.reported));
      button.addEventListener("click", () => heatOf(state.heatCategory === c.code ? "" : c.code));
      li.appendChild(button);
      markChosen(li);
      return li;
    }));
    const patrolled = $("kpi-patrols");  // a region's grids patrolled lately
    patrolled.hidden = !b.patrols;
    if (b.patrols) {
      const p = b.patrols;
      patrolled.textContent = `${p.days}天内巡查网格 ${p.patrolled} / ${p.grids}`
        + (p.grids ? `（${percent(p.patrolled / p.grids)}）` : "");
    }
    const micro = $("kpi-micro");  // a region's grids divided into micro-grids, if any are
    const m = b.micro_grids;
    micro.hidden = !(m && m.micro_grids);
    if (m && m.micro_grids) {
      micro.textContent = `已划分微网格的网格 ${m.divided} / ${m.grids}`
        + `（${percent(m.divided / m.grids)}），微网格 ${m.micro_grids} 个，`
        + `其中有联户长的 ${m.led} 个`;
    }
    const grid = $("kpi-grid");  // a grid's workers, visits, patrols and micro-grids
    grid.hidden = !b.grid;
    if (b.grid) {
      const patrol = b.grid.last_patrol;
      grid.replaceChildren(
        text("p", `网格员：${b.grid.workers || "无"}`),
        text("p", `住户 ${b.grid.households}，${b.grid.visit_days}天内走访 ${b.grid.visited}`),
        text("p", patrol ? `最近巡查：${localTime(patrol.ended_at)} · ${patrol.worker}`
          : "尚无巡查记录"),
        text("p", b.grid.micro_grids ? `微网格 ${b.grid.micro_grids} 个，有联户长 ${b.grid.led} 个`
          : "未划分微网格"));
    }
    state.panel = b;
  }

  // a region's (or a grid's) name written on the map, to be read from across the room
  const nameOnMap = (layer, name) => layer.bindTooltip(text("span", name), {
    permanent: true, direction: "center", className: "region-label" });

  let children = null;
  const childNamesApart = namesApart(map, () => (children ? children.getLayers() : [])
    .map((layer) => [layer, layer.getTooltip() && layer.getTooltip().getElement()]));
  async function loadChildren() {
    if (children) map.removeLayer(children);
    children = null;
    state.children = null;  // the level of the regions a click drills into, once they are drawn
    const region = state.region;
    below = [];  // (the choice stays in place till they come, and the keyboard on it)
    if (region.kind === "village") return listGrids(region);
    const level = region.kind === "deployment" ? config.region.child : CHILD[region.kind];
    if (!level) return listBelow(region, []);
    const params = regionsWithin(region.code, level);
    const r = await fetch(`${config.api}/regions?${params}`, { credentials: "same-origin" });
    if (!r.ok) return;
    const found = await r.json();
    if (state.region !== region) return;  // another region chosen meanwhile: its own drawn
    children = L.geoJSON(found, {
      style: { color: "#0d47a1", weight: 1, fillOpacity: 0.02 },
      onEachFeature: (f, layer) => {
        nameOnMap(placed(layer, f), f.properties.name);
        layer.on("click", async (e) => {
          L.DomEvent.stopPropagation(e);  // the map's own click is for the grid below a village
          if (await nameTrackAt(e.latlng)) return;  // a click on a track names it
          drill(target(f.properties, layer.getBounds()));
        });
      },
    }).addTo(map);
    childNamesApart();
    state.children = level;
    listBelow(region, children.getLayers()
      .map((layer) => target(layer.feature.properties, layer.getBounds())));
  }

  // where a region (or, of ``kind`` grid, a grid) drills to, as drill takes it
  const target = (p, bounds, kind = p.level) => ({ kind, code: p.code, name: p.name, bounds });

  // What a click on the map drills into (a region's children; a village's grids), chosen by
  // name too: from the keyboard, or a village found by its name on a city's wall.
  let below = [];
  function listBelow(region, targets) {
    if (state.region !== region) return;  // another region chosen meanwhile
    below = targets;
    if (state.stack.length === 0) state.tour.stops = targets;  // the wall's own region's
    const kinds = new Set(targets.map((t) => t.kind));  // (a deployment's: cities, counties)
    const named = kinds.size === 1 ? LEVEL_NAME[[...kinds][0]] : "下级区域";
    $("wall-down").replaceChildren(new Option(`选择${named}`, ""),
                                   ...targets.map((t) => new Option(t.name, t.code)));
    $("wall-down").hidden = targets.length === 0;
  }
  // A village's grids, named on the map as the regions above it are (the village's name they
  // begin with left out: 第1网格), a click among them going to the map (the grid below it).
  async function listGrids(region) {
    const params = new URLSearchParams({ parent: region.code, limit: 1000 });
    const r = await fetch(`${config.api}/grids?${params}`, { credentials: "same-origin" });
    if (!r.ok) return;
    const found = await r.json();
    if (state.region !== region) return;  // another region chosen meanwhile
    children = L.geoJSON(found, {
      interactive: false, style: { stroke: false, fill: false },
      onEachFeature: (f, layer) => {
        const { name } = f.properties;
        nameOnMap(layer, name.startsWith(region.name) && name !== region.name
          ? name.slice(region.name.length) : name);
      },
    }).addTo(map);
    childNamesApart();
    listBelow(region, found.features.map((f) => ({
      ...target(f.properties, L.geoJSON(f).getBounds(), "grid"), feature: f })));
  }
  $("wall-down").addEventListener("change", (e) => {
    const chosen = below.find((t) => t.code === e.target.value);
    if (chosen) drill(chosen);
  });

  // The tour (轮播), for a wall nobody stands at: every so many seconds the next of the
  // wall's own region's parts (its townships, villages or grids), then the whole region again,
  // and so on; chosen under the panel, or by the page's address (/map/wall?tour=60, a
  // kiosk's). Someone at the wall (a click, a key) holds it for TOUR_HELD_MS, at least, before
  // it goes on.
  const TOUR_HELD_MS = 120000;
  const { tour } = state;
  function tourNext(delay) {
    clearTimeout(tour.timer);
    if (tour.seconds) tour.timer = setTimeout(tourStep, delay ?? tour.seconds * 1000);
  }
  function tourStep() {
    tour.at = tour.stops.length ? (tour.at + 1) % (tour.stops.length + 1) : 0;
    const root = state.stack[0];
    const stop = tour.stops[tour.at - 1];
    if (root) state.stack = stop ? [root] : [];  // the way up, to the whole region alone
    if (!stop) {
      if (root) upTo(root);
    } else if (root) {
      enter(stop);
    } else {
      drill(stop);
    }
    tourNext();
  }
  function setTour(seconds) {
    tour.seconds = seconds;
    const choice = $("wall-tour");
    if (seconds && ![...choice.options].some((o) => o.value === String(seconds))) {
      choice.add(new Option(`每${seconds}秒轮播`, String(seconds)));  // as the address asked
    }
    choice.value = String(seconds || "");
    tourNext();
  }
  $("wall-tour").addEventListener("change", (e) => setTour(Number(e.target.value) || 0));
  const toured = Number(new URLSearchParams(location.search).get("tour"));
  if (Number.isInteger(toured) && toured >= 2 && toured <= 3600) setTour(toured);
  for (const held of ["pointerdown", "keydown"]) {
    document.addEventListener(held, (e) => {
      if (e.target.id !== "wall-tour") tourNext(Math.max(TOUR_HELD_MS, tour.seconds * 1000));
    }, true);
  }

  // Outside the region shown the map is dimmed: its neighbours there for the eye to find its
  // place by, the region itself what is read. A region's outline is asked for once; a grid's
  // comes with its outline (showOutline).
  const WORLD = [[-85, -180], [-85, 180], [85, 180], [85, -180]];
  const outlines = new Map();  // a region's GeoJSON geometry, by its code
  map.createPane("mask").style.zIndex = 390;  // over the tiles, under what is drawn on them
  async function maskOutside(region) {
    if (state.mask) map.removeLayer(state.mask);
    state.mask = null;
    if (region.kind === "deployment" || region.kind === "grid") return;
    if (!outlines.has(region.code)) {
      const params = new URLSearchParams({ code: region.code });
      const r = await fetch(`${config.api}/regions?${params}`, { credentials: "same-origin" });
      const [found] = r.ok ? (await r.json()).features : [];
      if (!found) return;
      outlines.set(region.code, found.geometry);
    }
    if (state.region === region) dimAround(outlines.get(region.code));
  }
  // every ring of the region a hole in the world's (its own holes so filled again, the rule
  // of filling being even-odd)
  function dimAround(geometry) {
    if (state.mask) map.removeLayer(state.mask);
    const parts = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    state.mask = L.polygon([WORLD, ...parts.flat().map((ring) => ring.map(([x, y]) => [y, x]))],
                           { pane: "mask", interactive: false, stroke: false,
                             fillColor: "#02060d", fillOpacity: 0.55 }).addTo(map);
  }

  let gridShown = null;  // the outline of the grid shown
  async function outlineGrid(code, at) {
    const params = new URLSearchParams({ bbox: [at.lng, at.lat, at.lng, at.lat].join(",") });
    const r = await fetch(`${config.api}/grids?${params}`, { credentials: "same-origin" });
    if (!r.ok || state.region.code !== code) return;
    const feature = (await r.json()).features.find((f) => f.properties.code === code);
    if (feature) showOutline(feature);
  }
  function showOutline(grid) {
    gridShown = L.geoJSON(grid, { style: { color: "#4fc3f7", weight: 4, fill: false },
                                  interactive: false }).addTo(map);
    state.outlined = grid.properties.code;
    if (state.region.code === grid.properties.code) dimAround(grid.geometry);
  }

  const moveMap = viewMover(map);

  // Bounds fitted into the map between the panels, not under them; framed again when the
  // screen changes size (a kiosk's browser going full screen).
  function frame(bounds, options) {
    state.framed = bounds;
    moveMap(() => {
      const left = $("wall-left").getBoundingClientRect();
      const gap = left.left;  // the panels' own margin
      const right = $("wall-right").getBoundingClientRect();
      const top = $("wall-title").getBoundingClientRect();
      const foot = $("wall-controls").getBoundingClientRect();
      map.fitBounds(bounds, Object.assign({
        paddingTopLeft: [left.right + gap, top.bottom + gap],
        paddingBottomRight: [window.innerWidth - right.left + gap,
                             window.innerHeight - foot.top + gap],
      }, options || {}));
    });
  }

  function show(region) {
    if (gridShown) map.removeLayer(gridShown);
    gridShown = null;
    state.outlined = null;
    state.region = region;
    $("wall-up").hidden = state.stack.length === 0;
    follow();
    loadPanel();
    maskOutside(region).catch(() => {});  // undimmed while the service is away
    loadChildren();
    loadHotspots();
    if (region.kind !== "grid") loadReach();  // a grid keeps its village's stations
  }

  let reframe = null;
  map.on("resize", () => {
    clearTimeout(reframe);
    reframe = setTimeout(() => frame(state.framed, { animate: false }), 300);
  });

  function drill(target) {
    state.stack.push({ region: state.region, center: map.getCenter(), zoom: map.getZoom(),
                       framed: state.framed });
    enter(target);
  }
  function enter(target) {  // (the way back up as the stack keeps it); a grid outlined
    if (target.bounds) frame(target.bounds);
    show({ kind: target.kind, code: target.code, name: target.name });
    if (target.feature) showOutline(target.feature);
  }
  function upTo(to) {  // up to a region the stack kept, as it was shown
    state.framed = to.framed;
    moveMap(() => map.setView(to.center, to.zoom));
    show(to.region);
  }

  // A click on a case drawn as a point opens it: the nearest case within a few pixels of the
  // click, of those the layer shows (the cases of the status chosen).
  const CLICK_PIXELS = 8;
  const shows = {
    open: (p) => config.openStates.includes(p.status),
    overdue: (p) => config.openStates.includes(p.status) && p.overdue,
    "": () => true,
  };
  function clickBox(at) {  // the box of a few pixels around a click, as the API takes it
    const p = map.latLngToContainerPoint(at);
    const sw = map.containerPointToLatLng([p.x - CLICK_PIXELS, p.y + CLICK_PIXELS]);
    const ne = map.containerPointToLatLng([p.x + CLICK_PIXELS, p.y - CLICK_PIXELS]);
    return [sw.lng, sw.lat, ne.lng, ne.lat].join(",");
  }
  async function openCaseAt(at) {
    if (map.getZoom() < config.pointZoom || !map.hasLayer(layers[DATA.incidents])) return;
    const params = new URLSearchParams({ bbox: clickBox(at), limit: "100" });
    const r = await fetch(`${config.api}/incidents?${params}`, { credentials: "same-origin" });
    if (!r.ok) return;
    const away = (f) => map.distance(at, [f.geometry.coordinates[1], f.geometry.coordinates[0]]);
    const shown = (await r.json()).features
      .filter((f) => shows[state.incidentStatus](f.properties));
    if (shown.length) openCase(shown.reduce((a, b) => (away(b) < away(a) ? b : a)));
  }

  // A click on a track drawn today names its walker, length and end: the latest of today's
  // tracks within a few pixels of the click. Whether there was one.
  async function nameTrackAt(at) {
    if (!map.hasLayer(layers[DATA.patrols])) return false;
    // today as the service knows it: a wall computer's clock may be a day off
    const params = new URLSearchParams({ bbox: clickBox(at), window: "today", limit: "1" });
    let r;
    try {
      r = await fetch(`${config.api}/patrols?${params}`, { credentials: "same-origin" });
    } catch {
      return false;
    }
    const [track] = r.ok ? (await r.json()).features : [];
    if (!track) return false;
    const p = track.properties;
    map.openTooltip(text("span", [p.worker, `${Math.round(p.length_m)} 米`,
                                  localTime(p.ended_at)].join(" · "), "patrol-tip"), at);
    return true;
  }

  // In a village, a click on a grid drills into it (the panel then shows the grid's figures);
  // in a grid, a click on another grid moves to that one; a click on a track names it.
  map.on("click", async (e) => {
    openCaseAt(e.latlng);
    if (await nameTrackAt(e.latlng)) return;
    const from = state.region;
    if (from.kind !== "village" && from.kind !== "grid") return;
    const params = new URLSearchParams({ lon: e.latlng.lng, lat: e.latlng.lat });
    const r = await fetch(`${config.api}/locate?${params}`, { credentials: "same-origin" });
    if (!r.ok || state.region !== from) return;  // not if another region was chosen meanwhile
    const { grid } = await r.json();
    if (!grid || grid.code === from.code) return;
    const target = { kind: "grid", code: grid.code, name: grid.name };
    if (from.kind === "grid") show(target);
    else drill(target);
    outlineGrid(grid.code, e.latlng);
  });

  $("wall-up").addEventListener("click", () => {
    const previous = state.stack.pop();
    if (previous) upTo(previous);
  });

  // ---- live ----
  let redrawSoon = null;
  function redrawData() {
    clearTimeout(redrawSoon);
    redrawSoon = setTimeout(() => {
      for (const name of Object.values(DATA)) {
        if (map.hasLayer(layers[name])) layers[name].redraw();
      }
      loadPanel();
    }, 3000);
  }

  // A case at its place: what and where it is, and the steps it has been through so far.
  async function openCase(f, opener) {
    const p = f.properties;
    const [lon, lat] = f.geometry.coordinates;
    const box = text("div", "", "wall-case");
    box.dataset.id = f.id;
    const what = `${STATUS[p.status] || p.status} · ${categoryName[p.category] || p.category}`;
    const steps = text("ol", "", "steps");
    const handle = deskLink("到受理台办理", `case=${f.id}`, "handle");  // the wall stays
    box.append(text("h3", what), text("p", p.description, "description"),
               text("p", where(p)), steps, handle);
    popUp([lat, lon], box, opener);
    const r = await fetch(`${config.api}/incidents/${f.id}/timeline`,
                          { credentials: "same-origin" });
    if (!r.ok) return;
    steps.replaceChildren(...(await r.json()).map((step) => stepItem(step)));
  }

  // a step into the side list, on top; a live one also flashes there and pulses on the map
  function showStep(step, live) {
    const f = step.feature;
    const p = f.properties;
    // a step that leaves the case in its state (urgent, supervised, moved) is named for itself
    const flag = step.action in ACTIONS && ACTIONS[step.action].to === null;
    const what = step.action === "report" ? "新上报"
      : flag ? ACTION_NAME[step.action] : STATUS[step.status] || step.status;
    const [lon, lat] = f.geometry.coordinates;
    const shown = (opener) => {
      map.flyTo([lat, lon], Math.max(map.getZoom(), 16));
      openCase(f, opener);
    };
    const item = listItem(live ? "fresh" : "", shown, Date.parse(step.received_at || step.at),
                          text("time", localTime(step.at) + stepLate(step)),
                          text("span", what, "what"),
                          text("span", categoryName[p.category] || p.category, "category"),
                          text("span", where(p), "grid"),
                          text("span", p.description, "description"));
    item.dataset.id = f.id;
    if (p.urgent_at) item.classList.add("urgent");
    if (!live) return;
    const marker = L.circleMarker([lat, lon], {
      radius: 14, color: "#ff1744", weight: 3, fillOpacity: 0.3, className: "wall-pulse",
    }).addTo(map);
    setTimeout(() => map.removeLayer(marker), 10000);
    state.steps += 1;
  }

  // a patrol into the side list, once: one just sent flashed, the layers drawn again
  function showPatrol(f, live = true) {
    if (state.listedPatrols.has(f.id)) return;
    state.listedPatrols.add(f.id);
    const p = f.properties;
    const item = listItem(live ? "fresh patrol" : "patrol",
                          () => map.flyToBounds(L.geoJSON(f).getBounds(), { maxZoom: 17 }),
                          Date.parse(p.received_at),
                          text("time", localTime(p.ended_at)), text("span", "巡查", "what"),
                          text("span", `${p.worker} · ${Math.round(p.length_m)} 米`, "category"),
                          text("span", p.grids.map((g) => g.name).join("、") || "网格外",
                               "grid"));
    item.dataset.patrol = f.id;
    if (live) redrawData();
  }

  // The feed announces a patrol once, as it is stored. The patrols of the place followed it
  // did not announce to the page, asked for: on opening, those that came since the oldest
  // step listed (those that ended today, with none listed); back from a lost feed (a network
  // or server restart), those that came meanwhile, however long before they ended.
  async function listPatrolsSince(came) {
    const place = state.followed;
    const params = new URLSearchParams({ ...followed(), limit: String(LIST_MAX) });
    if (came === null) params.set("window", "today");
    else params.set("received_from", new Date(came).toISOString());
    let r, found;
    try {
      r = await fetch(`${config.api}/patrols?${params}`, { credentials: "same-origin" });
      found = r.ok ? (await r.json()).features : [];
    } catch {
      return;
    }
    if (state.followed !== place) return;  // another place followed meanwhile
    found.reverse().forEach((f) => showPatrol(f, false));
  }

  // An item into the side list, of ``parts``, of what came at ``came`` (ms), where it came
  // among the others (the latest on top, as the feed sends it; a patrol it did not send, among
  // the steps it did): a button that shows it on the map (``show``, given the button when
  // pressed from the keyboard, to come back to); one of class "fresh" marked so for a few
  // seconds.
  function listItem(className, show, came, ...parts) {
    const item = text("li", "", className);
    item.dataset.came = came;
    const button = text("button", "", "show");
    Object.assign(button, { type: "button", title: "在地图上查看" });
    button.append(...parts);
    button.addEventListener("click", (e) => show(e.detail === 0 ? button : null));
    item.appendChild(button);
    const list = $("wall-list");
    let next = list.firstElementChild;
    while (next && Number(next.dataset.came) > came) next = next.nextElementSibling;
    list.insertBefore(item, next);
    while (list.children.length > LIST_MAX) list.removeChild(list.lastChild);
    if (item.classList.contains("fresh")) setTimeout(() => item.classList.remove("fresh"), 5000);
    return item;
  }

  // What the live feed follows: at the wall's own region, all the account may see; drilled
  // below it, the region's cases and the patrols through it (a grid's, in a grid).
  function followed() {
    const { kind, code } = state.region;
    if (state.stack.length === 0) return {};
    return kind === "grid" ? { grid: code } : { region: code };
  }

  // The live feed, from the region shown: its last steps first, then each as it comes.
  function follow() {
    const place = new URLSearchParams(followed()).toString();
    if (state.source && state.followed === place) return;
    state.followed = place;
    state.lastId = null;
    state.lostAt = null;
    state.listedPatrols.clear();
    connect();
  }

  // (Re)connect the feed: a first connection fills the list anew with the last steps before
  // it; a later one catches up from the last step seen (and the patrols, listPatrolsSince).
  function connect() {
    if (state.source) state.source.close();
    let first = !state.lastId;  // until its first "ready" (the browser may reconnect it)
    if (first) $("wall-list").replaceChildren();
    $("wall-connection").textContent = "连接中";  // until the feed is ready
    state.online = false;
    const params = new URLSearchParams(followed());
    params.set(...(state.lastId ? ["after", state.lastId] : ["recent", LIST_MAX]));
    const source = new EventSource(`${config.api}/events?${params}`, { withCredentials: true });
    state.source = source;
    source.addEventListener("recent", (e) => showStep(JSON.parse(e.data), false));
    source.addEventListener("ready", (e) => {
      if (e.lastEventId) state.lastId = e.lastEventId;
      $("wall-connection").textContent = "在线";
      state.online = true;
      if (first) {
        const oldest = $("wall-list").lastElementChild;
        listPatrolsSince(oldest ? Number(oldest.dataset.came) : null);
      } else if (state.lostAt !== null) {
        listPatrolsSince(state.lostAt - LOST_MARGIN_MS);
      }
      first = false;
      state.lostAt = null;
    });
    source.addEventListener("step", (e) => {
      state.lastId = e.lastEventId;
      showStep(JSON.parse(e.data), true);
      redrawData();
    });
    source.addEventListener("patrol", (e) => showPatrol(JSON.parse(e.data)));
    source.addEventListener("reload", (e) => {
      state.lastId = e.lastEventId;
      redrawData();
    });
    source.onerror = () => {
      $("wall-connection").textContent = "重连中";
      if (state.online) state.lostAt = Date.now() + state.clockOffset;
      state.online = false;
      if (source.readyState === EventSource.CLOSED) {  // refused, or the browser gave up
        loadPanel();  // to the sign-in page if the session has ended
        setTimeout(connect, 2000);
      }
    };
  }

  // how long the report waiting longest to be taken in has waited, by the service's clock
  function showWaited() {
    const since = state.waitingSince;
    const minutes = since ? Math.max(0, Math.floor((Date.now() + state.clockOffset - since)
                                                   / 60000)) : null;
    $("kpi-waited").textContent = minutes === null ? ""
      : `最久已等${minutes < 60 ? `${minutes}分钟`
        : minutes < 2880 ? `${Math.floor(minutes / 60)}小时${minutes % 60}分`
          : `${Math.floor(minutes / 1440)}天`}`;
  }

  // the day and time in China, to be read from across the room, by the service's clock (the
  // wall's PC may run in UTC, or wrong)
  const WEEKDAYS = "日一二三四五六";
  function tick() {
    const now = new Date(Date.now() + state.clockOffset);
    const t = chinaParts(now);
    const weekday = WEEKDAYS[new Date(`${chinaDay(now)}T00:00:00Z`).getUTCDay()];
    $("wall-clock").textContent = `${t.month}月${t.day}日 星期${weekday} ${t.hour}:${t.minute}`;
    showWaited();
  }

  setInterval(loadPanel, 30000);
  setInterval(() => loadCampaigns().then(() => loadCampaign(false)), 60000);  // as checks come
  tick();
  setInterval(tick, 10000);
  // cases turn yellow and red, and leave the last days' counts, with no report: the layers
  // drawn by the clock are asked for again as often as the server draws them anew
  setInterval(redrawData, config.clockSeconds * 1000);
  // the places where cases keep coming change slowly, and take a city's month of cases to
  // find (make bench): asked for again by the clock alone, not at each step
  setInterval(loadHotspots, config.clockSeconds * 1000);
  legend();
  const [west, south, east, north] = config.region.bbox;
  frame([[south, west], [north, east]], { animate: false });
  show(state.region);
}
