// Campaigns (专项排查): a centre sends the grid workers of a region to check every organisation,
// place or component of a kind by a date, and follows each campaign, grid by grid, with the
// hazards found and the cases they were reported as. Everything shown is set as text.
"use strict";

window.mapsvcCampaigns = { shown: null, grids: null, things: null, offered: null };

(function campaigns() {
  if (!signedIn("campaigns")) return;
  const $ = (id) => document.getElementById(id);
  const LAYER_NAME = { organisations: "单位", places: "场所", things: "部件" };
  const share = (done, all) => (all ? `${((100 * done) / all).toFixed(1)}%` : "—");
  const making = $("campaign-make");
  const area = making.querySelector("#campaign-area");

  // what the region chosen holds to check, each kind with how many; the kind chosen stays
  // chosen where the region holds it too. An answer for a region chosen before is let go.
  let asked = 0;
  async function offerKinds() {
    const asking = ++asked;
    const region = areaRegion(area);
    const found = await callApi("campaigns", "GET",
                                `/api/v1/campaigns/kinds${region ? `?region=${region}` : ""}`);
    if (asking !== asked) return;
    const select = making.elements.what;
    const chosen = select.value;
    select.replaceChildren(...found.map((k) => {
      const option = text("option", `${LAYER_NAME[k.layer]}：${k.name}（${k.things}）`);
      option.value = JSON.stringify([k.layer, k.kind]);
      option.selected = option.value === chosen;
      return option;
    }));
    window.mapsvcCampaigns.offered = region;
  }
  const offered = () => offerKinds().catch((e) => say(e.message, true));
  if (!making.hidden) {  // a grid chief follows campaigns, and makes none
    areaPicker(area, making.dataset, { page: "campaigns", lowest: "village", chosen: offered });
    offered();
    making.elements.due.min = chinaDay();
  }

  let sending = null;  // the campaign being made, sent again as itself until the service answers
  making.addEventListener("submit", async (event) => {
    event.preventDefault();
    const [layer, kind] = JSON.parse(making.elements.what.value);
    const region = areaRegion(area);
    const body = { title: making.elements.title.value.trim(), layer, kind,
                   instructions: making.elements.instructions.value.trim(),
                   due: making.elements.due.value, ...(region ? { region } : {}) };
    if (!sending || JSON.stringify(sending.body) !== JSON.stringify(body)) {
      sending = { body, client_id: clientId() };
    }
    const fields = { title: "名称", kind: "排查对象", due: "截止日期", region: "区域" };
    try {
      const made = await callApi("campaigns", "POST", "/api/v1/campaigns",
                                 { ...body, client_id: sending.client_id });
      sending = null;
      making.elements.title.value = making.elements.instructions.value = "";
      await list.find(new URLSearchParams());
      say(`已发起“${made.title}”：${made.targets} 个对象待排查`);
      open(made);
    } catch (error) {
      if (error.status !== undefined) sending = null;  // answered: not to be sent again as is
      say(fields[error.field] ? `${fields[error.field]}：${error.message}` : error.message, true);
    }
  });

  function row(c) {
    const tr = document.createElement("tr");
    tr.dataset.campaign = c.id;
    const due = c.ended_at ? `${c.due}（已结束）` : c.due < chinaDay() ? `${c.due}（已截止）`
      : c.due;
    for (const value of [c.title, c.region_name, `${LAYER_NAME[c.layer]}：${c.kind_name}`, due,
                         c.targets, c.checked, c.hazards, share(c.checked, c.targets),
                         c.made_by]) {
      tr.appendChild(text("td", value));
    }
    tr.appendChild(actions([["查看", () => open(c)]]));
    return tr;
  }
  const list = pagedList({
    page: "campaigns", id: "campaigns", unit: "项", path: () => "/api/v1/campaigns",
    show: (rows) => $("campaigns").tBodies[0].replaceChildren(...rows.map(row)),
    empty: "还没有专项排查", watched: window.mapsvcCampaigns });
  list.find(new URLSearchParams());

  // things of a campaign (``layer`` its layer), each with its last check, as rows of
  // ``table``; ``empty`` said of none
  const RESULT_NAME = { normal: "正常", hazard: "存在隐患" };
  function showThings(table, features, layer, empty) {
    table.tBodies[0].replaceChildren(...(features.length ? [] : [noneRow(table, empty)]),
                                     ...features.map((f) => {
      const p = f.properties;
      const tr = document.createElement("tr");
      tr.dataset.target = f.id;
      for (const value of [layer === "things" ? `${p.name} ${f.id}` : p.name, p.grid_name,
                           RESULT_NAME[p.result] || "未排查", p.note, p.checked_by,
                           p.checked_at && localTime(p.checked_at)]) {
        tr.appendChild(text("td", value));
      }
      const cell = document.createElement("td");
      if (p.incident) {
        const link = text("a", `${p.incident} 号`);
        link.href = `/map/desk#case=${p.incident}`;
        link.target = "_blank";
        cell.appendChild(link);
      }
      tr.appendChild(cell);
      return tr;
    }));
  }

  // its date moved, its end, or, ended, reopened with a new date, by a centre over its whole
  // region, each saying why
  const changing = $("campaign-change");
  let opened = null;
  changing.elements.due.min = chinaDay();
  changing.addEventListener("submit", async (event) => {
    event.preventDefault();
    const end = event.submitter === changing.elements.end;
    const reopen = event.submitter === changing.elements.reopen;
    const due = changing.elements.due.value;
    if (!end && !due) {
      say("新的截止日期：请选择", true);
      return;
    }
    const fields = { due: "新的截止日期", reason: "原因" };
    try {
      const changed = await callApi("campaigns", "PATCH", `/api/v1/campaigns/${opened.id}`, {
        reason: changing.elements.reason.value.trim(),
        ...(end ? { end } : reopen ? { due, reopen } : { due }) });
      changing.reset();
      await list.find(new URLSearchParams());
      say(end ? `已结束“${changed.title}”` : reopen
        ? `已重新开启“${changed.title}”，截止 ${changed.due}`
        : `“${changed.title}”截止日期已调整为 ${changed.due}`);
      open(changed);
    } catch (error) {
      say(fields[error.field] ? `${fields[error.field]}：${error.message}` : error.message, true);
    }
  });
  const changeable = (c) => !making.hidden
    && (c.region_code || "").startsWith(making.dataset.region);
  const ACTION = {
    due: (l) => `将截止日期由 ${l.due_before} 调整为 ${l.due}`, end: () => "结束排查",
    reopen: (l) => `重新开启排查，截止日期为 ${l.due}` };

  // one campaign: its grids, the least checked first, the things found hazardous, and what
  // was changed of it
  async function open(c) {
    opened = c;
    $("campaign").hidden = false;
    $("campaign-title").textContent = `${c.title}（${c.region_name}，截止 ${c.due}）`;
    $("campaign-instructions").textContent = c.instructions;
    $("campaign-ended").hidden = !c.ended_at;
    $("campaign-ended").textContent = c.ended_at ? `已于 ${localTime(c.ended_at, true)} 结束，`
      + "此后的排查不再接收" : "";
    changing.hidden = !changeable(c);
    changing.elements.move.hidden = changing.elements.end.hidden = Boolean(c.ended_at);
    changing.elements.reopen.hidden = !c.ended_at;
    $("campaign-ledger").href = `/api/v1/campaigns/${c.id}/targets.csv`;
    $("campaign-grid").hidden = true;
    const [grids, hazards, log] = await Promise.all([
      callApi("campaigns", "GET", `/api/v1/campaigns/${c.id}/grids`),
      callApi("campaigns", "GET", `/api/v1/campaigns/${c.id}/targets?result=hazard&limit=1000`),
      callApi("campaigns", "GET", `/api/v1/campaigns/${c.id}/log`),
    ]).catch((error) => { say(error.message, true); return [null, null, null]; });
    if (!grids) return;
    $("campaign-log").replaceChildren(...log.map((l) => text(
      "li", `${localTime(l.at, true)} ${l.by} ${ACTION[l.action](l)}：${l.reason}`)));
    $("campaign-grids").tBodies[0].replaceChildren(...grids.map((g) => {
      const tr = document.createElement("tr");
      tr.dataset.grid = g.code || "";
      for (const value of [g.name, g.workers || "（无网格员）", g.targets, g.checked, g.hazards,
                           share(g.checked, g.targets)]) {
        tr.appendChild(text("td", value));
      }
      tr.appendChild(g.code ? actions([["查看对象", () => openGrid(c, g)]])
                            : document.createElement("td"));
      return tr;
    }));
    showThings($("campaign-hazards"), hazards.features, c.layer, "暂未发现隐患");
    window.mapsvcCampaigns.grids = grids.length;
  }

  // a grid's things, the unchecked first: what is left to chase its worker about
  async function openGrid(c, g) {
    let found;
    try {
      found = await callApi("campaigns", "GET", `/api/v1/campaigns/${c.id}/targets?${
        new URLSearchParams({ grid: g.code, limit: 1000 })}`);
    } catch (error) {
      say(error.message, true);
      return;
    }
    $("campaign-grid").hidden = false;
    $("campaign-grid-title").textContent = `${g.name}的排查对象（${g.checked}/${g.targets}）`;
    showThings($("campaign-grid-things"), found.features, c.layer, "");
    window.mapsvcCampaigns.things = found.features.length;
  }
})();
