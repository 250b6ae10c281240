// The people's register (人口台账): the people of the account's jurisdiction, masked, found by
// grid, region and care tag or looked up by ID number, mobile or name, those who left apart
// until they are erased; one field of one person shown in full for a stated reason, their
// details corrected as found, one who moved away or died recorded (or such a record taken
// back), and the list exported (masked); a lookup and each of these the service writes to the
// audit log, with the reason given. A grid's households divided into micro-grids (微网格,
// 联户), each with its leader (联户长). Everything shown is set as text.
"use strict";

window.mapsvcPeople = { shown: null, micro: null };

(function peopleRegister() {
  if (!signedIn("people")) return;
  const $ = (id) => document.getElementById(id);
  let asking = null;  // the person a form under their row is about

  function row(p) {
    const tr = document.createElement("tr");
    tr.dataset.person = p.id;
    const left = p.left_on
      ? `，${DEPARTURE_NAME[p.left_reason]}于 ${p.left_on}，${p.erased_after} 后清除` : "";
    for (const [field, value] of [
      ["id", p.id], ["name", p.name], ["birth_year", p.birth_year], ["sex", SEX_NAME[p.sex]],
      ["registration", `${REGISTRATION_NAME[p.registration]}${left}`],
      ["care_tags", p.care_tags.join("、")], ["address", p.address], ["grid", p.grid_name],
      ["id_number", p.id_number], ["mobile", p.mobile]]) {
      const td = text("td", value);
      td.dataset.field = field;
      tr.appendChild(td);
    }
    tr.appendChild(actions([
      ["查看完整", "people-reveal", `查看 ${p.id} 号（${p.name}）的完整信息`],
      ...(p.left_on ? [["撤销离开", "people-withdraw", `撤销 ${p.id} 号（${p.name}）的离开登记`]]
        : [["更正信息", "people-correct", `更正 ${p.id} 号（${p.name}）的信息`],
           ["迁居", "people-move", `${p.id} 号（${p.name}）在辖区内迁居`],
           ["登记离开", "people-departure", `登记 ${p.id} 号（${p.name}）迁出或去世`]]),
    ].map(([label, form, title]) => [label, () => ask(form, title, p, tr)])));
    return tr;
  }

  const list = pagedList({
    page: "people", id: "people", unit: "人", path: () => "/api/v1/registry/people",
    show: (people) => $("people").tBodies[0].replaceChildren(...people.map(row)),
    empty: "没有符合条件的人员", watched: window.mapsvcPeople, fields: PERSON_FIELD });

  // one form at a time, about one person, under their row
  function ask(id, title, p, tr) {
    asking = { p, tr };
    const form = askAbout(id, title, tr);
    if (form.elements.on) form.elements.on.value = form.elements.on.max = chinaDay();
    if (id === "people-correct") {  // what the list shows in full, as it is; the rest blank
      const held = form.elements;
      for (const field of ["name", "id_number", "mobile", "birth_date"]) held[field].value = "";
      held.birth_date.max = chinaDay();
      held.sex.value = p.sex || "";
      held.registration.value = p.registration;
      held.care_tags.value = p.care_tags.join("、");
    }
    if (id === "people-move") {  // the addresses found for another person go
      options(moving.address, []);
      options(moving.household, []);
    }
  }

  $("people-reveal").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const field = form.elements.field.value;
    const { p, tr } = asking;
    try {
      const shown = await callApi("people", "POST", `/api/v1/registry/people/${p.id}/reveal`,
                                  { field, reason: form.elements.reason.value.trim() });
      const cell = tr.querySelector(`td[data-field="${field}"]`);
      cell.textContent = shown.value == null ? "（未登记）" : shown.value;
      cell.classList.add("revealed");
      say(`已显示 ${p.id} 号的${PERSON_FIELD[field]}，已记入审计`);
      closeAsked();
    } catch (error) {
      say(error.message, true);
    }
  });

  // a change to the register, then the list as it now is
  async function change(method, path, body, done) {
    if (await list.change(method, path, body, done)) closeAsked();
  }

  $("people-departure").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const { p } = asking;
    const reason = form.elements.reason.value;
    change("POST", `/api/v1/registry/people/${p.id}/departure`,
           { reason, on: form.elements.on.value, note: form.elements.note.value.trim() },
           `已登记 ${p.id} 号${DEPARTURE_NAME[reason]}，已记入审计`);
  });

  // Details corrected (更正信息): those typed, and those chosen otherwise than they were
  $("people-correct").addEventListener("submit", (event) => {
    event.preventDefault();
    const held = event.target.elements;
    const { p } = asking;
    const body = { reason: held.reason.value.trim() };
    for (const field of ["name", "id_number", "mobile", "birth_date"]) {
      if (held[field].value.trim()) body[field] = held[field].value.trim();
    }
    if (held.sex.value !== (p.sex || "")) body.sex = held.sex.value || null;
    if (held.registration.value !== p.registration) body.registration = held.registration.value;
    // care tags written as a registry file writes them
    const tags = held.care_tags.value.split(/[|、,，;；]/).map((t) => t.trim()).filter(Boolean);
    if (tags.join("、") !== p.care_tags.join("、")) body.care_tags = tags;
    if (Object.keys(body).length === 1) {
      say("未改动任何信息", true);
      return;
    }
    change("PATCH", `/api/v1/registry/people/${p.id}`, body,
           `已更正 ${p.id} 号的信息，已记入审计`);
  });

  // Moving within the jurisdiction (辖区内迁居): a standard address found by its words, then
  // a household there to join, or a new one there (新立户).
  const moving = $("people-move").elements;
  function options(select, entries) {
    select.replaceChildren(...entries.map(([value, label]) => {
      const option = text("option", label);
      option.value = value;
      return option;
    }));
  }
  async function households() {
    const address = moving.address.value;
    options(moving.household, []);
    if (!address) return;
    const found = await callApi("people", "GET",
                                `/api/v1/registry/households?address=${address}&limit=100`);
    options(moving.household, [
      ...found.map((h) => [`h${h.id}`, `户 ${h.id}（${h.members.length} 人：${
        h.members.map((m) => m.name).join("、") || "无人在住"}）`]),
      [`a${address}`, "在此地址新立户"]]);
  }
  moving.words.form.querySelector("button.find").addEventListener("click", async () => {
    const words = moving.words.value.trim();
    if (!words) return;
    try {
      const found = await callApi("people", "GET", `/api/v1/registry/addresses?${
        new URLSearchParams({ q: words, limit: "50" })}`);
      options(moving.address, found.features.map((f) => [
        f.properties.id, `${f.properties.address}（${f.properties.households} 户）`]));
      say(found.features.length ? "" : "辖区内没有含这些字的标准地址", !found.features.length);
      await households();
    } catch (error) {
      say(error.message, true);
    }
  });
  moving.address.addEventListener("change", () => households().catch((e) => say(e.message, true)));
  $("people-move").addEventListener("submit", (event) => {
    event.preventDefault();
    const { p } = asking;
    const to = moving.household.value;
    const where = to.startsWith("h") ? { household_id: Number(to.slice(1)) }
      : { address_id: Number(to.slice(1)) };
    change("POST", `/api/v1/registry/people/${p.id}/move`,
           { ...where, relation: moving.relation.value, on: moving.on.value },
           `已将 ${p.id} 号迁至新住址`);
  });

  $("people-withdraw").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const { p } = asking;
    const why = new URLSearchParams({ reason: form.elements.reason.value.trim() });
    change("DELETE", `/api/v1/registry/people/${p.id}/departure?${why}`, undefined,
           `已撤销 ${p.id} 号的离开登记，已记入审计`);
  });

  // the query asked, kept for the export
  let query = new URLSearchParams({ left: "false" });
  // 区域: from the regions within the account's down to the grids of a village (a grid
  // chief's: its grids); the list is found by the last region chosen and the grid, whose door
  // plates are then printed
  const finding = $("people-find").elements;
  const plates = $("people-plates").elements;
  areaPicker($("people-area"), $("people-find").dataset, { page: "people", chosen: (select) => {
    finding.region.value = areaRegion($("people-area"));
    finding.grid.value = plates.grid.value = select.dataset.level === "grid" ? select.value : "";
    $("people-plates").querySelector("button").disabled = !plates.grid.value;
    showMicro(finding.grid.value).catch((error) => say(error.message, true));
  } });

  // Micro-grids (微网格, 联户) of the grid chosen: divided by stairwell, each named and led by
  // one of its residents (联户长)
  let micro = null;  // the grid's, as the service last listed them
  const microPath = (grid) => `/api/v1/registry/grids/${grid}/micro-grids`;
  async function showMicro(grid) {
    $("micro").hidden = !grid;
    if (!grid) return;
    shownMicro(await callApi("people", "GET", microPath(grid)));
  }
  function shownMicro(listing) {
    micro = listing;
    $("micro-title").textContent = `${listing.name}的微网格（联户）`;
    $("micro-summary").textContent = `${listing.households} 户，已编入微网格 ${listing.placed} 户`
      + `；每个微网格不超过 ${listing.households_max} 户`;
    $("micro-divide").elements.households_max.placeholder = listing.households_max;
    const rows = $("micro-grids").tBodies[0];
    const asked = rows.querySelector("tr.asking");  // a form open under a micro-grid's row
    rows.replaceChildren(...listing.micro_grids.map((m) => {
      const tr = document.createElement("tr");
      tr.dataset.code = m.code;
      const leader = m.leader ? m.leader.name : m.leader_gone ? "（已离开，请重新指定）" : "—";
      for (const value of [m.code, m.name, `${m.households}${m.over ? "（超出）" : ""}`, m.people,
                           leader, m.leader ? m.leader.mobile : ""]) {
        tr.appendChild(text("td", value));
      }
      tr.appendChild(actions([["设置", () => askLead(m, tr)]]));
      return tr;
    }));
    // stays under it, while it is there; else it is put away
    const again = asked && rows.querySelector(`tr[data-code="${leading.code}"]`);
    if (again) {
      again.after(asked);
    } else if (asked) {
      rows.appendChild(asked);  // (back in the page, where closeAsked finds it)
      closeAsked();
    }
    window.mapsvcPeople.micro = listing.micro_grids.length;
  }
  $("micro-divide").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target.elements;
    try {
      shownMicro(await callApi("people", "POST", microPath(micro.grid), {
        replace: form.replace.checked,
        ...(form.households_max.value ? { households_max: Number(form.households_max.value) }
          : {}) }));
      form.replace.checked = false;
      say(`已划分：${micro.micro_grids.length} 个微网格`);
    } catch (error) {
      say(error.message, true);
    }
  });
  // a micro-grid's name and leader (one of its residents), and a household of the grid moved
  // into it (an address, with all its households)
  let leading = null;  // the micro-grid the form is about
  async function askLead(m, tr) {
    leading = m;
    const form = askAbout("micro-lead", `微网格 ${m.code}`, tr);
    form.elements.name.value = m.name;
    // the choices of the micro-grid asked about before go at once, and the form waits for
    // this one's: a choice made among them would be lost as they came
    const saving = form.querySelector("button[type=submit]");
    saving.disabled = true;
    for (const select of [form.elements.leader, form.elements.address]) {
      options(select, [["", "（载入中）"]]);
    }
    let residents, addresses;
    try {
      [residents, addresses] = await Promise.all([
        callApi("people", "GET", `/api/v1/registry/people?${
          new URLSearchParams({ micro_grid: m.code, limit: 200 })}`),
        callApi("people", "GET", `/api/v1/registry/addresses?${
          new URLSearchParams({ grid: micro.grid, limit: 1000 })}`)]);
    } catch (error) {
      say(error.message, true);
      return;
    }
    if (leading !== m) return;  // another asked about meanwhile
    saving.disabled = false;
    options(form.elements.leader, [["", "（不设）"], ...residents.map(
      (p) => [p.id, `${p.name}（${p.address}）`])]);
    form.elements.leader.value = m.leader ? m.leader.id : "";
    options(form.elements.address, [["", "（不移入）"], ...addresses.features
      .filter((f) => f.properties.households)
      .map((f) => [f.properties.id, f.properties.address])
      .sort((a, b) => a[1].localeCompare(b[1], "zh-CN", { numeric: true }))]);
  }
  $("micro-lead").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const leader = form.elements.leader.value;
    const address = form.elements.address.value;
    const path = `/api/v1/registry/micro-grids/${leading.code}`;
    try {
      shownMicro(await callApi("people", "PATCH", path, {
        name: form.elements.name.value.trim(), leader: leader ? Number(leader) : null }));
      if (address) {
        shownMicro(await callApi("people", "POST", `${path}/addresses`,
                                 { address: Number(address) }));
      }
      closeAsked();
      say(`已保存微网格 ${leading.code}`);
    } catch (error) {
      say(error.field === "leader" ? `联户长：${error.message}` : error.message, true);
    }
  });

  // A person looked up (查找人员) by ID number, mobile or full name, as what is typed reads,
  // over the whole jurisdiction, for a reason the service writes to the audit log with each
  // person shown; otherwise the people of the region, grid and care tag chosen.
  function lookedUp(who) {
    if (/^\d{17}[\dX]$/i.test(who)) return "id_number";
    return /^1\d{10}$/.test(who) ? "mobile" : "name";
  }
  $("people-find").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target.elements;
    const who = form.who.value.replace(/\s/g, "");
    if (who && !form.reason.value.trim()) {
      say("查找人员须填写查找理由（记入审计）", true);
      form.reason.focus();
      return;
    }
    query = new URLSearchParams();
    if (who) {
      query.set("left", form.left.value);
      query.set(lookedUp(who), lookedUp(who) === "name" ? form.who.value.trim() : who);
      query.set("reason", form.reason.value.trim());
    } else {
      for (const key of ["region", "grid", "care_tag", "left"]) {
        if (form[key].value.trim()) query.set(key, form[key].value.trim());
      }
    }
    list.find(query);
  });

  // the whole of the query, masked, as the service's CSV (the page's session reads it)
  $("people-export").addEventListener("submit", (event) => {
    event.preventDefault();
    const asked = new URLSearchParams(query);
    asked.set("reason", event.target.elements.reason.value.trim());
    const link = document.createElement("a");
    link.href = `/api/v1/registry/people.csv?${asked}`;
    link.download = "人口台账.csv";
    link.click();
    say("已导出，已记入审计");
  });

  // the micro-grids of the region or grid chosen with their leaders, masked (联户长名册)
  $("micro-export").addEventListener("submit", (event) => {
    event.preventDefault();
    const asked = new URLSearchParams({ reason: event.target.elements.reason.value.trim() });
    for (const key of ["region", "grid"]) {
      if (finding[key].value) asked.set(key, finding[key].value);
    }
    const link = document.createElement("a");
    link.href = `/api/v1/registry/micro-grids.csv?${asked}`;
    link.download = "联户长名册.csv";
    link.click();
    say("已导出，已记入审计");
  });

  list.find(query);
}());
