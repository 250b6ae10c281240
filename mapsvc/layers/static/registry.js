// Registry files (一标三实) imported by a command centre: a kind's file (standard addresses
// first, then the people living at them; organisations, components and places, each in its
// grid) with its columns listed and a template to fill in, and what became of it: the records
// new and those updated, each line at fault named with why; and the files imported before,
// the newest first. Sent again, a file registers nothing twice. Everything shown is set as
// text.
"use strict";

window.mapsvcRegistry = { answer: null, shown: null };

(function registryImport() {
  if (!signedIn("registry")) return;
  const $ = (id) => document.getElementById(id);
  const form = $("registry-import");
  const WITH_COUNTY = ["addresses", "people"];  // rows that may leave their county to the form
  form.elements.kind.replaceChildren(...Object.entries(REGISTRY_KIND).map(
    ([kind, name]) => Object.assign(text("option", name), { value: kind })));
  form.elements.crs.replaceChildren(...Object.entries(CRS_NAME).map(
    ([crs, name]) => Object.assign(text("option", name), { value: crs })));

  // a column of the kind's files by its heading in Chinese
  const heading = (kind) => (name) => {
    const found = REGISTRY_COLUMNS[kind].find((c) => c.column === name);
    return found ? found.heading : name;
  };

  function chosen() {
    const kind = form.elements.kind.value;
    $("registry-columns").textContent = `列：${REGISTRY_COLUMNS[kind].filter((c) => !c.ledger)
      .map((c) => (c.required ? `${c.heading}（必填）` : c.heading)).join("、")}`;
    $("registry-template").href = `/api/v1/registry/import/${kind}`;
    $("registry-county").hidden = !WITH_COUNTY.includes(kind);
  }
  form.elements.kind.addEventListener("change", chosen);
  chosen();

  // the files imported (those of the accounts of the centre's region), the newest first
  const imported = pagedList({
    page: "registry", id: "registry-imports", unit: "个文件",
    path: () => "/api/v1/registry/imports", watched: window.mapsvcRegistry,
    show: (files) => $("registry-imports").tBodies[0].replaceChildren(...files.map((f) => {
      const tr = document.createElement("tr");
      for (const value of [localTime(f.at), f.username, REGISTRY_KIND[f.kind] || f.kind,
                           f.file || "", f.rows, f.stored, f.updated, f.rejected]) {
        tr.appendChild(text("td", String(value)));
      }
      return tr;
    }), ...(files.length ? [] : [noneRow($("registry-imports"), "还没有导入过文件")])) });
  // (no file said in the table: the page's message is the file's just sent)
  imported.find(new URLSearchParams());

  // a line's refusal in the page's words, by its rule (``ctx``); else as the service says it
  function lineWords(kind, e) {
    const ctx = e.ctx || {};
    const said = {
      county: "须为 6 位区县代码（文件的区县代码列，或上方所填）",
      unknown: `${ctx.value} 不存在`, positive: "须为正数",
      id_number: "不是有效的身份证号（18 位，末位为校验码）",
      mobile: "须为 1 开头的 11 位手机号",
      date: "不是日期（如 1990-01-02、1990/1/2、1990年1月2日）",
      no_address: `没有标准地址“${ctx.value}”，请先导入标准地址`,
      registered: "该身份证号已登记（在其他地址，或为其他姓名）",
      namesakes: "该地址有多位同名人员，请填写身份证号或出生日期",
      component_id: "须为 16 位部件编码（区县代码 6 位、类型 4 位、序号 6 位）",
      credit_code: "不是有效的统一社会信用代码（18 位，末位为校验码）",
      record_id: "须为台账中的编号", code_taken: "已是另一条记录的编码",
      outside: "该位置不在你的辖区内", outside_held: "所指的已有记录不在你的辖区内",
    }[ctx.rule] || rowRule(ctx);
    return `第 ${e.line} 行 · ${heading(kind)(e.field)}：${said || e.reason}`;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const kind = form.elements.kind.value;
    const sent = new FormData(form);
    sent.delete("kind");
    if (!WITH_COUNTY.includes(kind) || !sent.get("county")) sent.delete("county");
    $("registry-problems").replaceChildren();
    say(`正在${sent.get("check") ? "检查" : "导入"}${REGISTRY_KIND[kind]}……`);
    let answer;
    try {
      answer = await callApi("registry", "POST", `/api/v1/registry/import/${kind}`, sent);
    } catch (error) {
      say(`未导入：${fileWords(error, heading(kind)) || error.message}`, true);
      return;
    }
    const changed = kind === "people" ? "更正" : "更新";  // people's details, as on the register
    const [store, update] = answer.checked ? ["可新增", `可${changed}`] : ["新增", changed];
    const updated = (answer.updated ? `，${update} ${answer.updated} 条` : "")
      + (answer.held ? `，${answer.held} 条此前已登记` : "");
    const faults = answer.rejected ? `；${answer.rejected} 行有误${answer.checked ? ""
      : "未导入，改正后可再导入该文件"}` : "";
    say(`${answer.checked ? "仅检查，未导入：" : ""}${REGISTRY_KIND[kind]}共 ${answer.rows} 行：`
        + `${store} ${answer.stored} 条${updated}${faults}`, answer.rejected > 0);
    $("registry-problems").replaceChildren(...answer.errors.map(
      (e) => text("li", lineWords(kind, e))));
    await imported.find(new URLSearchParams());
    window.mapsvcRegistry.answer = answer;
  });
}());
