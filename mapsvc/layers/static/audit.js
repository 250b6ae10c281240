// The audit log (审计日志), for auditors and administrators: every reveal, lookup and export of
// personal data, every departure recorded or taken back and every field of a person corrected
// (who, when, about whom and why), also counted by account (those shown most first, each
// leading to its entries) and exported as a spreadsheet's CSV; and what befell the accounts
// (created, new passwords and grids, disabled, each sign-in). Newest first, found by account,
// action, person and days. It only reads. Everything shown is set as text: a reason is what
// somebody typed.
"use strict";

window.mapsvcAudit = { shown: null };

(function auditLog() {
  if (!signedIn("audit")) return;
  const $ = (id) => document.getElementById(id);
  const EVENT = { created: "创建", new_password: "重设密码", new_grids: "调整网格",
                  disabled: "停用", enabled: "启用", signed_in: "登录成功",
                  wrong_password: "密码错误", held_back: "暂停登录" };
  const ENTITY = { person: (id) => `人员 ${id}`, incident: (id) => `案件 #${id}` };
  // each log: where the service reads it, and the cells of one of its entries
  const LOGS = {
    data: { path: "/api/v1/audit", cells: (e) => [
      localTime(e.at), e.username, AUDIT_ACTION[e.action] || e.action,
      /^\d+$/.test(e.entity_id) && ENTITY[e.entity] ? ENTITY[e.entity](e.entity_id) : e.entity_id,
      AUDIT_FIELD[e.field] || e.field, e.reason] },
    summary: { path: "/api/v1/audit/accounts", cells: (e) => [
      e.username, e.reveals, e.people_revealed, e.lookups, e.exports, e.departures,
      e.corrections, localTime(e.last_at)] },
    accounts: { path: "/api/v1/accounts/events", cells: (e) => [
      localTime(e.at), e.username, EVENT[e.event] || e.event, e.origin, e.detail] },
  };
  let log = "data";
  let query = new URLSearchParams();  // the entries last asked for

  function row(e) {
    const tr = document.createElement("tr");
    for (const value of LOGS[log].cells(e)) tr.appendChild(text("td", value));
    if (log === "summary") {  // an account's entries, one by one
      tr.appendChild(actions([["明细", () => entriesOf(e.username)]]));
    }
    return tr;
  }

  const list = pagedList({
    page: "audit", id: "audit", unit: "条", path: () => LOGS[log].path,
    show: (entries) => {
      for (const name of Object.keys(LOGS)) $(`audit-${name}`).hidden = name !== log;
      $(`audit-${log}`).tBodies[0].replaceChildren(...entries.map(row));
    },
    empty: "没有符合条件的记录", watched: window.mapsvcAudit });

  // the filters of the log chosen, the others' hidden
  const filters = (label) => label.dataset.logs.split(" ");
  function showFilters() {
    const chosen = $("audit-find").elements.log.value;
    for (const label of document.querySelectorAll("[data-logs]")) {
      label.hidden = !filters(label).includes(chosen);
    }
  }
  $("audit-find").elements.log.addEventListener("change", showFilters);

  // the entries of one account, over the same days
  function entriesOf(username) {
    const form = $("audit-find");
    form.elements.log.value = "data";
    form.elements.username.value = username;
    form.elements.action.value = "";
    form.elements.person.value = "";
    showFilters();
    form.requestSubmit();
  }

  $("audit-find").addEventListener("submit", (event) => {
    event.preventDefault();
    log = event.target.elements.log.value;
    query = new URLSearchParams();
    for (const [key, value] of new FormData(event.target)) {
      const label = event.target.elements[key].closest("[data-logs]");
      if (key !== "log" && value.trim() && (!label || filters(label).includes(log))) {
        query.set(key, value.trim());
      }
    }
    // whole days in China: from the first's midnight up to the midnight after the last
    if (query.has("from")) query.set("from", chinaMidnights(query.get("from"))[0]);
    if (query.has("to")) query.set("to", chinaMidnights(query.get("to"))[1]);
    list.find(query);
  });

  // the personal-data entries last asked for, all of them, as the service's CSV (the page's
  // session reads it)
  $("audit-export").addEventListener("click", () => {
    const link = document.createElement("a");
    link.href = `/api/v1/audit.csv?${log === "data" ? query : ""}`;
    link.download = "审计日志.csv";
    link.click();
  });

  showFilters();
  list.load();
}());
