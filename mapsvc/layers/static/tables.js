// What the pages of tables share (the people's register, the audit log, the accounts, the
// evaluation): the line saying what came of what was done, lists the API gives a page at a
// time, forms below a list about one of its rows, regions and grids chosen by name, and tables
// downloaded as spreadsheets. Everything shown is set as text.
"use strict";

const TABLE_PAGE = 100;

// What came of what was done, on the page's status line; ``bad``: a refusal.
function say(words, bad) {
  const line = document.querySelector("p[role=status]");
  line.textContent = words;
  line.className = bad ? "bad" : "";
}

// A list the API gives a page at a time, under its pager (``{id}-pager``: the buttons
// ``{id}-previous`` and ``{id}-next``, the count ``{id}-page`` of ``unit``s, made here):
// ``path()`` is where it is read, with the query
// last given to ``find``; ``show(rows)`` shows a page of it (``rows(found)``: its rows, of
// what the API answers; by default the answer itself); ``empty`` is said of no rows.
// How many rows are shown is kept in ``watched.shown``, for whoever watches the page. A
// refusal of a ``change`` is said as ``explain`` says it, else naming the field at fault as
// ``fields`` calls it.
function pagedList({ page, id, unit, path, show, empty, watched, fields = {},
                     explain = () => null, rows: listed = (found) => found }) {
  const $ = (suffix) => document.getElementById(`${id}-${suffix}`);
  $("pager").append(...[["previous", "上一页"], ["page"], ["next", "下一页"]].map(
    ([part, label]) => {
      const made = text(label ? "button" : "span", label);
      made.id = `${id}-${part}`;
      if (label) Object.assign(made, { type: "button", disabled: true });
      return made;
    }));
  let query = new URLSearchParams();
  let offset = 0;

  async function load() {
    const asked = new URLSearchParams(query);
    asked.set("limit", TABLE_PAGE + 1);  // one more than a page: whether there is a next
    asked.set("offset", offset);
    let found;
    try {
      found = await callApi(page, "GET", `${path()}?${asked}`);
    } catch (error) {
      say(error.message, true);
      return;
    }
    const all = listed(found);
    const rows = all.slice(0, TABLE_PAGE);
    // a form opened under a row goes, with the rows it was about (the list's table is ``id``)
    const table = document.getElementById(id);
    if (table && table.querySelector("tr.asking")) closeAsked();
    show(rows);
    $("previous").disabled = offset === 0;
    $("next").disabled = all.length <= TABLE_PAGE;
    $("page").textContent = rows.length ? `第 ${offset + 1}–${offset + rows.length} ${unit}` : "";
    if (empty) say(rows.length ? "" : empty);
    watched.shown = rows.length;
  }

  $("previous").addEventListener("click", () => {
    offset = Math.max(0, offset - TABLE_PAGE);
    load();
  });
  $("next").addEventListener("click", () => {
    offset += TABLE_PAGE;
    load();
  });
  return {
    load,
    find(asked) {  // from the first page
      query = asked;
      offset = 0;
      return load();
    },
    // a change through the API, then the list as it now is and ``done`` said; whether the
    // service took it (its refusal said otherwise)
    async change(method, apiPath, body, done) {
      try {
        await callApi(page, method, apiPath, body);
      } catch (error) {
        say(explain(error) || (fields[error.field] ? `${fields[error.field]}：${error.message}`
                                                   : error.message), true);
        return false;
      }
      await load();
      say(done);
      return true;
    },
  };
}

// A cell of buttons, one for each [label, what a click does] of ``acts``.
// The row of a table (``table``) of no rows, saying ``words`` across all its columns.
function noneRow(table, words) {
  const row = document.createElement("tr");
  const cell = row.insertCell();
  cell.textContent = words;
  cell.colSpan = table.tHead.rows[0].cells.length;
  return row;
}

function actions(acts) {
  const cell = document.createElement("td");
  for (const [label, act] of acts) {
    const button = text("button", label);
    button.type = "button";
    button.addEventListener("click", act);
    cell.appendChild(button);
  }
  return cell;
}

// The form ``id`` about one row of a list (form.about-one), emptied, under its title
// (``{id}-title``), the others closed: one at a time. Asked about a row of a table
// (``beside``), it opens in a row of its own under that one, the list around it where it was;
// else, or once closed, in its place on the page. Their cancel buttons close them.
function askAbout(id, title, beside) {
  closeAsked();
  const form = document.getElementById(id);
  form.reset();
  document.getElementById(`${id}-title`).textContent = title;
  if (beside) {
    form.home = form.home || form.parentNode.insertBefore(document.createComment(id), form);
    const row = document.createElement("tr");
    row.className = "asking";
    const cell = row.insertCell();
    cell.colSpan = beside.cells.length;
    cell.appendChild(form);
    beside.after(row);
  }
  form.hidden = false;
  form.elements[0].focus();
  return form;
}
function closeAsked() {
  for (const form of document.querySelectorAll("form.about-one")) {
    form.hidden = true;
    if (form.home) form.home.after(form);
  }
  for (const row of document.querySelectorAll("tr.asking")) row.remove();
}
document.addEventListener("click", (event) => {
  if (event.target.closest("form.about-one button.cancel")) closeAsked();
});

// A spreadsheet's CSV file of ``rows`` (arrays of cells, the headings first), as an address
// for a link to download: UTF-8 with the byte-order mark Excel reads it by, and a cell that
// would begin a formula written after an apostrophe, as text (as mapsvc.db.spreadsheet does).
function csvFile(rows) {
  const cell = (value) => {
    const shown = value == null ? "" : String(value);
    return `"${(/^[=+\-@\t\r]/.test(shown) ? `'${shown}` : shown).replace(/"/g, '""')}"`;
  };
  const lines = rows.map((cells) => `${cells.map(cell).join(",")}\r\n`);
  return URL.createObjectURL(new Blob(["\ufeff", ...lines], { type: "text/csv" }));
}

// 区域: a select a level in ``box``, from the regions of level ``child`` within ``region`` (its
// code; none: the deployment's top regions, its cities and its counties of no city) down to
// ``lowest`` (village, or grid: a village's grids; the grids alone, with no region: the
// account's own), each chosen offering those within it, as ``page`` reads them.
// ``chosen(select)`` hears each choice (its ``dataset.level``, its value the code, "" for
// none), the selects below it gone. Its ``reset()`` leaves the first alone, unchosen.
const LEVEL_NAME = { city: "地级市", county: "区县", township: "乡镇（街道）",
                     village: "村（社区）", grid: "网格" };
const LEVEL_BELOW = { city: "county", county: "township", township: "village", village: "grid" };
function areaPicker(box, { region, child }, { page, lowest = "grid", chosen }) {
  async function offer(level, parent) {
    const within = level !== "grid" ? `regions?${regionsWithin(parent, level)}`
      : `grids?${new URLSearchParams({ limit: 1000, ...(parent ? { parent } : { mine: true }) })}`;
    const found = await callApi(page, "GET", `/api/v1/${within}`);
    const select = document.createElement("select");
    select.dataset.level = level;
    select.setAttribute("aria-label", LEVEL_NAME[level]);
    select.append(...[["", `全部${LEVEL_NAME[level]}`], ...found.features.map(
      (f) => [f.properties.code, f.properties.name, f.properties.level || level])].map(
      ([value, name, its]) => {
        const option = text("option", name);
        option.value = value;
        option.dataset.level = its;  // at the top, a county of no city among the cities
        return option;
      }));
    select.addEventListener("change", () => {
      while (select.nextElementSibling) select.nextElementSibling.remove();
      chosen(select);
      const its = select.selectedOptions[0].dataset.level;
      if (select.value && its !== lowest) {
        offer(LEVEL_BELOW[its], select.value).catch((e) => say(e.message, true));
      }
    });
    box.append(select);
  }
  offer(child, region).catch((e) => say(e.message, true));
  return {
    reset() {
      const [first, ...below] = box.querySelectorAll("select");
      for (const select of below) select.remove();
      if (first) first.value = "";
    },
  };
}

// The departments offered by code, with their names, in the datalist ``list`` (of an input a
// department's code is typed in), as ``page`` reads them.
async function offerDepartments(page, list) {
  const listed = await callApi(page, "GET", "/api/v1/departments");
  list.replaceChildren(...listed.map((d) => {
    const option = text("option", departmentName(d));
    option.value = d.code;
    return option;
  }));
}

// the code of the last region chosen in ``box`` (areaPicker's), "" for none
function areaRegion(box) {
  const regions = [...box.querySelectorAll("select")]
    .filter((s) => s.value && s.dataset.level !== "grid");
  return regions.length ? regions[regions.length - 1].value : "";
}
