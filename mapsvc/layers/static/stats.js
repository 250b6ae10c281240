// The evaluation (考核评价), for command centres and administrators: the figures of the closed loop
// (GET /api/v1/stats) for the cases reported in the days chosen, of a region and of each of its
// parts (the next level down, or the townships, villages, grids, departments or grid workers
// within), ranked by any column; for a grid chief, of the grids it leads and of each of them or of
// their workers; for a department, its own; for any of them, of each main class (问题类别) of their
// cases. A centre's staff (中心坐席) are evaluated by the steps each took on the region's cases. A part
// with too few cases due (a member of staff with too few steps; a grid worker, by 漏报率, with too
// few cases filed in its grids, by 按时核实率 and 按时核查率, with too few findings due) for its
// rates to mean much is listed, not ranked, by a rate. A region's part, or a class with
// subclasses, is entered by its name, and left by the path above the table; a region's or a
// department's 上报 and 当前超期 open those cases on the desk, for those who work at it. The
// figures also break down by month, week or day (分期), listed in time until ranked by a column
// and drawn in a chart; a period is entered by its name: its days, by the next level down.
// What is shown is kept in the address, downloads as a spreadsheet's CSV file and prints on a
// page across. Everything shown is set as text.
"use strict";

window.mapsvcStats = { shown: null, answer: null };

(function statsPage() {
  if (!signedIn("stats")) return;
  const $ = (id) => document.getElementById(id);
  const FEW = 5;  // cases due below which a part's rates are not ranked (样本不足)
  // the kinds asked for by level
  const REGIONS = ["city", "county", "township", "village", "grid"];
  const PERIODS = ["month", "week", "day"];
  const dash = (value) => (value == null ? "—" : String(value));
  // a figure of a unit (hours, minutes, km, a score) to as many decimals in every row, so
  // that a column's figures line up by their points
  const fixed = (digits) => (value) => (value == null ? "—" : value.toFixed(digits));
  const percent = (rate) => (rate == null ? "—" : `${(rate * 100).toFixed(1)}%`);
  // the columns: the heading, a row's value (a row: {figures, patrols, campaigns, missed,
  // verifies, checks}), how it is shown, and whether it is a rate (ranked among the parts with
  // cases enough: of its own ``sample``, or else due); a count of cases, the desk's view that
  // lists them
  const figure = (key, show = dash, rate = false) => ({ value: (r) => r.figures[key], show, rate });
  const COLUMNS = [
    ["上报", { ...figure("reported"), desk: "all" }],
    ["有效上报率", figure("valid_report_rate", percent, true)],
    ["立案", figure("filed")], ["监督举报率", figure("public_report_rate", percent, true)],
    ["按时派遣率", figure("on_time_dispatch_rate", percent, true)],
    // of the cases sent to a handler, those it took on (签收) in time
    ["及时签收率", { ...figure("on_time_accept_rate", percent, true),
                     sample: (r) => r.figures.accept_due }],
    ["应结案", figure("due")],
    // handled by the handling deadline: what a handler answers for, the centre's check aside
    ["按时处置率", figure("on_time_handling_rate", percent, true)],
    ["结案", figure("closed")],
    ["结案率", figure("closure_rate", percent, true)],
    ["按期结案率", figure("on_time_closure_rate", percent, true)],
    ["返工率", figure("rework_rate", percent, true)],
    // of the cases closed, those never handed back, reassigned, reopened nor reworked
    ["一次完成率", { ...figure("first_time_rate", percent, true),
                     sample: (r) => r.figures.closed }],
    ["平均处置工时", figure("handling_hours_avg", fixed(1), true)],
    ["九成案件处置工时内", figure("handling_hours_p90", fixed(1), true)],
    ["当前超期", { ...figure("overdue_now"), desk: "overdue" }],
    ["满意度（评价数）", { value: (r) => r.figures.satisfaction, rate: true,
                           show: (v, r) => (v == null ? "—"
                             : `${v.toFixed(2)}（${r.figures.rated}）`) }],
    // as a hotline is judged (接诉即办): of the public's cases dispatched, those whose caller
    // was contacted in time; of the cases rated, those rated satisfied; of those whose caller
    // was asked, those resolved; of the public's cases dispatched, those whose caller called
    // again (催办)
    ["响应率", { ...figure("response_rate", percent, true),
                 sample: (r) => r.figures.response_due }],
    ["满意率", { ...figure("satisfied_rate", percent, true), sample: (r) => r.figures.rated }],
    ["解决率", { ...figure("resolved_rate", percent, true),
                 sample: (r) => r.figures.resolution_asked }],
    ["催办率", { ...figure("urged_rate", percent, true),
                 sample: (r) => r.figures.public_dispatched }],
  ];
  const WALKED = [["巡查次数", { value: (r) => r.patrols.count, show: dash }],
                  ["巡查公里", { value: (r) => r.patrols.km, show: fixed(2) }]];
  // the things of the campaigns (专项排查) due in the period it answered for, and of those the
  // share checked by the end of their due day
  const CHECKED = [["应排查", { value: (r) => r.campaigns.due, show: dash }],
                   ["按期排查率", { value: (r) => r.campaigns.rate, show: percent, rate: true,
                                   sample: (r) => r.campaigns.due }]];
  // a grid worker's 漏报率 (of the cases filed in the grids it worked then, the public's),
  // 按时核实率 (of its findings due on verify tasks, those made in time), 按时核查率 (of its
  // checks due, those taken in time) and 综合指标值 (the four rates weighed as the centre sets,
  // said in its heading's title; ranked where they draw on five cases or more in all)
  const timely = (findings) => ({ value: (r) => r[findings].rate, show: percent, rate: true,
                                  sample: (r) => r[findings].due });
  const WEIGHED = [["valid_report", "有效上报率"], ["missed", "漏报率（按 1 − 漏报率）"],
                   ["verifies", "按时核实率"], ["checks", "按时核查率"]];
  const weighed = (weights) => {
    const total = WEIGHED.reduce((sum, [key]) => sum + weights[key], 0);
    return WEIGHED.filter(([key]) => weights[key] > 0)
      .map(([key, name]) => `${name} ${((weights[key] / total) * 100).toFixed(0)}%`).join("、");
  };
  const WORKER_RATES = [["漏报率", { value: (r) => r.missed.rate, show: percent, rate: true,
                                    sample: (r) => r.missed.filed }],
                        ["按时核实率", timely("verifies")], ["按时核查率", timely("checks")],
                        ["综合指标值", { value: (r) => r.score, rate: true,
                                      show: fixed(1),
                                      sample: (r) => r.figures.reported + r.missed.filed
                                        + r.verifies.due + r.checks.due,
                                      title: (answer) => weighed(answer.score_weights) }]];
  // the centre's staff (中心坐席, by=operator): the steps each took on the region's cases
  const STAFF = [
    ["受理", figure("taken_in")],
    ["受理用时中位（分钟）", figure("intake_minutes_median", fixed(1), true)],
    ["九成受理用时内（分钟）", figure("intake_minutes_p90", fixed(1), true)],
    ["立案", figure("filed")], ["准确立案率", figure("accurate_filing_rate", percent, true)],
    ["不予受理", figure("rejected")], ["派遣", figure("dispatched")],
    ["按时派遣率", figure("on_time_dispatch_rate", percent, true)],
    ["准确派遣率", figure("accurate_dispatch_rate", percent, true)],
    ["结案", figure("closed")], ["核查", figure("checked")], ["回访", figure("followed_up")],
    ["督办", figure("supervised")], ["办理步骤", figure("steps")],
  ];
  // lower is better for these: ranked from the least
  const LEAST_FIRST = new Set(["监督举报率", "漏报率", "返工率", "催办率", "平均处置工时",
                               "九成案件处置工时内", "当前超期",
                               "受理用时中位（分钟）", "九成受理用时内（分钟）"]);
  // sort: the heading ranked by, or null for the periods in time
  const state = { path: [], sort: "按期结案率", rows: [], staff: false, by: null };

  const today = chinaDay();
  $("stats-find").elements.from.value = `${today.slice(0, 8)}01`;  // this month
  $("stats-find").elements.to.value = today;
  const by = $("stats-find").elements.by;
  if (by.dataset.first) by.value = by.dataset.first;  // a grid chief's: its grids, by grid
  $("stats-sample").textContent = FEW;
  // what is shown, kept in the address (#from=…&to=…&by=…&denominator=…&level=…&code=…): a
  // bookmark, or a link sent to a colleague or from the wall, opens the same figures
  const linked = new URLSearchParams(location.hash.slice(1));
  for (const key of ["from", "to", "by", "denominator"]) {
    if (linked.has(key)) $("stats-find").elements[key].value = linked.get(key);
  }

  // too few cases due (a region's part), or steps taken (a member of staff), to be ranked
  const few = (r) => (state.staff ? r.figures.steps : r.figures.due) < FEW;
  const columns = () => (state.staff ? STAFF
    : [...COLUMNS, ...(state.rows.some((r) => r.patrols) ? WALKED : []),
       ...(state.rows.some((r) => r.campaigns && r.campaigns.due) ? CHECKED : []),
       ...(state.rows.some((r) => r.missed) ? WORKER_RATES : [])]);

  // the rows ranked by the column chosen: those with a value first, best first; by a rate,
  // the parts with too few cases due after them, unranked
  function ranked() {
    if (state.sort === null) return state.rows.map((r) => ({ ...r, rank: null }));
    const [heading, column] = columns().find(([h]) => h === state.sort);
    const sign = LEAST_FIRST.has(heading) ? 1 : -1;
    const unranked = (r) => column.value(r) == null
      || (column.rate && (column.sample ? column.sample(r) < FEW : few(r)));
    return [...state.rows].sort((a, b) => (unranked(a) - unranked(b))
      || (unranked(a) ? 0 : sign * (column.value(a) - column.value(b)))
      || a.code.localeCompare(b.code))
      .map((r, i) => ({ ...r, rank: unranked(r) ? null : i + 1 }));
  }

  function cells(r) {
    return columns().map(([, c]) => c.show(c.value(r), r));
  }

  // what the desk is asked for (its ``view`` of them) to list the cases a row counts, for those
  // who work at it (the table marked so): those of a region, of a department or of a class (in
  // the region the table is of) reported in the days chosen; not those of a class's own row
  // (本类), which the desk would list with its subclasses'
  function onDesk(r, answer, view) {
    if (PERIODS.includes(r.kind)) return periodOnDesk(r, answer, view);
    const region = REGIONS.includes(r.kind);
    const ofClass = r.kind === "category"
      && !(classEntered() && r.code === state.path.at(-1).class);
    if (!$("stats").dataset.desk || !(region || ofClass || r.kind === "department")) return null;
    const asked = new URLSearchParams({ view, from: answer.from, to: answer.to });
    if (region) within(asked, r);
    else if (ofClass) {
      asked.set("category", r.code);
      if (REGIONS.includes(answer.kind)) within(asked, answer);
    } else asked.set("department", r.code);
    return asked;
  }

  // the desk asked for a region's cases: by its level and code, its name to show
  function within(asked, region) {
    asked.set(region.kind, region.code);
    asked.set("name", region.name);
  }

  // the table's own cases (a region's, a department's, or all of the deployment's) reported in
  // a period's days
  function periodOnDesk(r, answer, view) {
    const region = REGIONS.includes(answer.kind);
    const own = region || ["department", "deployment"].includes(answer.kind);
    if (!$("stats").dataset.desk || !own) return null;
    const asked = new URLSearchParams({ view, from: r.from, to: r.to });
    if (answer.kind === "department") asked.set("department", answer.code);
    if (region) within(asked, answer);
    return asked;
  }

  // The periods in a chart above the table, in time: each period's 上报 and 结案 as bars (the left
  // axis up to the most reported), its 按期结案率 as a line (the right axis, 0 to 100%), its
  // figures in its title; a period's code under it, as often as there is room.
  const SVG = "http://www.w3.org/2000/svg";
  function drawn(name, attributes, content = null) {
    const el = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, value);
    if (content !== null) el.textContent = content;
    return el;
  }

  function drawTrend(answer) {
    const trend = $("stats-trend");
    trend.hidden = !PERIODS.includes(answer.by) || !answer.rows.length;
    if (trend.hidden) return;
    const rows = answer.rows;
    const [top, high, left, right] = [12, 120, 44, 44];
    // the periods across the box's width (a few, each up to 120 pixels wide; many, each at
    // least 12, the box scrolling)
    const room = trend.querySelector("div").clientWidth - left - right;
    const step = Math.max(12, Math.min(120, Math.floor(room / rows.length)));
    const most = Math.max(1, ...rows.map((r) => r.figures.reported));
    const y = (share) => top + high - share * high;
    const svg = trend.querySelector("svg");
    const [wide, tall] = [left + rows.length * step + right, top + high + 24];
    svg.setAttribute("width", wide);
    svg.setAttribute("height", tall);
    svg.setAttribute("viewBox", `0 0 ${wide} ${tall}`);  // on paper, scaled to the page
    const every = Math.ceil(72 / step);  // a label at most every 72 pixels
    // a period's label: its name without its year nor its day of the week, a week by its
    // first day (11月2日)
    const label = (name) => name.replace(/^\d{4}年/, "").split("—")[0].replace(/（.*）$/, "");
    const rate = [];
    const shapes = rows.map((r, i) => {
      const f = r.figures;
      const x = left + i * step;
      const bar = (n, kind, dx) => drawn("rect", {
        class: kind, x: x + dx, y: y(n / most), width: step / 2 - 1,
        height: (n / most) * high });
      if (f.on_time_closure_rate != null) {
        rate.push(`${x + step / 2},${y(f.on_time_closure_rate)}`);
      }
      const g = drawn("g", { "data-code": r.code });
      g.append(drawn("title", {}, `${r.name}：上报 ${f.reported}，结案 ${f.closed}，`
                                  + `按期结案率 ${percent(f.on_time_closure_rate)}`),
               bar(f.reported, "reported", 1), bar(f.closed, "closed", step / 2));
      if (i % every === 0) {
        g.appendChild(drawn("text", { x, y: top + high + 16 }, label(r.name || r.code)));
      }
      return g;
    });
    const edge = left + rows.length * step + 4;
    svg.replaceChildren(
      drawn("text", { x: left - 4, y: top + 8, "text-anchor": "end" }, String(most)),
      drawn("text", { x: left - 4, y: top + high, "text-anchor": "end" }, "0"),
      drawn("text", { x: edge, y: top + 8 }, "100%"),
      drawn("text", { x: edge, y: top + high }, "0%"),
      ...shapes, drawn("polyline", { points: rate.join(" ") }));
  }

  function show(answer) {
    state.rows = answer.rows.map((r) => ({ ...r, name: r.name || r.code }));
    state.staff = answer.by === "operator";
    const timeline = PERIODS.includes(answer.by);
    if (answer.by !== state.by) {  // in time when first broken down by period
      if (timeline) state.sort = null;
      state.by = answer.by;
    }
    if (!(timeline && state.sort === null) && !columns().some(([h]) => h === state.sort)) {
      state.sort = columns()[0][0];
    }
    const head = $("stats").tHead.rows[0];
    const named = text("th", timeline ? "期间" : "名称", state.sort === null ? "sorted" : "");
    if (timeline) {  // back to the periods in time
      named.tabIndex = 0;
      named.addEventListener("click", () => { state.sort = null; show(answer); });
      named.addEventListener("keydown", (e) => { if (e.key === "Enter") named.click(); });
    }
    head.replaceChildren(text("th", "名次"), named, ...columns().map(([h, c]) => {
      const th = text("th", h, h === state.sort ? "sorted" : "");
      if (c.title) th.title = c.title(answer);
      if (LEAST_FIRST.has(h)) th.classList.add("least");
      th.tabIndex = 0;
      th.addEventListener("click", () => { state.sort = h; show(answer); });
      th.addEventListener("keydown", (e) => { if (e.key === "Enter") th.click(); });
      return th;
    }));
    const order = ranked();
    const listed = columns();
    $("stats").tBodies[0].replaceChildren(...order.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.code = r.code;
      if (few(r)) {
        tr.className = "few";
        tr.title = state.staff ? `样本不足：办理不足 ${FEW} 步` : `样本不足：应结案不足 ${FEW} 件`;
      }
      const name = document.createElement("td");
      if ((REGIONS.includes(r.kind) && r.kind !== "grid") || r.subclasses || timeline) {
        const enter = text("button", r.name, "enter");
        enter.type = "button";
        enter.addEventListener("click", () => (timeline ? enterPeriod(r)
          : r.subclasses ? enterClass(r) : enterRegion(r)));
        name.appendChild(enter);
      } else name.textContent = r.name;
      const shown = cells(r).map((value, i) => {
        const [, c] = listed[i];
        const asked = c.desk && c.value(r) ? onDesk(r, answer, c.desk) : null;
        if (!asked) return text("td", value);
        const td = document.createElement("td");
        td.appendChild(deskLink(value, asked, "to-desk"));
        return td;
      });
      tr.append(text("td", r.rank === null ? "—" : r.rank), name, ...shown);
      return tr;
    }));
    // the region's own figures (no patrols nor 漏报率: those are the parts'; none of steps: its
    // staff's are each their own)
    const whole = COLUMNS.map(([, c]) => c.show(c.value(answer), answer));
    const wholeName = `${answer.name}（合计）`;
    const total = document.createElement("tr");
    total.append(text("td", ""), text("td", wholeName), ...whole.map((v) => text("td", v)),
                 ...columns().slice(COLUMNS.length).map(() => text("td", "")));
    // (none for people, each their own, nor within a class, whose parts are not the whole)
    const totalled = !state.staff && !classEntered();
    $("stats").tFoot.replaceChildren(...(totalled ? [total] : []));
    const link = $("stats-export");
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = csvFile([["名次", named.textContent, "编码", ...columns().map(([h]) => h)],
                         ...order.map((r) => [r.rank === null ? "" : r.rank, r.name, r.code,
                                              ...cells(r)]),
                         ...(totalled ? [["", wholeName, answer.code || "", ...whole]] : [])]);
    link.download = `考核评价_${answer.name}_${answer.from}_${answer.to}.csv`;
    drawTrend(answer);
    $("stats-printed").textContent = `${state.path.map((step) => step.name).join(" › ")}：`
      + `${answer.from} 至 ${answer.to} 上报的案件`
      + (by.selectedOptions.length ? `，分项：${by.selectedOptions[0].textContent}` : "");
    window.mapsvcStats.shown = order.length;
    window.mapsvcStats.answer = answer;
  }

  // the path from the account's region to the one shown, each step leading back to it
  function showPath() {
    $("stats-where").replaceChildren(...state.path.flatMap((step, i) => {
      const last = i === state.path.length - 1;
      const link = text(last ? "strong" : "button", step.name);
      if (!last) {
        link.type = "button";
        link.addEventListener("click", () => {
          state.path = state.path.slice(0, i + 1);
          load();
        });
      }
      return i ? [text("span", " › "), link] : [link];
    }));
  }

  const classEntered = () => Boolean(state.path.length && state.path.at(-1).class);

  async function load() {
    const form = $("stats-find").elements;
    // a class entered is left when the breakdown is another
    if (form.by.value !== "category") state.path = state.path.filter((step) => !step.class);
    const query = new URLSearchParams({ from: form.from.value, to: form.to.value });
    for (const key of ["by", "denominator"]) if (form[key].value) query.set(key, form[key].value);
    const here = state.path[state.path.length - 1];
    if (here && here.level) {
      query.set("level", here.level);
      query.set("code", here.code);
    }
    if (classEntered()) query.set("category", here.class);
    say("统计中…");
    let answer;
    try {
      answer = await callApi("stats", "GET", `/api/v1/stats?${query}`);
    } catch (error) {
      say({ to: "“至”不能早于“从”",
            by: "分期过多：最多列 366 期，请缩短起止日期，或按周、按月分期" }[error.field]
          || error.message, true);
      return false;
    }
    if (!state.path.length) {  // where the account's figures begin
      // a region, or not one: the deployment, a chief's grids, a department
      const level = REGIONS.includes(answer.kind) ? answer.kind : null;
      state.path = [{ level, code: answer.code, name: answer.name }];
    }
    if (!classEntered()) state.path.at(-1).name = answer.name;  // (one linked to: by its code)
    // the region kept when below the account's own figures; a class entered is not
    if (state.path.filter((step) => !step.class).length < 2) {
      query.delete("level");
      query.delete("code");
    }
    query.delete("category");
    history.replaceState(null, "", `#${query}`);
    showPath();
    show(answer);
    say(answer.rows.length || !answer.by ? "" : "此区域没有可分项统计的对象");
    return true;
  }

  // a class's subclasses, within the region (or whatever the figures are of) shown
  function enterClass(r) {
    const here = state.path[state.path.length - 1];
    state.path.push({ level: here.level, code: here.code, name: r.name, class: r.code });
    load();
  }

  // a period's days, broken down as first shown (the next level down, a chief's grids, a
  // department's classes)
  function enterPeriod(r) {
    const form = $("stats-find").elements;
    form.from.value = r.from;
    form.to.value = r.to;
    form.by.value = form.by.dataset.first || "";
    load();
  }

  function enterRegion(r) {
    state.path.push({ level: r.kind, code: r.code, name: r.name });
    $("stats-find").elements.by.value = "";  // the next level down
    load();
  }

  $("stats-find").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  // the account's own figures, and then the region linked to, if another
  (async () => {
    const [level, code] = [linked.get("level"), linked.get("code")];
    if (!(await load()) || !level || !code) return;
    if (state.path[0].level === level && state.path[0].code === code) return;
    state.path.push({ level, code, name: code });
    if (!(await load())) {
      state.path.pop();
      showPath();
    }
  })();
}());
