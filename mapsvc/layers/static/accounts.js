// The accounts (账号管理), for administrators: listed by role, a hundred a page; made with the
// scope their role is bound to (a region, grids or a department) and a password they change
// before they first sign in, one at a time or a roster (花名册) at once, whose first passwords
// are shown once and kept as a spreadsheet to hand over; given a new password or new grids,
// disabled and enabled; and the departments (部门名录) their accounts are bound to, loaded from
// a list and offered by code. The service keeps each change in the account's events, and
// refuses what does not fit, naming the field. Everything shown is set as text.
"use strict";

window.mapsvcAccounts = { shown: null };

(function accountsPage() {
  if (!signedIn("accounts")) return;
  const $ = (id) => document.getElementById(id);
  const FIELD = { username: "账号", display_name: "姓名", role: "角色", region: "区域编码",
                  grids: "网格编码", department: "部门编码", password: "密码", file: "花名册" };
  let asking = null;  // the account a form below the list is about

  for (const select of document.querySelectorAll("select[name=role]")) {
    for (const [role, name] of Object.entries(ROLE_NAME)) {
      const option = text("option", name);
      option.value = role;
      select.appendChild(option);
    }
  }

  // the scope the role chosen is bound to, the others' hidden
  function showScope() {
    const scope = ROLE_SCOPE[$("accounts-new").elements.role.value];
    for (const label of document.querySelectorAll("[data-scope]")) {
      label.hidden = label.dataset.scope !== scope;
    }
  }
  $("accounts-new").elements.role.addEventListener("change", showScope);

  const codes = (words) => words.split(/\s+/).filter(Boolean);

  // Where an account works, chosen by name (区域, from the regions within the administrator's):
  // a centre's or planner's region, down to a village (none: the whole jurisdiction), and a
  // grid worker's or chief's grids, each listed with a button taking it off, the form's
  // ``grids`` their codes.
  const creating = $("accounts-new");
  const within = creating.dataset;
  const regionPicked = areaPicker(creating.querySelector("[data-scope=region]"), within, {
    page: "accounts", lowest: "village",
    chosen: () => { creating.elements.region.value = areaRegion(
      creating.querySelector("[data-scope=region]")); } });
  function gridChooser(form) {
    const picked = new Map();  // code → name
    const list = form.querySelector("ul.chosen");
    const show = () => {
      form.elements.grids.value = [...picked.keys()].join(" ");
      list.replaceChildren(...[...picked].map(([code, name]) => {
        const item = text("li", name);
        item.dataset.grid = code;
        const off = text("button", "×");
        off.type = "button";
        off.setAttribute("aria-label", `去掉${name}`);
        off.addEventListener("click", () => {
          picked.delete(code);
          show();
        });
        item.append(off);
        return item;
      }));
    };
    const picker = areaPicker(form.querySelector("span[role=group]:not([data-scope=region])"),
                              within, { page: "accounts", chosen: (select) => {
                                if (select.dataset.level !== "grid" || !select.value) return;
                                picked.set(select.value, select.selectedOptions[0].textContent);
                                select.value = "";
                                show();
                              } });
    return { clear(grids = []) {  // to the grids given (those the account has)
      picked.clear();
      for (const g of grids) picked.set(g.code, g.name);
      show();
      picker.reset();
    } };
  }
  const newGrids = gridChooser(creating);
  const regrids = gridChooser($("accounts-grids"));

  function row(a) {
    const tr = document.createElement("tr");
    tr.dataset.account = a.username;
    const state = a.active ? (a.held_until ? `密码错误过多，${dueTime(a.held_until)} 前暂停登录`
                                           : "正常") : "已停用";
    const scope = a.grids ? a.grids.map((g) => g.name).join("、")
      : a.scope || (a.role === "auditor" ? "无（只读审计）" : "全部辖区");
    for (const value of [a.username, a.display_name, ROLE_NAME[a.role], state, scope,
                         a.signed_in_at ? localTime(a.signed_in_at) : "从未登录"]) {
      tr.appendChild(text("td", value));
    }
    const acts = [["重设密码", () => ask("accounts-password", `重设 ${a.username} 的密码`, a, tr)]];
    if (ROLE_SCOPE[a.role] === "grids") {
      acts.push(["调整网格", () => {
        ask("accounts-grids", `调整 ${a.username} 的网格`, a, tr);
        regrids.clear(a.grids || []);
      }]);
    }
    acts.push(a.active ? ["停用", () => change(a, { active: false }, `已停用 ${a.username}`)]
                       : ["启用", () => change(a, { active: true }, `已启用 ${a.username}`)]);
    tr.appendChild(actions(acts));
    return tr;
  }

  const list = pagedList({
    page: "accounts", id: "accounts", unit: "个", path: () => "/api/v1/accounts",
    show: (found) => $("accounts").tBodies[0].replaceChildren(...found.map(row)),
    watched: window.mapsvcAccounts, fields: FIELD,
    explain });

  // A refusal the page says in its own words: a password, with the rules it must keep (as the
  // page shows them), or by the rule it names (its ``ctx``).
  function explain(error) {
    const named = error.answer && Array.isArray(error.answer.detail) && error.answer.detail[0];
    if (error.status === 422 && error.field === "password") {
      return `密码不符合要求：${document.querySelector(".password-rules").textContent}`;
    }
    return named ? ruleWords(error.field, named.ctx) : null;
  }

  // What a refusal's rule (``ctx``: of a field's value, or of a roster's line) says of the
  // field, in the page's words; null for one with none.
  function ruleWords(field, ctx) {
    if (!ctx) return null;
    const name = FIELD[field] || field;
    if (ctx.missing) return `${name}不存在：${ctx.missing.join("、")}`;
    const role = ROLE_NAME[ctx.role];
    return {
      empty: `${name}未填写`, exists: "账号已存在", repeated: `${name}在花名册中出现不止一次`,
      role: `${name}须为${Object.values(ROLE_NAME).join("、")}之一`,
      needs: `${role}账号须填写${name}`, unbound: `${role}账号不绑定${name}`,
      username: `${name}须为 1 至 ${ctx.most} 个字符，不含空格`,
      longest: `${name}最多 ${ctx.most} 个字符`, printable: `${name}含不可打印的字符`,
      columns: `花名册缺少列 ${(ctx.columns || []).map((c) => FIELD[c] || c).join("、")}`,
    }[ctx.rule] || null;
  }

  const change = (a, body, done) => list.change(
    "PATCH", `/api/v1/accounts/${encodeURIComponent(a.username)}`, body, done);

  // one form at a time, about one account, under its row
  function ask(id, title, a, tr) {
    asking = a;
    askAbout(id, title, tr);
  }

  $("accounts-password").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const path = `/api/v1/accounts/${encodeURIComponent(asking.username)}/password`;
    if (await list.change("POST", path, { password: form.elements.password.value },
                          `已重设 ${asking.username} 的密码，该账号登录前须修改`)) {
      closeAsked();
    }
  });

  $("accounts-grids").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    if (!form.elements.grids.value) {
      say("请选择网格", true);
      return;
    }
    if (await change(asking, { grids: codes(form.elements.grids.value) },
                     `已调整 ${asking.username} 的网格，该账号已退出登录`)) closeAsked();
  });

  $("accounts-new").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const given = Object.fromEntries(new FormData(form));
    const body = { username: given.username.trim(), role: given.role,
                   display_name: given.display_name.trim(), password: given.password };
    const scope = ROLE_SCOPE[given.role];
    if (scope === "grids") body.grids = codes(given.grids);
    else if (scope && given[scope].trim()) body[scope] = given[scope].trim();
    if (await list.change("POST", "/api/v1/accounts", body,
                          `已新建 ${body.username}（${ROLE_NAME[body.role]}），首次登录须修改密码`)) {
      form.reset();
      newGrids.clear();
      regionPicked.reset();
      showScope();
    }
  });

  // the departments a department's account may be bound to
  const loadDepartments = () => offerDepartments("accounts", $("accounts-department-list"));

  // a department list's line at fault, in the page's words
  const DEPARTMENT_FIELD = { code: "部门编码", name: "部门名称", region: "区域编码",
                             classes: "负责类别" };
  function departmentProblem(e) {
    const ctx = e.ctx || {};
    const said = {
      code: "须为 1 至 32 个字母、数字或 _ . -", unknown: `${ctx.value} 不存在`,
    }[ctx.rule] || rowRule(ctx) || e.reason;
    return `第 ${e.line} 行 · ${DEPARTMENT_FIELD[e.field] || e.field}：${said}`;
  }

  // a department list: stored whole (each by its code), or not at all and the lines at fault
  // named
  $("accounts-departments").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    say("正在导入部门名录…");
    let answer;
    try {
      answer = await callApi("accounts", "POST", "/api/v1/departments/import",
                             new FormData(form));
    } catch (error) {
      const lines = (error.answer && error.answer.errors) || [];
      $("accounts-departments-problems").replaceChildren(
        ...lines.map((e) => text("li", departmentProblem(e))));
      say(lines.length ? `部门名录有 ${lines.length} 处有误，未导入任何部门` : error.message,
          true);
      return;
    }
    form.reset();
    $("accounts-departments-problems").replaceChildren();
    say(`部门名录已导入：共 ${answer.rows} 行，${answer.stored} 个部门`);
    await loadDepartments();
  });
  loadDepartments().catch((error) => say(error.message, true));

  // a roster: its accounts made at once, or none and the lines at fault named
  $("accounts-roster").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    say("正在导入花名册…");
    let answer;
    try {
      answer = await callApi("accounts", "POST", "/api/v1/accounts/import", new FormData(form));
    } catch (error) {
      if (error.answer && error.answer.errors) {  // lines at fault: nothing made
        showEnrolment(error.answer);
        say("花名册有误，未新建任何账号", true);
      } else say(FIELD[error.field] ? `${FIELD[error.field]}：${error.message}` : error.message,
                 true);
      return;
    }
    form.reset();
    showEnrolment(answer);
    await list.load();
    say("花名册已导入");
  });

  function showEnrolment(answer) {
    $("accounts-enrolment").hidden = false;
    const kept = answer.existing.length
      ? `；${answer.existing.length} 个已是账号，未改动：${answer.existing.join("、")}` : "";
    $("accounts-enrolment-summary").textContent = answer.errors.length
      ? `共 ${answer.rows} 行，${answer.errors.length} 处有误，均未新建；改正后重新导入即可`
      : `共 ${answer.rows} 行，新建 ${answer.created.length} 个账号${kept}`;
    $("accounts-enrolment-problems").replaceChildren(...answer.errors.map((e) => text(
      "li", `第 ${e.line} 行 · ${ruleWords(e.field, e.ctx)
                                 || `${FIELD[e.field] || e.field}：${e.reason}`}`)));
    const made = answer.created.map((a) => [a.username, a.display_name, ROLE_NAME[a.role],
                                            a.password]);
    $("accounts-enrolled").hidden = !made.length;
    $("accounts-enrolled").querySelector("tbody").replaceChildren(...made.map((cells) => {
      const tr = document.createElement("tr");
      tr.append(...cells.map((cell) => text("td", cell)));
      return tr;
    }));
    const link = $("accounts-enrolled-sheet");
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = csvFile([["账号", "姓名", "角色", "初始密码"], ...made]);
  }

  $("accounts-find").addEventListener("submit", (event) => {
    event.preventDefault();
    const role = event.target.elements.role.value;
    list.find(new URLSearchParams(role ? { role } : {}));
  });

  showScope();
  list.load();
}());
