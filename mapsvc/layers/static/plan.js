// The planner's page: a village's draft grids, edited with Leaflet-Geoman through the OGC API
// (features of the collection plan-{id}) and the plan endpoints. Text that users typed is only
// ever set as text.
"use strict";

const LEVELS = ["city", "county", "township", "village"];
const LEVEL_NAME = { city: "地级市", county: "区县", township: "乡镇街道", village: "村社区" };
const SIZE_COLOUR = { ok: "#2e7d32", under: "#f9a825", over: "#c62828", unknown: "#607d8b",
                      no_rule: "#607d8b", no_registry: "#607d8b" };
const STATUS_NAME = { draft: "草稿", published: "已发布", discarded: "已废弃" };
// Each finding in words, from its kind, grids and value.
const FINDING = {
  invalid: (f) => `网格 ${f.grids[0]} 的图形无效（自相交等）`,
  overlap: (f) => `网格 ${f.grids.join(" 与 ")} 重叠 ${f.value} 平方米`,
  gap: (f) => `村内有 ${f.value} 平方米不属于任何网格`,
  outside_village: (f) => `网格 ${f.grids[0]} 有 ${f.value} 平方米超出本村`,
  sliver: (f) => `网格 ${f.grids[0]} 有一块仅 ${f.value} 平方米的碎片`,
  multipart: (f) => `网格 ${f.grids[0]} 分为 ${f.value} 块`,
  code_taken: (f) => `编码 ${f.grids[0]} 已被其他村的网格使用`,
  stale: () => "方案起草后本村网格已变更，请新建方案",
  households_over: (f) => `网格 ${f.grids[0]} 有 ${f.value} 户，超出上限`,
  population_over: (f) => `网格 ${f.grids[0]} 有 ${f.value} 人，超出上限`,
  households_under: (f) => `网格 ${f.grids[0]} 只有 ${f.value} 户，少于下限`,
  no_registry: () => "本村尚未登记住户，未校验网格规模",
};
// a redrawn layer's problems (their ``ctx``), as the page says them: the file's, then a feature's
const FIELD_OF = { code: "编码", name: "名称", parent_code: "所属村（社区）编码", kind: "网格类型",
                   households: "户数", population: "人口", organisation_id: "所属组织编号" };
const FILE_PROBLEM = {
  no_crs: () => "文件未注明坐标系：请在“坐标系”中选择",
  unknown_crs: () => "坐标系无法识别",
  crs_contradicts: (c) => `所选坐标系与文件注明的坐标系（${c.file_crs}）不一致`,
  unreadable: () => "无法读取：须为 GeoPackage、GeoJSON 或 zip 打包的 Shapefile",
  encoding: (c) => (c.shapefile ? "无法识别 Shapefile 文字的编码：请在“Shapefile 编码”中选择"
                                : "GeoJSON、GeoPackage 文件须为 UTF-8 编码：请另存为 UTF-8"),
  encoding_not_shapefile: () => "GeoJSON、GeoPackage 文件均为 UTF-8 编码，只有 Shapefile 可选编码",
  unknown_encoding: () => "编码无法识别",
  not_encoding: (c) => `文件的文字不是 ${c.encoding} 编码`,
  no_field: (c) => `文件没有 ${c.field} 字段（${FIELD_OF[c.of]}）；文件的字段：`
                   + `${c.fields.join("、") || "无"}`,
};
const FEATURE_PROBLEM = {
  empty: (c) => `缺少${FIELD_OF[c.of]}（${c.field} 字段）`,
  repeated: () => "编码在文件中重复",
  digits: (c) => `编码须为 ${c.digits} 位数字`,
  one_of: (c) => `${FIELD_OF[c.of]}须为 ${c.values.join("、")} 之一`,
  whole: (c) => `${FIELD_OF[c.of]}须为整数`,
  negative: (c) => `${FIELD_OF[c.of]}不能为负数`,
  no_geometry: () => "没有图形",
  not_polygon: (c) => `图形为 ${c.type}，不是面`,
  out_of_range: () => "坐标超出经度 ±180°、纬度 ±90°：坐标系是否选对？",
  unrepairable: (c) => `图形无效且无法自动修复（${c.reason}）`,
  no_area: () => "面积为零",
  outside_plan: (c) => `所属村（社区）${c.village} 不在本方案内`,
};
// a problem (an item of the service's answer) in the page's words, else in the service's
const said = (words, ctx, otherwise) => (ctx && words[ctx.rule] ? words[ctx.rule](ctx)
                                                                 : otherwise);
const CHANGE_NAME = { new: "新增", reshaped: "调整", renamed: "改名", unchanged: "未变",
                      retired: "撤销" };
// the grid layer's changes between two days (GET /grids/diff): each in words and colour
const CHANGED = { added: ["新增", "#2e7d32"], reshaped: ["调整", "#ef6c00"],
                  retired: ["撤销", "#c62828"] };

function mapsvcPlan(map, config) {
  const state = { map, village: null, plan: null, selected: new Set(), sizes: {}, counts: {},
                  grids: null, inForce: 0, choices: 0, parts: {}, scope: null, changes: null,
                  findings: null, outline: null, neighbours: null, findingsShown: 0 };
  window.mapsvcPlan = state;  // what the page shows, for whoever looks on (tests)
  const $ = (id) => document.getElementById(id);
  if (!signedIn("plan")) return;

  function option(value, label) {
    const o = text("option", label);
    o.value = value;
    return o;
  }

  const call = (method, path, body) => callApi("plan", method, path, body);
  const api = (path) => config.api + path;
  const items = () => `${config.ogc}/collections/plan-${state.plan.id}/items`;

  function say(message, bad) {
    $("plan-message").textContent = message;
    $("plan-message").className = bad ? "bad" : "";
  }

  async function attempt(work) {
    try {
      await work();
    } catch (e) {
      say(e.message, true);
    }
  }

  // ---- picking a village: in the lists, or on the map ----
  const moveMap = viewMover(map);
  let choices = null;  // the regions of the level to choose from, drawn on the map
  const choosers = {};  // level → the regions listed at it and how one is chosen
  // A region's grids against the sizing rules: its worst, and the figures in words.
  function partSize(part) {
    if (!part) return "unknown";
    if (part.over) return "over";
    if (part.under) return "under";
    return part.ok ? "ok" : "unknown";
  }
  function partWords(part) {
    if (!part) return "";
    if (part.grids === part.no_registry) return `${part.grids} 个网格 · 未登记住户`;
    return `${part.grids} 个网格 · 超出上限 ${part.over} · 户数偏少 ${part.under}`;
  }

  let choiceNames = [];  // each region offered, and the marker naming it
  const choiceNamesApart = namesApart(map, () => choiceNames.map(
    ([layer, marker]) => [layer, marker.getElement() && marker.getElement().firstChild]));
  function drawChoices(found, choose) {
    if (choices) choices.remove();
    choices = L.geoJSON({ type: "FeatureCollection", features: found }, {
      pmIgnore: true, snapIgnore: true,
      style: (f) => {
        const colour = SIZE_COLOUR[partSize(state.parts[f.properties.code])];
        return { color: "#546e7a", weight: 1, fillColor: colour, fillOpacity: 0.2 };
      },
      onEachFeature: (f, layer) => {
        const tip = text("span", f.properties.name);
        tip.append(document.createElement("br"),
                   text("small", partWords(state.parts[f.properties.code])));
        placed(layer, f).bindTooltip(tip, { sticky: true });
        layer.on("click", () => choose(f));
      },
    }).addTo(map);
    // each named on the map, in the middle of its largest part, as text, names apart
    choiceNames = choices.getLayers().map((layer) => [layer, L.marker(layer.getCenter(), {
      interactive: false, keyboard: false, pmIgnore: true, snapIgnore: true,
      icon: L.divIcon({ className: "region-name", iconSize: null,
                        html: text("span", layer.feature.properties.name) }),
    }).addTo(choices)]);
    choiceNamesApart();
    state.choices = found.length;
    if (found.length) {
      const bounds = choices.getBounds();
      moveMap(() => map.fitBounds(bounds, { padding: [20, 20] }));
    }
  }

  async function pick(parent, level) {
    const box = $("plan-pick");
    for (const old of [...box.querySelectorAll("label")]) {
      if (LEVELS.indexOf(old.dataset.level) >= LEVELS.indexOf(level)) old.remove();
    }
    for (const old of LEVELS.slice(LEVELS.indexOf(level))) delete choosers[old];
    showScope(parent || null);
    const [regions, sizing] = await Promise.all([
      call("GET", api(`/regions?${regionsWithin(parent, level)}`)),
      call("GET", api(`/grids/sizing${parent ? `?parent=${parent}` : ""}`))]);
    const found = regions.features;
    state.parts = Object.fromEntries(sizing.parts.map((part) => [part.code, part]));
    listOver(sizing);
    const select = document.createElement("select");
    select.id = `pick-${level}`;
    select.append(option("", `选择${LEVEL_NAME[level]}`));
    for (const f of found) {
      const part = state.parts[f.properties.code];
      select.append(option(f.properties.code, f.properties.name
                           + (part && part.over ? `（${part.over} 个网格超出上限）` : "")));
    }
    const label = text("label", LEVEL_NAME[level] + " ");
    label.dataset.level = level;
    label.append(select);
    box.append(label);
    const choose = (chosen) => attempt(async () => {
      select.value = chosen.properties.code;
      while (label.nextElementSibling) label.nextElementSibling.remove();  // the picks below
      for (const old of LEVELS.slice(LEVELS.indexOf(level) + 1)) delete choosers[old];
      const its = chosen.properties.level;  // at the top, a county of no city among the cities
      if (its === "village") await openVillage(chosen);
      else await pick(chosen.properties.code, LEVELS[LEVELS.indexOf(its) + 1]);
    });
    select.addEventListener("change", () => {
      const chosen = found.find((f) => f.properties.code === select.value);
      if (chosen) choose(chosen);
    });
    choosers[level] = { found, choose };
    drawChoices(found, choose);
  }

  // An item of a list of grids: its name and figures, a click taking the map to it.
  function listed(name, figures, title, go) {
    const button = text("button", name);
    button.type = "button";
    button.title = title;
    button.append(text("small", ` ${figures}`));
    button.addEventListener("click", go);
    const item = document.createElement("li");
    item.append(button);
    return item;
  }

  // The grids over their maximum in the region last picked, the most over first: each opens
  // its village.
  function listOver(sizing) {
    const list = $("plan-over");
    list.replaceChildren(...sizing.grids.map((g) => {
      const over = [[g.households, g.rule.households_max, "户"],
                    [g.population, g.rule.population_max, "人"]]
        .filter(([value, most]) => most != null && value > most)
        .map(([value, most, unit]) => `${value} ${unit}（上限 ${most}）`);
      return listed(g.name, over.join("，"), `${g.village} · ${g.code}`,
                    () => attempt(() => goTo(g.village_code)));
    }));
    $("plan-over-box").hidden = !sizing.grids.length;
    $("plan-over-title").textContent = `超出上限的网格：${sizing.totals.over} 个`
      + (sizing.totals.over > sizing.grids.length ? `（列出最多的 ${sizing.grids.length} 个）` : "");
  }

  // The village of this code, chosen level by level from the lists shown.
  async function goTo(code) {
    for (const level of LEVELS) {
      const listed = choosers[level];
      const chosen = listed && listed.found.find((f) => code.startsWith(f.properties.code));
      if (chosen) await listed.choose(chosen);
    }
  }

  // ---- the grid layer's changes in the region shown, between two days ----
  const yearAgo = new Date();
  yearAgo.setDate(yearAgo.getDate() - 365);
  $("changes-from").value = chinaDay(yearAgo);
  $("changes-to").value = chinaDay();
  function showScope(code) {  // a region shown: the changes of another cleared
    state.scope = code;
    if (state.changes) state.changes.remove();
    state.changes = null;
    $("changes-summary").textContent = "";
    $("changes-list").replaceChildren();
  }
  $("changes-show").addEventListener("click", () => attempt(async () => {
    const [from, to] = [$("changes-from").value, $("changes-to").value];
    if (!from || !to) throw new Error("请选择起止日期");
    const params = new URLSearchParams({ from: chinaMidnights(from)[0],
                                         to: chinaMidnights(to)[1] });
    if (state.scope) params.set("parent", state.scope);
    const found = await call("GET", api(`/grids/diff?${params}`));
    showScope(state.scope);
    state.changes = L.geoJSON(found, {
      pmIgnore: true, snapIgnore: true, interactive: false,
      style: (f) => ({ color: CHANGED[f.properties.change][1], weight: 3, fillOpacity: 0.15,
                       dashArray: f.properties.change === "retired" ? "6 4" : null }),
    }).addTo(map);
    const counts = Object.keys(CHANGED).map((change) => `${CHANGED[change][0]} `
      + found.features.filter((f) => f.properties.change === change).length);
    $("changes-summary").textContent = `${from} 至 ${to}：${counts.join(" · ")}`;
    $("changes-list").replaceChildren(...found.features.map((f) => {
      const p = f.properties;
      const area = { added: `${p.area_after_m2} 平方米`, retired: `${p.area_before_m2} 平方米`,
                     reshaped: `${p.area_before_m2} → ${p.area_after_m2} 平方米` }[p.change];
      const by = p.plan ? ` · 方案 #${p.plan.id}「${p.plan.name}」${p.plan.published_by} 发布` : "";
      return listed(`${p.name} ${CHANGED[p.change][0]}`, area + by, p.code, () => {
        const bounds = L.geoJSON(f).getBounds();
        moveMap(() => map.fitBounds(bounds, { padding: [40, 40], maxZoom: 16 }));
      });
    }));
  }));

  const fixed = { pmIgnore: false, allowEditing: false, allowRemoval: false,
                  allowCutting: false, allowRotation: false, snapIgnore: false };

  async function openVillage(feature) {
    showScope(feature.properties.code);
    say("");
    state.village = feature;
    state.plan = null;
    state.selected.clear();
    $("plan-drafts").hidden = true;  // shown again with the village's own plans
    $("plan-tools").hidden = true;
    for (const layer of [choices, state.outline, state.neighbours, state.grids, state.findings]) {
      if (layer) layer.remove();
    }
    choices = null;
    state.choices = 0;
    state.outline = L.geoJSON(feature, Object.assign({ interactive: false,
      style: { color: "#263238", weight: 3, fill: false, dashArray: "6 4" } }, fixed)).addTo(map);
    const outline = state.outline.getBounds();
    moveMap(() => map.fitBounds(outline, { padding: [20, 20] }));
    const b = outline.pad(0.5);
    const [{ features: around }, sizing] = await Promise.all([
      call("GET", api(`/grids?bbox=${b.getWest()},${b.getSouth()},${b.getEast()},`
                      + `${b.getNorth()}&limit=1000`)),
      call("GET", api(`/grids/sizing?parent=${feature.properties.code}`))]);
    const own = (f) => f.properties.village_code === feature.properties.code;
    state.neighbours = L.geoJSON(around.filter((f) => !own(f)), Object.assign({
      interactive: false, style: { color: "#90a4ae", weight: 1, fillOpacity: 0.05 } },
    fixed)).addTo(map);
    // the village's grids in force, until a plan is opened
    const inForce = around.filter(own);
    $("plan-over-box").hidden = true;
    sized(sizing.grids);
    // a proposal divides the village at its rule's maximum unless the planner says otherwise
    const rule = sizing.grids.map((g) => g.rule).find((r) => r && r.households_max);
    $("plan-propose-max").value = rule ? rule.households_max : 300;
    state.grids = L.geoJSON(inForce, Object.assign({ style: styleOf,
      onEachFeature: (f, layer) => {
        layer.bindTooltip(label(f), { permanent: true, direction: "center",
                                      className: "grid-tip" });
        layer.on("click", (e) => attempt(() => showVersions(f, e.latlng)));
      } }, fixed)).addTo(map);
    state.inForce = inForce.length;
    state.count = 0;  // of a plan's grids: none drawn yet
    await listPlans();
    $("plan-drafts").hidden = false;
  }

  // The village's plans: its drafts, and its history, the plans published (each shows the
  // grids it put in force) and those discarded.
  async function listPlans(chosen) {
    const plans = await call("GET", api(`/plans?village=${state.village.properties.code}`));
    const select = $("plan-select");
    const drafts = plans.filter((p) => p.status === "draft").length;
    select.replaceChildren(option("", drafts ? "选择草稿方案" : "暂无草稿方案"));
    for (const [status, name] of [["draft", "草稿"], ["published", "已发布（历史）"],
                                  ["discarded", "已废弃"]]) {
      const group = document.createElement("optgroup");
      group.label = name;
      for (const p of plans.filter((q) => q.status === status)) {
        group.append(option(p.id, `#${p.id} ${p.name}`
          + (p.published_at ? ` · ${localTime(p.published_at)}` : "")));
      }
      if (group.children.length) select.append(group);
    }
    if (chosen) {
      select.value = String(chosen);
      await openPlan(chosen);
    }
  }

  // ---- the draft ----
  function styleOf(feature) {
    const code = feature.properties.code;
    const size = state.sizes[code] || "unknown";
    return { color: state.selected.has(code) ? "#1565c0" : SIZE_COLOUR[size],
             weight: state.selected.has(code) ? 4 : 2, fillColor: SIZE_COLOUR[size],
             fillOpacity: 0.25 };
  }

  // A grid in force's versions, oldest first: when each was in force, its area, and the plan
  // that put it in force.
  async function showVersions(feature, at) {
    const code = feature.properties.code;
    const found = await call("GET", api(`/grids/${encodeURIComponent(code)}/versions`));
    const box = text("div", "", "grid-versions");
    box.append(text("strong", `${feature.properties.name}（${code}）`));
    const list = document.createElement("ol");
    for (const { properties: v } of found.features) {
      const since = v.valid_from === "-infinity" ? "建档起" : `${localTime(v.valid_from)} 起`;
      list.append(text("li", `第 ${v.version} 版 · ${since}`
        + (v.valid_to ? ` 至 ${localTime(v.valid_to)}` : " 至今") + ` · ${v.area_m2} 平方米`
        + (v.plan ? ` · 方案 #${v.plan.id}「${v.plan.name}」` : "")));
    }
    box.append(list);
    L.popup({ maxWidth: 420 }).setLatLng(at).setContent(box).openOn(map);
  }

  // the grids' sizes and households to show (none where the registry is not loaded)
  function sized(grids) {
    state.sizes = Object.fromEntries(grids.map((g) => [g.code, g.size]));
    state.counts = Object.fromEntries(grids.filter((g) => g.size !== "no_registry")
      .map((g) => [g.code, g.households]));
  }

  function label(feature) {
    const code = feature.properties.code;
    const el = text("span", code.slice(-3), "grid-label");
    if (state.counts[code] != null) el.append(text("small", ` ${state.counts[code]}户`));
    return el;
  }

  async function openPlan(id) {
    state.plan = await call("GET", api(`/plans/${id}`));
    state.selected.clear();
    state.sizes = {};
    state.counts = {};
    for (const format of ["gpkg", "geojson"]) {  // the page's session reads it
      $(`plan-download-${format}`).href = api(`/plans/${id}/layer?format=${format}`);
    }
    await drawGrids();
    $("plan-tools").hidden = false;
  }

  async function drawGrids() {
    const body = await call("GET", api(`/plans/${state.plan.id}/grids`));
    if (state.grids) state.grids.remove();
    const draft = state.plan.status === "draft";
    state.grids = L.geoJSON(body, {
      pmIgnore: !draft,
      style: styleOf,
      onEachFeature(feature, layer) {
        layer.bindTooltip(label(feature), { permanent: true, direction: "center",
                                            className: "grid-tip" });
        layer.on("click", () => {
          if (map.pm.globalDrawModeEnabled() || map.pm.globalEditModeEnabled()
              || map.pm.globalRemovalModeEnabled()) return;
          const code = feature.properties.code;
          select(code, !state.selected.has(code));
        });
        layer.on("pm:edit", () => attempt(async () => {
          await call("PATCH", `${items()}/${feature.id}`,
                     { type: "Feature", geometry: layer.toGeoJSON(false).geometry });
          say(`网格 ${feature.properties.code} 边界已调整`);
          await refresh();
        }));
      },
    }).addTo(map);
    state.count = body.features.length;
    listGrids(body.features);
    showStatus();
  }

  // The plan's grids listed by name beside the map: one ticked is selected as one clicked on
  // the map is (from the keyboard too), and the other way round.
  function listGrids(features) {
    $("plan-grid-list").replaceChildren(...features.map((f) => {
      const code = f.properties.code;
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = code;
      box.checked = state.selected.has(code);
      box.addEventListener("change", () => select(code, box.checked));
      const item = text("label", "");
      item.append(box, ` ${f.properties.name}（${code.slice(-3)}）`);
      const entry = document.createElement("li");
      entry.append(item);
      return entry;
    }));
  }
  function select(code, selected) {
    if (selected) state.selected.add(code);
    else state.selected.delete(code);
    state.grids.setStyle(styleOf);
    for (const box of $("plan-grid-list").querySelectorAll("input")) {
      box.checked = state.selected.has(box.value);
    }
  }

  function showStatus() {
    const p = state.plan;
    $("plan-status").textContent = `方案 #${p.id}「${p.name}」· ${STATUS_NAME[p.status]} · `
      + `${state.count} 个网格` + (p.retired && p.retired.length
        ? ` · 将撤销 ${p.retired.join("、")}` : "")
      + (p.published_at ? ` · ${p.published_by} 于 ${localTime(p.published_at)} 发布` : "");
    for (const id of ["plan-split", "plan-halve", "plan-halve-by", "plan-merge",
                      "plan-publish"]) {
      $(id).disabled = p.status !== "draft";
    }
  }

  async function refresh() {
    state.plan = await call("GET", api(`/plans/${state.plan.id}`));
    await drawGrids();
  }

  // ---- drawing: a new grid, or the line that splits the selected one ----
  map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });
  // the toolbar and its hints in Chinese, its buttons named for what they do to the plan's
  // grids, also to a screen reader (Geoman puts the names on the buttons' boxes alone)
  map.pm.setLang("zh", { buttonTitles: { drawPolyButton: "画新网格", drawRectButton: "画矩形网格",
                                         editButton: "调整网格边界",
                                         deleteButton: "从方案中移除网格" } }, "zh");
  map.pm.addControls({ position: "topleft", drawMarker: false, drawCircleMarker: false,
                       drawPolyline: false, drawCircle: false, drawText: false,
                       cutPolygon: false, rotateMode: false, dragMode: false });
  for (const button of map.getContainer().querySelectorAll(".button-container[title] > a")) {
    button.setAttribute("aria-label", button.parentElement.title);
  }
  let splitting = null;
  map.on("pm:create", (e) => attempt(async () => {
    const geometry = e.layer.toGeoJSON(false).geometry;
    e.layer.remove();
    if (!state.plan || state.plan.status !== "draft") return;
    if (e.shape === "Line" && splitting) {
      const code = splitting;
      splitting = null;
      const r = await call("POST", api(`/plans/${state.plan.id}/split`), { code, line: geometry });
      say(`网格 ${code} 已切分为 ${r.codes.join("、")}`);
    } else if (e.shape === "Polygon" || e.shape === "Rectangle") {
      await call("POST", items(), { type: "Feature", properties: {}, geometry });
      say("已新增网格");
    }
    state.selected.clear();
    await refresh();
  }));
  map.on("pm:remove", (e) => attempt(async () => {
    const feature = e.layer.feature;
    if (!feature || !state.plan) return;
    await call("DELETE", `${items()}/${feature.id}`);
    say(`网格 ${feature.properties.code} 已从方案中移除`);
    await refresh();
  }));

  function toSplit() {  // the one grid selected, or null (said so)
    if (state.selected.size === 1) return [...state.selected][0];
    say("请先选中一个要切分的网格", true);
    return null;
  }
  $("plan-split").addEventListener("click", () => {
    splitting = toSplit();
    if (!splitting) return;
    say(`在网格 ${splitting} 上画一条穿过它的线，双击结束`);
    map.pm.enableDraw("Line", { finishOn: "dblclick" });
  });
  $("plan-halve").addEventListener("click", () => attempt(async () => {
    const code = toSplit();
    if (!code) return;
    let r;
    try {
      r = await call("POST", api(`/plans/${state.plan.id}/split`),
                     { code, halves: $("plan-halve-by").value });
    } catch (error) {
      if (error.field !== "halves") throw error;
      say(`网格 ${code} 内没有可分的登记住户（无住户，或都在同一处），无法按户数对半切分`, true);
      return;
    }
    say(`网格 ${code} 已对半切分为 ${r.codes.join("、")}`);
    state.selected.clear();
    await refresh();
  }));
  $("plan-merge").addEventListener("click", () => attempt(async () => {
    if (state.selected.size < 2) {
      say("请先选中两个或更多网格", true);
      return;
    }
    const r = await call("POST", api(`/plans/${state.plan.id}/merge`),
                         { codes: [...state.selected] });
    say(`已合并为网格 ${r.code}`);
    state.selected.clear();
    await refresh();
  }));

  // ---- a layer redrawn elsewhere (in QGIS, say) in place of the draft's grids: all of it, or
  // nothing and each feature at fault named ----
  $("plan-layer").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      $("plan-findings").replaceChildren();
      let r;
      try {
        r = await call("PUT", api(`/plans/${state.plan.id}/layer`), new FormData(event.target));
      } catch (error) {
        const rejected = (error.answer && error.answer.rejected) || [];
        $("plan-findings").replaceChildren(...rejected.map((p) => {
          const item = text("li", `第 ${p.feature} 个要素${p.code ? `（${p.code}）` : ""}：`
                                  + said(FEATURE_PROBLEM, p.ctx, p.problem));
          item.title = p.problem;
          return item;
        }));
        const detail = error.answer && Array.isArray(error.answer.detail)
          && error.answer.detail[0];
        throw new Error(`图层未导入：${rejected.length ? `${rejected.length} 个要素有问题`
          : said(FILE_PROBLEM, detail && detail.ctx, error.message)}`);
      }
      const fixed = r.repaired.length ? `，其中 ${r.repaired.length} 个已自动修复` : "";
      say(`已导入图层：${r.grids} 个网格${fixed}`);
      state.selected.clear();
      await refresh();
    });
  });

  // ---- validation, impact, publish ----
  // the plan's grids checked: each drawn by its households against the rules, the problems on
  // the map and listed; returns the summary
  async function validate() {
    const report = await call("GET", api(`/plans/${state.plan.id}/validation`));
    sized(report.grids);
    state.grids.setStyle(styleOf);
    state.grids.eachLayer((layer) => layer.setTooltipContent(label(layer.feature)));
    if (state.findings) state.findings.remove();
    state.findings = L.geoJSON({ type: "FeatureCollection", features: report.findings
      .filter((f) => f.geometry).map((f) => ({ type: "Feature", geometry: f.geometry,
                                               properties: f })) }, {
      pmIgnore: true, interactive: false,
      style: (f) => ({ color: f.properties.severity === "error" ? "#d50000" : "#ff6d00",
                       weight: 3, fillOpacity: 0.4 }),
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 8, pmIgnore: true }),
    }).addTo(map);
    const list = $("plan-findings");
    list.replaceChildren(...report.findings.map((f) => {
      const item = text("li", (FINDING[f.kind] || (() => f.message))(f), f.severity);
      item.title = f.message;
      return item;
    }));
    state.findingsShown = report.findings.length;
    return [report.errors ? `发现 ${report.errors} 个错误、${report.warnings} 个提示`
                          : `没有错误（${report.warnings} 个提示）`, report.errors > 0];
  }
  $("plan-validate").addEventListener("click", () => attempt(async () => {
    say(...await validate());
  }));

  $("plan-impact").addEventListener("click", () => attempt(async () => {
    const impact = await call("GET", api(`/plans/${state.plan.id}/impact`));
    const body = $("plan-moves").querySelector("tbody");
    // a grid with its workers, whose jurisdiction the move changes
    const grid = (code, workers) => (code ? code + (workers.length ? `（${workers.join("、")}）`
                                                                    : "") : "（无网格）");
    body.replaceChildren(...impact.moves.map((m) => {
      const row = document.createElement("tr");
      for (const value of [grid(m.from, m.from_workers), grid(m.to, m.to_workers), m.incidents,
                           m.households, m.micro_households, m.people, m.organisations,
                           m.components]) {
        row.append(text("td", value));
      }
      return row;
    }));
    $("plan-moves").hidden = false;
    const changed = impact.grids.filter((g) => g.change !== "unchanged")
      .map((g) => `${g.code}${CHANGE_NAME[g.change]}`);
    const unstaffed = impact.grids.filter((g) => g.change !== "retired" && !g.workers.length)
      .map((g) => g.code);
    say((impact.moves.length ? `发布后将移动 ${impact.moves.length} 组对象；${changed.join("，")}`
                             : `发布不移动任何对象；${changed.join("，") || "网格未变"}`)
        + (unstaffed.length ? `；无网格员的网格：${unstaffed.join("、")}（发布后在账号管理中分配）`
                            : ""));
  }));

  $("plan-publish").addEventListener("click", () => attempt(async () => {
    if (!confirm(`发布方案「${state.plan.name}」？旧网格版本将关闭，在办事件随新网格移动。`)) return;
    let body = {};
    try {
      await call("POST", api(`/plans/${state.plan.id}/publish`), body);
    } catch (e) {
      if (e.field !== "force_reason") throw e;
      const reason = prompt(`${e.message}\n如确需发布，请填写理由（仅管理员可强制发布）：`);
      if (!reason) throw e;
      body = { force_reason: reason };
      await call("POST", api(`/plans/${state.plan.id}/publish`), body);
    }
    await refresh();
    say("方案已发布：新网格已生效");
    await listPlans();
  }));

  $("plan-new").addEventListener("click", () => attempt(async () => {
    const name = $("plan-name").value.trim() || `${state.village.properties.name}网格调整`;
    const plan = await call("POST", api("/plans"),
                            { name, villages: [state.village.properties.code] });
    $("plan-name").value = "";
    await listPlans(plan.id);
  }));
  $("plan-propose").addEventListener("click", () => attempt(async () => {
    const name = $("plan-name").value.trim();
    const most = Number($("plan-propose-max").value);
    const plan = await call("POST", api("/plans/propose"), Object.assign(
      { village: state.village.properties.code, max_households: most }, name ? { name } : {}));
    $("plan-name").value = "";
    await listPlans(plan.id);
    const [found, wrong] = await validate();  // drawn by their households at once
    say(`已按每格至多 ${most} 户划分为 ${state.count} 个网格，${found}：可调整后发布`, wrong);
  }));
  $("plan-select").addEventListener("change", () => attempt(async () => {
    if ($("plan-select").value) await openPlan(Number($("plan-select").value));
  }));

  const region = config.region;
  if (region.kind === "village") {
    attempt(async () => openVillage((await call("GET", api(
      `/regions?level=village&parent=${region.code.slice(0, 9)}&limit=1000`))).features
      .find((f) => f.properties.code === region.code)));
  } else {
    attempt(() => pick(region.code, region.child));
  }
}
