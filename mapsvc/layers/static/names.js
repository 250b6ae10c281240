// What the pages call the cases' states and the steps of the loop (mapsvc.workflow.machine),
// and how they tell a step. Text a user typed (a step's note) is set as text.
"use strict";

const STATUS = {
  reported: "已上报", verifying: "核实中", filed: "已立案", dispatched: "已派遣",
  in_progress: "处置中", handled: "已处置", checking: "核查中", closed: "已结案",
  evaluated: "已评价", self_resolved: "自行处置", rejected: "不予受理", void: "已作废",
};
const ACTION_NAME = {
  report: "上报", verify: "核实", confirm: "核实属实", file: "立案", reject: "不予受理",
  self_resolve: "当场处置", dispatch: "派遣", accept: "签收", hand_back: "退回",
  report_handled: "处置完成", check: "核查", check_pass: "核查通过", check_fail: "核查不通过",
  close: "结案", follow_up: "回访评价", reopen: "重新立案", void: "作废",
  request_extension: "申请延期", extend: "延期", decline_extension: "不予延期", suspend: "挂账",
  resume: "恢复办理", supervise: "督办", escalate: "上报上级", reassign: "改派",
  merge: "合并重复",
};

// a step's time: today's by the clock, earlier ones also by their day
function stepTime(at) {
  const time = at.toLocaleTimeString("zh-CN", { hour12: false });
  if (at.toDateString() === new Date().toDateString()) return time;
  return `${at.getMonth() + 1}月${at.getDate()}日 ${time.slice(0, 5)}`;
}

// a step of a case's timeline in one line: when, what and who
function stepLine(step) {
  const what = ACTION_NAME[step.action] || step.action;
  return `${stepTime(new Date(step.at))} ${what} · ${step.actor}`;
}

// a step as an item of a case's timeline: its line, and its note under it
function stepItem(step) {
  const item = document.createElement("li");
  item.textContent = stepLine(step);
  if (step.note) {
    const note = document.createElement("p");
    note.textContent = step.note;
    item.appendChild(note);
  }
  return item;
}
