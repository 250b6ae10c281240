// The command centre's desk (受理派遣台, mapsvc.layers.desk), or a department's (处置台): the
// cases in a list and on the map, one opened with its steps and moved on through the loop by the
// actions the account may take in its state. Text that users typed is only ever set as text.
"use strict";

// the list's filters (GET /incidents), which the ledger takes too: of the centre's views and
// the department's (mapsvc.layers.desk); the cases waiting on the account (mine) are those
// escalated to a centre's level, and a department's to take on or being handled
const VIEWS = {
  reported: { status: "reported" }, waiting: { status: "waiting" }, filed: { status: "filed" },
  handled: { status: "handled" }, closed: { status: "closed" }, mine: { queue: "mine" },
  dispatched: { status: "dispatched" }, in_progress: { status: "in_progress" },
  nearly: { queue: "mine", colour: "yellow" },
  red: { colour: "red" }, overdue: { overdue: true }, yellow: { colour: "yellow" },
  extension: { extension: "requested" }, exemption: { exemption: "requested" },
  open: { open: true }, urgent: { urgent: true, open: true }, urged: { urged: true, open: true },
  uncontacted: { response: "due" },
  unassigned: { method: "unassigned" }, all: {},
};
const COLOUR = { green: "#2e7d32", yellow: "#f9a825", red: "#c62828" };
const NO_CLOCK = "#78909c";  // a case with no clock running
// the rings of the cases on the map: one marked urgent, those ticked, those the open case
// may repeat
const RING = { urgent: "#c62828", chosen: "#1565c0", near: "#6a1b9a" };
// the states of a case with its handler, whose handling deadline the list shows
// (mapsvc.workflow.machine.HANDLING)
const HANDLING = ["dispatched", "in_progress"];
const LIST_SIZE = 200;
// the regions a view may keep to, by the API's filter of each
const SCOPES = ["city", "county", "township", "village", "grid"];
const GRID = { color: "#455a64", weight: 1, fillColor: "#90a4ae", fillOpacity: 0.08 };
const REGION = { color: "#37474f", weight: 2, fill: false };
const OWN_GRID = { color: "#ef6c00", weight: 3, fillColor: "#ffcc80", fillOpacity: 0.2 };
// fields an action takes beside those it needs: the department dispatched to (else the
// category's), the working days an extension grants (else those asked for), whether the caller
// says the problem was resolved (else not asked)
const MAY_TAKE = { dispatch: ["department"], reassign: ["department"], extend: ["working_days"],
                   follow_up: ["resolved"] };
// why a case refuses an action whose condition it does not meet
const CONDITION_NAME = { requested: "没有待审批的延期申请", extendable: "延期次数已满",
                         suspended: "未挂账", running: "已挂账", ordinary: "已加急",
                         counted: "已不纳入考核", appealable: "已不纳入考核或已申请", appealed: "没有待审核的不纳入考核申请",
                         exempted: "已纳入考核" };

function mapsvcDesk(map, config) {
  if (!signedIn("desk")) return;
  const $ = (id) => document.getElementById(id);
  const state = { map, cases: [], matched: 0, shown: LIST_SIZE, asked: 0, selected: null,
                  action: null, many: false, chosen: new Set(), online: false,
                  unseen: new Set(), listedAs: null, scopeAsked: null, steps: [], spot: null,
                  registering: false, clientId: null, addressAsked: null, paper: false,
                  revealed: null, callsAsked: null, at: -1, opening: 0, asking: null,
                  categories: {}, scope: null,
                  gridsOf: null, marks: L.layerGroup().addTo(map), pin: null, point: null,
                  near: L.layerGroup().addTo(map) };
  window.mapsvcDesk = state;  // what the page shows, for whoever looks on (tests)
  const moveMap = viewMover(map);
  // the map narrowed as a case opens beside it on a desk's screen, widened as it closes
  new ResizeObserver(() => map.invalidateSize()).observe(map.getContainer());
  // the grids around the open case, its own outlined, in a pane under the cases
  map.createPane("grids").style.zIndex = 350;
  map.createPane("case").style.zIndex = 450;  // the open case, over the list's
  state.grids = L.geoJSON(null, {
    pane: "grids",
    style: (f) => (state.selected && state.selected.grid
                   && f.properties.code === state.selected.grid.code ? OWN_GRID : GRID),
    onEachFeature: (f, layer) => layer.bindTooltip(text("span", f.properties.name)),
  }).addTo(map);

  const call = (method, path, body) => callApi("desk", method, config.api + path, body);

  // a form whose sending ``send(form)`` does, once however often its button is clicked while
  // it is on its way
  function sentOnce(form, send) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await send(form);
      } finally {
        button.disabled = false;
      }
    });
  }

  function say(message, bad) {
    $("desk-message").textContent = message;
    $("desk-message").className = bad ? "bad" : "";
  }

  const supervision = (level) => $("desk-form").elements.level
    .querySelector(`option[value="${level}"]`).textContent;
  const when = (stamp) => (stamp ? localTime(stamp, state.paper) : "");  // in full on paper
  const due = (stamp) => (stamp && !state.paper ? dueTime(stamp) : when(stamp));  // a deadline
  // a case's handling deadline, and, its clock running past it, by how long (on the screen)
  function handlingDue(p) {
    const clock = p.clocks && p.clocks.handling;
    const late = clock && clock.colour === "red" && !state.paper ? overdueFor(clock.deadline)
      : "";
    return `${due(p.handling_deadline)}${late ? `（${late}）` : ""}`;
  }
  const category = (code) => (state.categories[code] || { name: code }).name;
  // what the case's class asks for it to be filed and closed (立案条件, 结案条件)
  const conditions = (code) => state.categories[code] || {};
  const department = (code) => {
    const found = config.departments.find((d) => d.code === code);
    return found ? departmentName(found, config.region.code) : code;
  };

  // ---- the list, and the cases on the map ----

  // the view's filters, and the region's within the jurisdiction, the department's, the
  // class's (its subclasses' too), the source's and the words' when given
  function view() {
    const department = $("desk-department").value;
    const category = $("desk-category").value;
    const source = $("desk-source").value;
    const q = $("desk-words").value.trim();
    return { ...VIEWS[$("desk-view").value], ...(state.scope || {}),
             ...(department ? { department } : {}), ...(category ? { category } : {}),
             ...(source ? { source } : {}), ...(q ? { q } : {}) };
  }

  // The view's cases, newest, oldest or most urgent first (urgent, then soonest due), LIST_SIZE
  // more at each 再显示 (up to a page of the API's); an answer overtaken by a later question is
  // dropped. Read again as the live feed has it (``live``), the cases come into the view since
  // it was last read are news (新), marked until opened.
  const ORDER_NAME = { newest: "最新", oldest: "最早", due: "最急" };
  async function loadList(live = false) {
    const asked = ++state.asked;
    const order = $("desk-order").value;
    const limit = Math.min(state.shown, config.listMost);
    const query = new URLSearchParams({ ...view(), order, limit, count: true });
    const found = await call("GET", `/incidents?${query}`);
    if (asked !== state.asked) return;
    const before = new Set(state.cases.map((f) => f.id));  // as last listed
    state.cases = found.features;
    const ids = new Set(state.cases.map((f) => f.id));
    if (live && state.listedAs === query.toString()) {
      for (const id of ids) if (!before.has(id)) state.unseen.add(id);
    }
    for (const id of state.unseen) if (!ids.has(id)) state.unseen.delete(id);
    state.listedAs = query.toString();
    showNews();
    keepAddress();
    state.matched = found.numberMatched;
    $("desk-export").href = `${config.api}/incidents.csv?${new URLSearchParams(view())}`;
    const shown = state.cases.length;
    $("desk-count").textContent = `共 ${state.matched} 件` + (state.matched > shown
      ? `，显示${ORDER_NAME[order]}的 ${shown} 件` : "");
    const more = Math.min(LIST_SIZE, state.matched - shown, config.listMost - shown);
    $("desk-more").hidden = more <= 0;
    $("desk-more").textContent = `再显示 ${more} 件`;
    const items = state.cases.map((f) => {
      const p = f.properties;
      const li = text("li", "", p.colour || "");
      li.dataset.id = f.id;
      const box = document.createElement("input");  // chosen for a step on many at once
      box.type = "checkbox";
      box.checked = state.chosen.has(f.id);
      box.setAttribute("aria-label", `选择案件 #${f.id}`);
      box.addEventListener("click", (e) => e.stopPropagation());
      box.addEventListener("change", () => {
        if (box.checked) state.chosen.add(f.id);
        else state.chosen.delete(f.id);
        showBatch();
      });
      li.append(box);
      if (state.unseen.has(f.id)) li.append(text("mark", "新", "news"));
      if (p.urgent_at) li.append(text("mark", "急", "urgent"));
      if (p.urged) li.append(text("mark", `催${p.urged}`, "urged"));
      const handling = HANDLING.includes(p.status) && p.handling_deadline
        ? ` · 处置时限 ${handlingDue(p)}` : "";
      li.append(text("b", `#${f.id} ${STATUS[p.status] || p.status}`),
                text("span", ` ${[category(p.category), p.description].filter(Boolean)
                  .join(" · ")}`),
                text("small", [`${when(p.reported_at)} 上报`, casePlace(p, listedWithin())]
                  .filter(Boolean).join(" · ") + handling));
      if (state.selected && state.selected.id === f.id) li.classList.add("selected");
      li.addEventListener("click", () => openCase(f.id));
      li.tabIndex = 0;  // from the keyboard too: Tab to a case, the arrows along the list,
      li.addEventListener("keydown", (e) => {  // Enter to open it
        if (e.target !== li) return;
        const to = { ArrowDown: li.nextElementSibling, ArrowUp: li.previousElementSibling,
                     Home: li.parentElement.firstElementChild,
                     End: li.parentElement.lastElementChild }[e.key];
        if (to !== undefined) {
          e.preventDefault();
          if (to) to.focus();
        } else if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          openCase(f.id);
        }
      });
      return li;
    });
    // the case (or its box) the keyboard was at keeps it as the list is read again
    keepingFocus($("desk-list"), (el) => `li[data-id="${el.closest("li").dataset.id}"]`
      + (el.tagName === "INPUT" ? " input" : ""), () => $("desk-list").replaceChildren(
      ...(items.length ? items : [text("li", "暂无此类案件", "none")])));
    state.marks.clearLayers();
    for (const f of state.cases) {
      const [lon, lat] = f.geometry.coordinates;
      const mark = L.circleMarker([lat, lon], { ...markStyle(f), bubblingMouseEvents: false })
        .on("click", () => openCase(f.id)).addTo(state.marks);
      mark.feature = f;
    }
    showBatch();
  }

  // What ``container`` holds drawn anew (``render``), the keyboard kept where it was: at the
  // element that ``where`` (a selector of the element focused) finds again, if it does
  function keepingFocus(container, where, render) {
    const at = container.contains(document.activeElement) ? where(document.activeElement) : null;
    render();
    const again = at && container.querySelector(at);
    if (again) again.focus({ preventScroll: true });
  }

  // How many cases came in and are not yet opened: in the tab's title too, for a desk left
  // behind other tabs.
  const TITLE = document.title;
  function showNews() {
    document.title = state.unseen.size ? `(${state.unseen.size}) ${TITLE}` : TITLE;
  }

  // a case on the map: ringed in blue when chosen, else in red when urgent
  function markStyle(f) {
    const ring = state.chosen.has(f.id) ? RING.chosen : f.properties.urgent_at && RING.urgent;
    return { radius: ring ? 8 : 6, weight: ring ? 3 : 1, color: ring || "#263238",
             fillOpacity: 0.85, fillColor: COLOUR[f.properties.colour] || NO_CLOCK };
  }

  // ---- cases chosen in the list, for a step on all of them at once (批量办理) ----

  // The cases chosen among those listed (one that has left the list is chosen no more), and the
  // steps the account may take on every one of them at once.
  function showBatch() {
    const listed = new Map(state.cases.map((f) => [f.id, f.properties]));
    for (const id of state.chosen) if (!listed.has(id)) state.chosen.delete(id);
    const chosen = [...state.chosen].map((id) => listed.get(id));
    for (const box of $("desk-list").querySelectorAll("input[type=checkbox]")) {
      box.checked = state.chosen.has(Number(box.closest("li").dataset.id));
    }
    state.marks.eachLayer((mark) => mark.setStyle(markStyle(mark.feature)));
    $("desk-all").checked = chosen.length > 0
      && chosen.length === Math.min(state.cases.length, config.batchMost);
    $("desk-all").disabled = !state.cases.length;
    $("desk-chosen").textContent = chosen.length ? `已选 ${chosen.length} 件` : "";
    const tooMany = chosen.length > config.batchMost;
    const names = chosen.length && !tooMany ? Object.keys(ACTIONS).filter((name) =>
      ACTIONS[name].batch && chosen.every((p) => possible(p).includes(name))) : [];
    $("desk-batch-actions").replaceChildren(...(tooMany
      ? [text("small", `一次最多批量办理 ${config.batchMost} 件`)]
      : chosen.length && !names.length ? [text("small", "所选案件没有可一并办理的步骤")]
        : names.map((name) => {
          const b = button(`批量${ACTION_NAME[name] || name}`, () => choose(name, true));
          b.dataset.action = name;
          return b;
        })));
    if (state.many && (!chosen.length || tooMany)) closeForm();
    else if (state.many) formTitle();
  }

  // a refused case's reason (an item of the API's refusal), as the desk says it
  function reason(d) {
    if (d.type === "notfound") return `不存在或${config.outOfReach}`;
    if (d.ctx && d.ctx.status) return `案件当前为${STATUS[d.ctx.status] || d.ctx.status}`;
    if (d.ctx && d.ctx.condition) return CONDITION_NAME[d.ctx.condition];
    if (d.ctx && d.ctx.category) return "已是所选类别";
    if (d.ctx && d.ctx.rule === "elsewhere") return `所选部门属${d.ctx.name}，不负责此案件所在地`;
    if (d.loc[d.loc.length - 1] === "department") return "其类别未指定处置部门，请选择处置部门";
    return d.msg;
  }

  // ---- a case: its facts, its steps, and what may be done with it ----

  function facts(p) {
    const rows = [
      ["状态", STATUS[p.status] || p.status], ["类别", category(p.category)],
      ["立案条件", conditions(p.category).filing_condition],
      ["结案条件", conditions(p.category).closing_condition],
      ["上报时间", when(p.reported_at)], ["来源", SOURCE_NAME[p.source] || p.source],
      ["来源工单编号", p.source_number],
      ["网格", p.grid ? `${p.grid.name}（${p.grid.code}）` : "未入格"],
      ["所在地", casePlace(p)],
      ["入格方式", METHOD_NAME[p.method] || p.method],
      ["处置部门", p.department ? department(p.department) : ""],
      ["核实时限", due(p.clocks.verify.deadline)],  // while the field is asked to verify
      ["签收时限", p.status === "dispatched" ? due(p.accept_deadline) : ""],
      ["加急", when(p.urgent_at)], ["处置时限", handlingDue(p)],
      ["警示", COLOUR_NAME[p.colour] || ""],
      ["督办", p.supervision ? supervision(p.supervision) : ""],
      ["联系诉求人时限", HANDLING.includes(p.status) && !p.contacted_at
        ? due(p.response_deadline) : ""],
      ["催办", p.urged ? `${p.urged} 次` : ""], ["联系诉求人", when(p.contacted_at)],
      ["申请不纳入考核", when(p.exemption_requested_at)], ["不纳入考核", when(p.exempted_at)],
      ["挂账", p.suspended ? "是" : ""],
      ["回访", p.satisfaction ? `满意度 ${p.satisfaction}`
                               + (p.resolved in RESOLVED ? ` · ${RESOLVED[p.resolved]}` : "") : ""],
      ["延期申请", p.extension_request ? `${p.extension_request.working_days} 个工作日：`
                                        + `${p.extension_request.note || ""}` : ""],
      ["已延期", p.extensions ? `${p.extensions} 次` : ""],
    ];
    return rows.filter(([, value]) => value).flatMap(([name, value]) => [
      text("dt", name), text("dd", value)]);
  }

  // the actions the account may take on the case: in its state, and where their condition holds
  function possible(p) {
    return Object.keys(ACTIONS).filter((name) => mayTake(name, p, config.role));
  }

  // whether case ``p`` is the one open: as it was read, or as read again since (the live feed
  // reads the open case again as it changes)
  const showing = (p) => state.selected !== null && state.selected.id === p.id;

  // ``id`` opened, or the open case read again (after a step): then the map stays where the
  // user moved it, and an action being filled in stays open while the case still allows it.
  // The case asked for last is the one shown, however their answers come.
  async function openCase(id) {
    const asked = ++state.opening;
    state.asking = id;
    let p, steps;
    try {
      [p, steps] = await Promise.all([call("GET", `/incidents/${id}`),
                                      call("GET", `/incidents/${id}/timeline`)]);
    } catch (error) {  // (not found, say): the case open stays the one the feed follows
      if (asked === state.opening) state.asking = state.selected && state.selected.id;
      throw error;
    }
    if (asked !== state.opening) return;  // another asked for since
    const reread = showing(p);
    [state.selected, state.steps, state.spot] = [p, steps, null];
    if (!reread) {
      state.revealed = null;
      $("desk-reveal").hidden = true;
      state.at = state.cases.findIndex((f) => f.id === p.id);  // its place in the list
    }
    keepAddress();  // an address to come back to
    $("desk-case").hidden = false;
    $("desk-case-title").textContent = `案件 #${p.id}`;
    showSheet();
    $("desk-case-description").textContent = p.description || "";
    keepingFocus($("desk-actions"), (el) => `[data-action="${el.dataset.action}"]`,
                 () => $("desk-actions").replaceChildren(...possible(p).map((name) => {
                   const b = button(ACTION_NAME[name] || name, () => choose(name));
                   b.dataset.action = name;
                   return b;
                 })));
    // before what is read next: a step chosen meanwhile keeps its form
    if (!state.many && !(reread && state.action && possible(p).includes(state.action))) {
      closeForm();
    }
    if (!state.many && !reread) {  // what is said from now on is of this case, beside it
      beside(false);
      say("");
    }
    showHotspot(p).catch(() => {});  // a fact more, once found
    showSameCaller(p).catch(() => {});
    await showDuplicates(p);
    if (asked !== state.opening) return;
    for (const li of $("desk-list").children) {
      li.classList.toggle("selected", li.dataset.id === String(id));
    }
    const listed = $("desk-list").querySelector("li.selected");
    if (!reread && listed && getComputedStyle($("desk-case")).position === "fixed") {
      listed.scrollIntoView({ block: "nearest" });  // its place in the list (by 下一件, say)
    }
    if (state.unseen.delete(p.id)) {  // news no more
      const mark = $("desk-list").querySelector(`li[data-id="${p.id}"] mark.news`);
      if (mark) mark.remove();
      showNews();
    }
    if (state.mark) state.mark.remove();
    state.mark = L.circleMarker([p.lat, p.lon], {
      pane: "case", radius: 10, weight: 3, color: "#0d47a1",
      fillColor: COLOUR[p.colour] || NO_CLOCK, fillOpacity: 0.9 }).addTo(map);
    await drawGrids(p);
    if (asked !== state.opening) return;
    if (!reread) {  // the case in its grid, and its sheet in sight where it is under the list
      if (getComputedStyle($("desk-case")).position !== "fixed") {
        $("desk-case").scrollIntoView({ block: "start" });
      }
      const own = state.grids.getLayers().find((l) => p.grid
                                                && l.feature.properties.code === p.grid.code);
      moveMap(() => {
        if (own) map.fitBounds(own.getBounds().extend([p.lat, p.lon]), { maxZoom: 17 });
        else map.setView([p.lat, p.lon], 16);
      });
    }
  }

  // The case after the open one in the list (下一件), to take a view's cases one after another:
  // the one in its place if it has left the view (taken on, say), the first if it was never in
  // it (opened by its number).
  function nextCase() {
    const at = state.cases.findIndex((f) => f.id === state.selected.id);
    const next = at >= 0 ? state.cases[at + 1] : state.cases[Math.max(state.at, 0)];
    if (next) opened(next.id);
    else say("已是列表中的最后一件");
  }

  // the open case closed, the form of its step with it: the map marks none, and widens again
  // where the case stood beside it
  function closeCase() {
    if (!state.many) {
      closeForm();
      beside(true);  // what is said from now on, above the list
      say("");
    }
    // the keyboard, if it was at the case, back at its place in the list
    const back = $("desk-case").contains(document.activeElement) && state.selected
      && $("desk-list").querySelector(`li[data-id="${state.selected.id}"]`);
    state.opening += 1;  // a case's answer on its way shown no more
    state.selected = state.revealed = state.asking = null;
    $("desk-reveal").hidden = true;
    $("desk-case").hidden = true;
    if (back) back.focus();
    if (state.mark) state.mark.remove();
    state.mark = null;
    for (const li of $("desk-list").querySelectorAll("li.selected")) {
      li.classList.remove("selected");
    }
    state.grids.setStyle(state.grids.options.style);
    keepAddress();
  }

  // The place where cases of its class keep coming (高发点位) that the case is one of: among
  // those found in the last 30 days within some 500 m, the one naming it (among its newest
  // cases), or else whose cases reach as far as it.
  async function showHotspot(p) {
    const near = 0.005;
    const query = new URLSearchParams({
      window: "30d", category: p.category, limit: "50",
      bbox: [p.lon - near, p.lat - near, p.lon + near, p.lat + near].join(",") });
    const spot = (await call("GET", `/incidents/hotspots?${query}`)).features.find((f) => {
      const [lon, lat] = f.geometry.coordinates;
      return f.properties.category === p.category && (f.properties.ids.includes(p.id)
        || map.distance([p.lat, p.lon], [lat, lon]) <= f.properties.radius_m);
    });
    if (!spot || !showing(p)) return;  // none, or another case opened meanwhile
    state.spot = `近30天此处同类 ${spot.properties.cases} 件（在办 ${spot.properties.open} 件）`;
    showSheet();
  }

  // The open case's facts (with the place its class keeps coming to, once found) and its
  // steps: their times as the screen writes them, or in full on paper (``state.paper``).
  function showSheet() {
    $("desk-case-facts").replaceChildren(...facts(state.selected), ...callerFacts(state.selected),
                                         ...(state.spot
                                           ? [text("dt", "高发点位"), text("dd", state.spot)]
                                           : []));
    $("desk-steps").replaceChildren(...state.steps.map((step) => stepItem(step, stepPhoto,
                                                                            state.paper)));
  }

  // who called (to the centre and the department), masked until revealed for a reason, each
  // value's reveal audited: to answer them and call them back
  function callerFacts(p) {
    if (!p.caller) return [];
    const revealed = state.revealed && state.revealed.id === p.id;
    const shown = revealed ? state.revealed : p.caller;
    const dd = text("dd", shown.name || "");
    if (shown.phone) {
      if (shown.name) dd.append(" · ");
      const phone = text(revealed ? "a" : "span", shown.phone);
      if (revealed) phone.href = `tel:${shown.phone}`;
      dd.append(phone);
    }
    if (!revealed) {
      dd.append(" ", button("查看完整", () => {
        const form = $("desk-reveal");
        form.reset();
        form.hidden = false;
        form.elements.reason.focus();
      }));
    }
    return [text("dt", "来电人"), dd];
  }

  // the open case's caller in full, each value they gave revealed for the reason typed
  async function reveal(reason) {
    const p = state.selected;
    const revealed = { id: p.id };
    try {
      for (const field of ["name", "phone"].filter((f) => p.caller[f])) {
        revealed[field] = (await call("POST", `/incidents/${p.id}/caller/reveal`,
                                      { field, reason })).value;
      }
    } catch (error) {
      say(`查看来电人未完成：${error.message}`, true);
      return;
    }
    if (!showing(p)) return;  // another case opened meanwhile
    state.revealed = revealed;
    $("desk-reveal").hidden = true;
    showSheet();
  }

  function button(label, onClick) {
    const b = text("button", label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  // the other cases reported from the caller's phone (重复来电), newest first, each a click
  // from opening
  async function showSameCaller(p) {
    const section = $("desk-same-caller");
    if (section.dataset.of !== String(p.id)) section.hidden = true;  // another case's
    if (!(p.caller && p.caller.phone)) return;
    const found = await call("GET", `/incidents?${new URLSearchParams({
      caller_of: p.id, limit: 20, count: true })}`);
    if (!showing(p)) return;  // another case opened since
    section.dataset.of = p.id;
    section.hidden = !found.features.length;
    section.querySelector("small").textContent = `${found.numberMatched} 件`;
    section.querySelector("ol").replaceChildren(...found.features.map(callItem));
  }

  // a case a caller reported, as a list of their calls has it: a click from opening
  function callItem(f) {
    const q = f.properties;
    const li = text("li", "");
    li.dataset.id = f.id;
    li.append(button(`#${f.id}`, () => openCase(f.id)),
              text("span", ` ${STATUS[q.status] || q.status} · ${category(q.category)} · `
                           + `${when(q.reported_at)} 上报`),
              text("small", q.description || ""));
    return li;
  }

  // the open cases a case that may still be merged may repeat, listed and ringed on the map:
  // each to be opened, or merged into
  async function showDuplicates(p) {
    const near = possible(p).includes("merge")
      ? (await call("GET", `/incidents/${p.id}/duplicates`)).features : [];
    if (!showing(p)) return;  // another case opened since
    $("desk-duplicates").hidden = !near.length;
    $("desk-duplicate-list").replaceChildren(...near.map((f) => {
      const q = f.properties;
      const li = text("li", "");
      li.dataset.id = f.id;
      li.append(text("b", `#${f.id} ${STATUS[q.status] || q.status}`),
                text("span", ` ${category(q.category)} · 相距 ${q.distance_m} 米`),
                text("small", q.description || ""),
                button("查看", () => openCase(f.id)),
                button("合并到此案", () => {
                  choose("merge");
                  $("desk-form").elements.original.value = f.id;
                }));
      return li;
    }));
    state.near.clearLayers();
    for (const f of near) {
      const [lon, lat] = f.geometry.coordinates;
      L.circleMarker([lat, lon], { pane: "case", radius: 8, weight: 3, color: RING.near,
                                   fill: false, bubblingMouseEvents: false })
        .bindTooltip(`#${f.id}`).on("click", () => openCase(f.id)).addTo(state.near);
    }
  }

  // the grids of the case's village (near its point, when it is in none)
  async function drawGrids(p) {
    const near = 0.01;
    await showGrids(p.village ? `parent=${encodeURIComponent(p.village.code)}`
      : `bbox=${[p.lon - near, p.lat - near, p.lon + near, p.lat + near].join(",")}`);
  }

  // the grids ``of`` a query of GET /grids, unless they are those drawn
  async function showGrids(of) {
    if (of !== state.gridsOf) {
      state.gridsOf = of;
      let grids;
      try {
        grids = await call("GET", `/grids?${of}&limit=1000`);
      } catch (error) {
        state.gridsOf = null;  // asked again next time
        throw error;
      }
      if (state.gridsOf !== of) return;  // others asked for meanwhile
      state.grids.clearLayers();
      state.grids.addData(grids);
    }
    state.grids.setStyle(state.grids.options.style);
  }

  function closeForm() {
    state.action = null;
    state.many = false;
    $("desk-form").hidden = true;
    if (!state.registering) unpin();
  }

  function unpin() {
    if (state.pin) state.pin.remove();
    state.pin = state.point = null;
    map.getContainer().classList.remove("placing");
  }

  // ---- a place picked on the map, and where it would land: a case's new one (relocate), or a
  // case's being registered ----

  const placing = () => state.registering
    || (state.action && fieldsOf(state.action).includes("point"));

  async function place(latlng) {
    const told = state.registering ? $("desk-new-point") : $("desk-point");
    if (!state.pin) {
      state.pin = L.marker(latlng, { draggable: true, pane: "case" }).addTo(map)
        .on("dragend", () => place(state.pin.getLatLng()));
    }
    state.pin.setLatLng(latlng);
    say("");
    const point = { lon: +latlng.lng.toFixed(7), lat: +latlng.lat.toFixed(7) };
    state.point = point;
    const shown = `${point.lon.toFixed(6)}, ${point.lat.toFixed(6)}`;
    told.textContent = `${shown} · 查询所在网格…`;
    const at = await call("GET", `/locate?${new URLSearchParams(point)}`);
    if (state.point !== point) return;  // moved again meanwhile
    told.textContent = `${shown} · ${at.grid
      ? `${METHOD_NAME[at.method]}：${at.grid.name}（${at.grid.code}）` : "不在任何网格内，待分派"}`;
  }

  // ---- taking an action ----

  function fieldsOf(name) {
    const a = ACTIONS[name];
    return [...a.needs, ...(MAY_TAKE[name] || [])];
  }

  // the form and what is said of a step: beside the open case, or the cases chosen (``many``)
  const beside = (many) => (many ? $("desk-batch") : $("desk-actions")).after($("desk-doing"));

  function formTitle() {
    const name = ACTION_NAME[state.action] || state.action;
    $("desk-form-title").textContent = state.many ? `批量${name}：所选 ${state.chosen.size} 件`
                                                  : name;
  }

  // The form of a step on the open case, or on the cases chosen (``many``): a step that asks
  // nothing is taken on the open case at once, and on many once the form is sent.
  function choose(name, many = false) {
    const a = ACTIONS[name];
    if (state.registering) closeNew();
    const fields = fieldsOf(name);
    if (!many && !a.note && !fields.length) {
      act(name, {});
      return;
    }
    closeForm();
    state.action = name;
    state.many = many;
    beside(many);
    say("");  // of the step before
    formTitle();
    const form = $("desk-form");
    for (const label of form.querySelectorAll("[data-field]")) {
      const field = label.dataset.field;
      label.hidden = !(field === "note" || fields.includes(field)
                       || (field === "photos" && a.photo && !many));  // of one case's result
    }
    if (placing()) {
      $("desk-point").textContent = "在地图上点击案件的正确位置，可拖动标记";
      map.getContainer().classList.add("placing");
    }
    form.elements.note.required = a.note;
    form.elements.note.value = "";
    $("desk-phrases").replaceChildren(...phraseButtons(PHRASES[name] || [], form.elements.note));
    form.elements.working_days.value = "";
    form.elements.original.value = "";
    form.elements.photos.value = "";
    form.elements.category.value = "";
    form.elements.resolved.value = "";
    form.elements.category.required = fields.includes("category");
    if (fields.includes("department")) {
      // the departments serving the case's place (its county's, its city's, the
      // deployment's); for many cases, every one, a case it serves not refused by name
      const village = !many && state.selected.village ? state.selected.village.code : "";
      choices(form.elements.department, [["", "按类别及所在地确定部门"], ...config.departments
        .filter((d) => !village || !d.region || village.startsWith(d.region.code))
        .map((d) => [d.code, departmentName(d, config.region.code)])]);
    }
    form.hidden = false;
    form.elements.note.focus();
  }

  function filled(name) {
    const form = $("desk-form").elements;
    const body = { note: form.note.value };
    if (state.point) body.point = state.point;
    for (const field of fieldsOf(name).filter((f) => f !== "point")) {
      const value = form[field].value;
      if (value === "") continue;
      body[field] = ["satisfaction", "working_days", "original"].includes(field)
        ? Number(value) : field === "resolved" ? value === "true" : value;
    }
    return body;
  }

  // The photos chosen in a file ``input`` (a step's result, a caller's report), uploaded (one
  // sent again is not stored twice): their ids, or null when one is refused, the desk saying
  // which and why.
  async function uploaded(input) {
    const files = [...input.files];
    const refuse = (words) => {
      say(words, true);
      return null;
    };
    if (files.length > PHOTOS_MOST) return refuse(`最多附 ${PHOTOS_MOST} 张照片`);
    const most = config.photoMostBytes;
    const large = files.find((file) => file.size > most);
    if (large) return refuse(`照片“${large.name}”超过 ${Math.floor(most / 1048576)} MB`);
    const ids = [];
    for (const file of files) {
      const sent = new FormData();
      sent.append("file", file, file.name);
      try {
        ids.push((await call("POST", "/media", sent)).id);
      } catch (error) {
        return refuse(`照片“${file.name}”未能上传：${error.status === 422
          ? "须为 JPEG、PNG 或 WebP 图片" : error.message}`);
      }
    }
    return ids;
  }

  // what a refusal names at fault: each field, or each case of many (with its ``ctx.id``)
  const refusals = (error) => (error.answer && Array.isArray(error.answer.detail)
    ? error.answer.detail : []);

  async function act(name, body) {
    const id = state.selected.id;
    beside(false);
    try {
      await call("POST", `/incidents/${id}/actions/${name}`, body);
    } catch (error) {
      const [refused] = refusals(error);
      say(`${ACTION_NAME[name] || name}未完成：${refused ? reason(refused) : error.message}`, true);
      return;
    }
    say(`${ACTION_NAME[name] || name}：已完成`);
    closeForm();
    await Promise.all([openCase(id), loadList()]);
  }

  // The step on every case chosen, all or none: the cases refused are said, each with its
  // reason; those out of reach or in a state (or condition) that does not take the step are
  // chosen no more, for the rest to be sent again, and those refused what the form gave (no
  // department named, where a class names none) stay chosen, for it to be given.
  async function actOnMany(name, body) {
    const ids = [...state.chosen];
    const named = `批量${ACTION_NAME[name] || name}`;
    try {
      await call("POST", `/incidents/actions/${name}`, { ...body, ids });
    } catch (error) {
      const refused = refusals(error).filter((d) => d.ctx && d.ctx.id);
      if (!refused.length) {
        say(`${named}未完成：${error.message}`, true);
        return;
      }
      const out = refused.filter((d) => d.type === "notfound" || d.type === "conflict");
      for (const d of out) state.chosen.delete(d.ctx.id);
      showBatch();
      say(`${named}未办理，所选案件均未改动。`
          + refused.map((d) => `#${d.ctx.id} ${reason(d)}`).join("；")
          + (out.length ? `。已将不能${ACTION_NAME[name] || name}的 ${out.length} 件移出所选` : ""),
          true);
      return;
    }
    state.chosen.clear();
    closeForm();
    showBatch();
    say(`${named}：${ids.length} 件已完成`);
    await Promise.all([loadList(), state.selected && ids.includes(state.selected.id)
      ? openCase(state.selected.id) : null]);
  }

  // ---- a caller's report registered at the desk (来电登记): its place picked on the map, or
  // at a standard address found by its words ----

  function openNew() {
    closeForm();
    $("desk-import").hidden = true;
    state.registering = true;
    state.clientId = null;
    const form = $("desk-new");
    form.reset();
    form.elements.source.value = "hotline";
    $("desk-new-addresses").replaceChildren();
    $("desk-new-point").textContent = "在地图上点击事发位置（可拖动标记），或按地址查找";
    $("desk-new-calls").hidden = true;
    form.hidden = false;
    form.after($("desk-doing"));
    say("");
    map.getContainer().classList.add("placing");
    form.elements.description.focus();
  }

  function closeNew() {
    state.registering = false;
    $("desk-new").hidden = true;
    unpin();
  }

  // the standard addresses the words typed find, each a click from being the case's place
  async function findAddresses() {
    const words = $("desk-new").elements.address.value.trim();
    state.addressAsked = words;
    const found = words ? (await call("GET", `/registry/addresses?${new URLSearchParams({
      q: words, limit: 8 })}`)).features : [];
    if (state.addressAsked !== words) return;  // typed on meanwhile
    $("desk-new-addresses").replaceChildren(...(words && !found.length
      ? [text("li", "未找到此地址，请在地图上点击事发位置", "none")]
      : found.map((f) => {
        const li = text("li", f.properties.address);
        li.tabIndex = 0;
        const pick = () => {  // the case there, and the address the first line of its words
          const [lon, lat] = f.geometry.coordinates;
          moveMap(() => map.setView([lat, lon], 17));
          place(L.latLng(lat, lon)).catch((error) => say(error.message, true));
          const said = $("desk-new").elements.description;
          said.value = `地址：${f.properties.address}\n${said.value.replace(/^地址：.*\n?/, "")}`;
          for (const other of li.parentNode.children) {
            other.classList.toggle("chosen", other === li);
          }
        };
        li.addEventListener("click", pick);
        li.addEventListener("keydown", (e) => {
          if (e.key !== "Enter") return;
          e.preventDefault();
          pick();
        });
        return li;
      })));
  }

  // The cases reported from the phone typed (重复来电), newest first, once it is a number
  // (spaces and all): each a click from opening, an open one from being urged (催办) in place
  // of a new case.
  async function showCalls() {
    const section = $("desk-new-calls");
    const phone = $("desk-new").elements.caller_phone;
    const typed = phone.value.replace(/\s/g, "");
    state.callsAsked = typed;
    if (!new RegExp(`^(?:${phone.pattern})$`).test(typed)) {
      section.hidden = true;
      return;
    }
    const found = await call("POST", `/incidents/by-caller?limit=10`, { phone: typed });
    if (state.callsAsked !== typed || !state.registering) return;  // typed on, or left
    section.hidden = !found.features.length;
    section.querySelector("small").textContent = `${found.numberMatched} 件`;
    section.querySelector("ol").replaceChildren(...found.features.map((f) => {
      const li = callItem(f);
      if (possible(f.properties).includes("urge")) {
        li.append(button("催办此件", () => urge(f.id)));
      }
      return li;
    }));
  }

  // the call taken as the caller urging their case ``id``: what they said, its note
  async function urge(id) {
    const said = $("desk-new").elements.description.value.trim();
    closeNew();
    await openCase(id);
    choose("urge");
    if (said) $("desk-form").elements.note.value = said;
  }

  // The case sent with a client id of its own, kept until it is stored: sent again (its answer
  // lost), it is stored once. Then it opens, and the list shows it.
  async function register(form) {
    if (!state.point) {
      say("请先在地图上点击事发位置，或按地址查找", true);
      return;
    }
    const given = form.elements;
    const attachments = await uploaded(given.photos);
    if (!attachments) return;
    const caller = given.caller_name.value.trim() || given.caller_phone.value.trim();
    // the source's number stands for the case (the same number again: the case stored)
    const number = given.number.value.trim();
    state.clientId = state.clientId || clientId();
    let made;
    try {
      made = await call("POST", "/incidents", {
        client_id: number || state.clientId, source: given.source.value,
        category: given.category.value,
        description: given.description.value.trim(), attachments, ...state.point,
        caller: caller ? { name: given.caller_name.value, phone: given.caller_phone.value }
          : null });
    } catch (error) {
      const stored = error.status === 409 && error.answer.detail[0].ctx;
      say(stored ? `登记未完成：工单编号 ${number} 已是案件 #${stored.incident} 的编号`
        : `登记未完成：${error.message}`, true);
      return;
    }
    closeNew();
    await openCase(made.id);
    say(`已登记案件 #${made.id}，${made.grid ? `落入${made.grid.name}` : "不在任何网格内，待分派"}`);
    await loadList();
  }

  // ---- a hotline's file of cases imported (导入工单): each line at fault named with why ----

  // a column of a file of cases (mapsvc.incidents.bulk) by both its headings
  const column = (name) => (INCIDENT_COLUMN[name] ? `${INCIDENT_COLUMN[name]}（${name}）` : name);

  // a line's refusal in the page's words, by its rule (``ctx``); else as the service says it
  function lineWords(e) {
    const ctx = e.ctx || {};
    const said = {
      client_id: `须为 UUID，或来源系统的工单编号（1 至 ${ctx.most} 个可打印字符）`,
      time: "不是完整的日期时间（如 2026-11-01 08:05、2026年11月1日 8时5分）",
      phone: "须为 11 位手机号，或带区号的固定电话",
      unknown: `没有代码或名称为“${ctx.code}”的类别`,
      ambiguous: `名为“${ctx.name}”的类别不止一个，请填写类别代码`,
      swapped: "经纬度疑似写反（对调后才落在网格内）",
    }[ctx.rule] || rowRule(ctx);
    return `第 ${e.line} 行 · ${column(e.field)}：${said || e.reason}`;
  }

  function openImport() {
    closeForm();
    closeNew();
    const form = $("desk-import");
    form.reset();
    form.elements.source.value = "hotline";
    $("desk-import-summary").textContent = "";
    $("desk-import-problems").replaceChildren();
    form.hidden = false;
    say("");
  }

  // the file sent as it is (its lines stored once however often it is sent), and what became
  // of it: the cases new, those stored before, the lines at fault
  async function importFile(form) {
    const summary = $("desk-import-summary");
    summary.className = "";
    summary.textContent = "导入中……";
    $("desk-import-problems").replaceChildren();
    let answer;
    try {
      answer = await call("POST", "/incidents/import", new FormData(form));
    } catch (error) {
      summary.textContent = `未导入：${fileWords(error, column) || error.message}`;
      summary.className = "bad";
      return;
    }
    const before = answer.already_stored ? `，${answer.already_stored} 件此前已导入` : "";
    const faults = answer.rejected ? `；${answer.rejected} 行有误${answer.checked ? ""
      : "未导入，改正后可再导入该文件"}` : "";
    summary.textContent = `${answer.checked ? "仅检查，未导入：" : ""}共 ${answer.rows} 行：`
      + `${answer.checked ? "可导入" : "新导入"} ${answer.inserted} 件${before}${faults}`;
    $("desk-import-problems").replaceChildren(...answer.errors.map((e) => text("li",
                                                                               lineWords(e))));
    if (answer.inserted && !answer.checked) await loadList();
  }

  // ---- the live feed: the list and the open case follow what happens ----

  // at most once a second, however busy the region: the list, and the open case if it changed
  let pending = null;
  let caseChanged = false;
  function follow() {
    const source = new EventSource(`${config.api}/events`, { withCredentials: true });
    source.addEventListener("ready", () => {
      state.online = true;
      $("desk-connection").textContent = "在线";
    });
    const changed = (e) => {
      const id = e.type === "step" ? JSON.parse(e.data).feature.id : null;
      if (state.selected && (id === null || id === state.selected.id)) caseChanged = true;
      if (pending) return;
      pending = setTimeout(() => {
        pending = null;
        loadList(true).catch((error) => say(error.message, true));
        // the open case, or the one asked for since, whose answer is on its way
        if (caseChanged && state.selected) openCase(state.asking ?? state.selected.id);
        caseChanged = false;
      }, 1000);
    };
    source.addEventListener("step", changed);
    source.addEventListener("reload", changed);
    source.onerror = () => {
      state.online = false;
      $("desk-connection").textContent = "重连中";
      if (source.readyState === EventSource.CLOSED) {  // refused, or the browser gave up
        loadList().catch(() => {});  // to the sign-in page if the session has ended
        setTimeout(follow, 2000);
      }
    };
  }

  // the regions within the desk's: a city's counties, a county's townships, a township's
  // villages, the deployment's top regions (its cities and its counties of no city); each
  // offered to list the cases of alone (区域), the map then framing it
  const areas = new Map();  // code → its layer and level
  const areaNamesApart = namesApart(map, () => [...areas.values()].map(
    ({ layer }) => [layer, layer.getTooltip().getElement()]));
  async function drawRegions() {
    const region = config.region;
    const level = region.child;
    if (!level) return;
    const found = await call("GET", `/regions?${regionsWithin(region.code, level)}`);
    L.geoJSON(found, {
      pane: "grids", interactive: false, style: REGION,
      onEachFeature: (f, layer) => areas.set(f.properties.code, {
        layer: placed(layer, f).bindTooltip(text("span", f.properties.name), {
          permanent: true, direction: "center", className: "region-name" }),
        level: f.properties.level }),
    }).addTo(map);
    areaNamesApart();
    choices($("desk-area"), [["", "全部辖区"], ...found.features.map(
      (f) => [f.properties.code, f.properties.name])]);
    $("desk-area-choice").hidden = false;
    showScope();
  }

  // The part of the jurisdiction listed (a region within it, as 区域 or the address asks) and
  // the days, named beside the desk's region until 全部辖区.
  function showScope() {
    const asked = state.scopeAsked || {};
    const level = SCOPES.find((key) => asked[key]);
    const period = asked.from || asked.to ? `${asked.from || ""} 至 ${asked.to || ""}上报` : "";
    $("desk-scope").querySelector("span").textContent = [level ? asked.name : "", period]
      .filter(Boolean).join(" · ");
    $("desk-scope").hidden = !level && !period;
    $("desk-area").value = level && areas.has(asked[level]) ? asked[level] : "";
  }

  // the level of the region the list keeps to (a grid's: its village's, none below it), or
  // of the desk's own: where its cases are is said from below it
  function listedWithin() {
    const level = SCOPES.find((key) => (state.scopeAsked || {})[key]);
    return level === "grid" ? "village" : level || config.region.kind;
  }

  // the cases of a region within the desk's (none: all of them), its days kept
  function listArea(code, name) {
    const level = code && areas.get(code).level;
    const apart = (scope) => Object.fromEntries(Object.entries(scope || {}).filter(
      ([key]) => !SCOPES.includes(key) && key !== "name"));
    state.scope = { ...apart(state.scope), ...(code ? { [level]: code } : {}) };
    state.scopeAsked = { ...apart(state.scopeAsked), ...(code ? { [level]: code, name } : {}) };
    showScope();
    if (code) moveMap(() => map.fitBounds(areas.get(code).layer.getBounds()));
    state.shown = LIST_SIZE;
    loadList().catch((e) => say(e.message, true));
  }

  // What the marks on the map say: a case's warning colour, and the rings around some.
  const legend = L.control({ position: "bottomleft" });
  legend.onAdd = () => {
    const box = L.DomUtil.create("div", "desk-legend");
    const entry = (name, fill, ring) => {
      const item = text("span", name);
      const mark = document.createElement("i");
      mark.style.background = fill || "transparent";
      if (ring) mark.style.borderColor = ring;
      item.prepend(mark);
      return item;
    };
    box.append(...Object.entries(COLOUR).map(([c, fill]) => entry(COLOUR_NAME[c], fill)),
               entry("无时限", NO_CLOCK), entry("加急", "", RING.urgent),
               entry("已选", "", RING.chosen), entry("可能重复", "", RING.near));
    return box;
  };
  legend.addTo(map);

  // A department's cases lie anywhere in the deployment: its desk opens on those listed.
  function frameCases() {
    if (!config.frameCases || !state.cases.length) return;
    const bounds = L.latLngBounds(state.cases.map((f) => [...f.geometry.coordinates].reverse()));
    moveMap(() => map.fitBounds(bounds, { maxZoom: 15, padding: [40, 40] }));
  }

  // The address says what the desk shows: its view and filters (those not as it opens), the
  // region or days it keeps to, and the case open; a reload, a bookmark or a link to a
  // colleague opens the same.
  const FILTERS = ["view", "department", "category", "source", "order"].map((key) => [
    key, $(`desk-${key}`).value]);  // as the desk opens
  function keepAddress() {
    const kept = new URLSearchParams();
    for (const [key, none] of FILTERS) {
      if ($(`desk-${key}`).value !== none) kept.set(key, $(`desk-${key}`).value);
    }
    if ($("desk-words").value.trim()) kept.set("q", $("desk-words").value.trim());
    for (const [key, value] of Object.entries(state.scopeAsked || {})) kept.set(key, value);
    if (state.selected) kept.set("case", state.selected.id);
    history.replaceState(null, "", `${location.pathname}${kept.toString() ? `#${kept}` : ""}`);
  }

  // a select's options, each [value, name]: the first, valued "", the one that asks for none
  const choices = (select, named) => select.replaceChildren(...named.map(([value, name]) => {
    const option = text("option", name);
    option.value = value;
    return option;
  }));

  $("desk-region").textContent = config.heading;
  // the departments to list the cases of (those to dispatch to: as a case's form opens)
  choices($("desk-department"), [["", "全部部门"], ...config.departments.map(
    (d) => [d.code, departmentName(d, config.region.code)])]);
  // who reported them: any, the public (the hotline and citizens, as 监督举报率 counts them),
  // or one source
  choices($("desk-source"), [["", "全部来源"], ["public", "公众举报"],
                             ...Object.entries(SOURCE_NAME)]);
  choices($("desk-new").elements.source, Object.entries(SOURCE_NAME));
  choices($("desk-import").elements.source, Object.entries(SOURCE_NAME));
  choices($("desk-import").elements.crs, Object.entries(CRS_NAME));
  $("desk-scope").querySelector("button").addEventListener("click", () => {
    state.scope = state.scopeAsked = null;  // back to the whole jurisdiction
    showScope();
    state.shown = LIST_SIZE;
    loadList().catch((e) => say(e.message, true));
  });
  $("desk-area").addEventListener("change", (e) => listArea(
    e.target.value, e.target.selectedOptions[0].textContent));
  for (const select of [$("desk-view"), $("desk-department"), $("desk-category"),
                        $("desk-source"), $("desk-order")]) {
    select.addEventListener("change", () => {
      state.shown = LIST_SIZE;
      loadList().catch((e) => say(e.message, true));
    });
  }
  // the words as they are typed, once the typing pauses
  let typing = null;
  $("desk-words").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.shown = LIST_SIZE;
      loadList().catch((e) => say(e.message, true));
    }, 400);
  });
  $("desk-more").addEventListener("click", () => {
    state.shown += LIST_SIZE;
    loadList().catch((e) => say(e.message, true));
  });
  $("desk-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (placing() && !state.point) {
      say("请先在地图上点击案件的正确位置", true);
      return;
    }
    const send = event.target.querySelector("button[type=submit]");
    send.disabled = true;  // sent once, however often clicked while on its way
    try {
      const attachments = state.many || !ACTIONS[state.action].photo ? []  // one case's result
        : await uploaded($("desk-form").elements.photos);
      if (attachments && state.many) await actOnMany(state.action, filled(state.action));
      else if (attachments) await act(state.action, { ...filled(state.action), attachments });
    } finally {
      send.disabled = false;
    }
  });
  map.on("click", (e) => placing() && place(e.latlng).catch((error) => say(error.message, true)));
  // a new place is picked among the grids in view (from a street's scale, where they are few)
  map.on("moveend", () => placing() && map.getZoom() >= 14
    && showGrids(`bbox=${map.getBounds().toBBoxString()}`).catch((e) => say(e.message, true)));
  $("desk-form-cancel").addEventListener("click", closeForm);
  // The open case on paper (案件办理单): its facts, words and steps, their times in full, under
  // whose desk printed it and when; then on the screen again as it was.
  $("desk-print").addEventListener("click", () => {
    state.paper = true;
    showSheet();
    $("desk-printed").textContent = `${TITLE}（${config.heading}） · 打印于 `
      + `${localTime(new Date(), true)}`;
    try {
      window.print();  // returns once the printing dialog is closed
    } finally {
      state.paper = false;
      showSheet();
    }
  });
  $("desk-case-close").addEventListener("click", closeCase);
  $("desk-case-next").addEventListener("click", nextCase);
  // Escape closes it too, unless at a field, or with a step's form open (what is typed kept)
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.selected && !state.action
        && !e.target.closest("input, textarea, select")) closeCase();
  });
  $("desk-import-open").hidden = !config.mayImport;
  $("desk-import-open").addEventListener("click", openImport);
  $("desk-import-cancel").addEventListener("click", () => { $("desk-import").hidden = true; });
  sentOnce($("desk-import"), importFile);
  $("desk-new-open").hidden = !config.mayReport;
  $("desk-new-open").addEventListener("click", openNew);
  $("desk-new-cancel").addEventListener("click", closeNew);
  const phone = $("desk-new").elements.caller_phone;  // as typed, spaces and all, then checked
  phone.addEventListener("change", () => { phone.value = phone.value.replace(/\s/g, ""); });
  let dialled = null;  // the number's cases, once the typing pauses
  phone.addEventListener("input", () => {
    clearTimeout(dialled);
    dialled = setTimeout(() => showCalls().catch((e) => say(e.message, true)), 400);
  });
  let seeking = null;  // the addresses, once the typing pauses
  $("desk-new").elements.address.addEventListener("input", () => {
    clearTimeout(seeking);
    seeking = setTimeout(() => findAddresses().catch((e) => say(e.message, true)), 400);
  });
  sentOnce($("desk-new"), register);
  const why = $("desk-reveal").elements.reason;
  $("desk-reveal-phrases").replaceChildren(...phraseButtons(REVEAL_REASONS, why));
  $("desk-reveal-cancel").addEventListener("click", () => { $("desk-reveal").hidden = true; });
  sentOnce($("desk-reveal"), () => reveal(why.value.trim()));
  $("desk-all").addEventListener("change", () => {
    state.chosen = new Set($("desk-all").checked
      ? state.cases.slice(0, config.batchMost).map((f) => f.id) : []);
    showBatch();
  });
  // a case asked after by its number (on the telephone, say), whichever view it is in; or by
  // its address given the desk's own tab (pasted, or a link followed in it)
  const opened = (id) => openCase(id).catch((error) => say(error.status === 404
    ? `没有案件 #${id}，或${config.outOfReach}` : error.message, true));
  $("desk-find").addEventListener("submit", (event) => {
    event.preventDefault();
    opened(Number(event.target.elements.id.value));
  });
  window.addEventListener("hashchange", () => {
    const id = /^\d+$/.exec(new URLSearchParams(location.hash.slice(1)).get("case") || "");
    if (id) opened(Number(id[0]));
  });
  drawRegions().catch((e) => say(e.message, true));
  // what the address asks for (as the wall and the evaluation link to the desk, and as the
  // desk keeps it): a case, opened at once (#case=ID); a view, of a region within the
  // jurisdiction, of a department, of a class, of a source, of the cases reported from one day
  // to another, holding words, in an order (#view=red&township=CODE&name=…&department=CODE
  // &category=CODE&source=public&from=YYYY-MM-DD&to=YYYY-MM-DD&q=…&order=due)
  const asked = new URLSearchParams(location.hash.slice(1));
  const named = /^\d+$/.exec(asked.get("case") || "");
  const offered = (select, value) => [...select.options].some((o) => o.value === value);
  for (const key of ["view", "department", "source", "order"]) {  // the classes once read
    if (offered($(`desk-${key}`), asked.get(key))) $(`desk-${key}`).value = asked.get(key);
  }
  $("desk-words").value = (asked.get("q") || "").slice(0, 100);
  const level = SCOPES.find((key) => asked.get(key));
  const days = ["from", "to"].map((key) => (/^\d{4}-\d{2}-\d{2}$/.test(asked.get(key) || "")
    ? asked.get(key) : null));
  if (level || days.some(Boolean)) {
    const [from, to] = days;
    state.scope = { ...(level ? { [level]: asked.get(level) } : {}),
                    ...(from ? { from: chinaMidnights(from)[0] } : {}),
                    ...(to ? { to: chinaMidnights(to)[1] } : {}) };
    state.scopeAsked = { ...(level ? { [level]: asked.get(level),
                                       name: asked.get("name") || asked.get(level) } : {}),
                         ...(from ? { from } : {}), ...(to ? { to } : {}) };
    showScope();
  }
  call("GET", "/categories").then((tree) => {
    for (const c of tree) state.categories[c.code] = c;
    // the classes a case may be put in: each by its path, with its handling limit and the
    // department its cases go to by default
    choices($("desk-form").elements.category, [["", "选择类别"], ...tree.map((c) => {
      const limit = c.time_limit ? `${c.time_limit.value} ${UNIT_NAME[c.time_limit.unit]}` : "";
      const told = [limit, c.department && department(c.department)].filter(Boolean);
      return [c.code, `${c.path}${told.length ? `（${told.join(" · ")}）` : ""}`];
    })]);
    // the classes to list the cases of, and to register one in
    choices($("desk-category"), [["", "全部类别"], ...tree.map((c) => [c.code, c.path])]);
    choices($("desk-new").elements.category, [["", "选择类别"],
                                              ...tree.map((c) => [c.code, c.path])]);
    if (offered($("desk-category"), asked.get("category"))) {
      $("desk-category").value = asked.get("category");
    }
  }).then(loadList).then(() => (named ? openCase(Number(named[0])) : frameCases()))
    .then(follow).catch((e) => say(e.message, true));
}
