"""The states of a case and the actions that move it (GB/T 30428 and the 12345 loop):
信息收集 → 立案 → 派遣 → 处置 → 核查 → 结案 → 回访/评价, with rework, extension, suspension,
supervision, urgency and escalation recorded as actions on the way.

Each action names the roles that may take it, the states it may be taken from, the state it
leads to (None: the state stays) and what it needs. An action in any other state is refused
with 409, naming the state.
"""

from dataclasses import dataclass

from mapsvc.accounts.model import Role

# Every state is open or closed (the database checks a case's status is one of them).
OPEN = ("reported", "verifying", "filed", "dispatched", "in_progress", "handled", "checking")
CLOSED = ("closed", "evaluated", "self_resolved", "rejected", "void")
STATES = OPEN + CLOSED
WAITING = ("reported", "verifying")  # not yet taken in by the centre (待受理)
# the states a list asks for by one name: each alone, or those waiting to be taken in
STATUS_FILTERS = {**{s: (s,) for s in STATES}, "waiting": WAITING}
# the levels a case is escalated through (上报上级, 吹哨): a county's case whose county is of no
# city the deployment holds goes on to the departments
ESCALATION = ("grid", "village", "township", "county", "city", "department")
HANDLING = ("dispatched", "in_progress")  # with a handler (a department, or the field)
CHECKING = ("check_pass", "check_fail")  # the steps that check a handled case on site (核查)
FINDINGS = ("confirm", *CHECKING)  # the field's findings on site: verifying (核实), checking

# What the pages (names.js) call each state and each step, and the case ledger each state.
STATE_NAMES = {
    "reported": "已上报", "verifying": "核实中", "filed": "已立案", "dispatched": "已派遣",
    "in_progress": "处置中", "handled": "已处置", "checking": "核查中", "closed": "已结案",
    "evaluated": "已评价", "self_resolved": "自行处置", "rejected": "不予受理", "void": "已作废",
}
ACTION_NAMES = {
    "report": "上报", "verify": "核实", "confirm": "核实属实", "file": "立案", "reject": "不予受理",
    "self_resolve": "当场处置", "dispatch": "派遣", "accept": "签收", "hand_back": "退回",
    "report_handled": "处置完成", "check": "核查", "check_pass": "核查通过",
    "check_fail": "核查不通过", "close": "结案", "follow_up": "回访评价", "reopen": "重新立案",
    "void": "作废", "request_extension": "申请延期", "extend": "延期", "decline_extension": "不予延期",
    "suspend": "挂账", "resume": "恢复办理", "supervise": "督办", "expedite": "加急",
    "escalate": "上报上级", "urge": "催办", "contact": "联系诉求人", "exempt": "不纳入考核",
    "request_exemption": "申请不纳入考核", "decline_exemption": "不同意不纳入考核",
    "count_again": "恢复纳入考核",
    "reassign": "改派", "merge": "合并重复", "relocate": "更正位置", "reclassify": "更正类别",
    "regrid": "网格调整",  # a published plan moved the case to another grid (boundaries.publish)
}


# why a case is out of the hotline's evaluation (不纳入考核), asked or decided
UNREASONABLE = ("诉求明显不合理", "超出法律政策规定范围", "同一诉求反复来电，已答复")

# Common notes (常用语) the pages offer for the steps that take one, to be picked and edited
# rather than typed on a phone's keyboard each time.
PHRASES = {
    "confirm": ("经现场核实，情况属实",),
    "reject": ("不属于受理范围", "重复上报", "信息不全，无法核实", "经核实不存在"),
    "self_resolve": ("已当场处置完毕",),
    "hand_back": ("不属于本单位职责", "位置有误，请核实", "需其他部门协同处置"),
    "report_handled": ("已处置完毕", "已现场整改到位", "已清理完毕"),
    "check_fail": ("现场未处置完毕", "处置不彻底，仍有遗留", "群众仍有反映"),
    "close": ("经核实已解决", "已答复诉求人"),
    "reopen": ("群众反映问题仍未解决",),
    "void": ("重复上报", "误报"),
    "request_extension": ("需采购配件", "需协调多部门", "受天气影响，暂无法施工"),
    "extend": ("同意延期",),
    "decline_extension": ("时限内可以完成，不予延期",),
    "suspend": ("需纳入计划统筹解决", "涉及历史遗留问题"),
    "expedite": ("群众反映强烈，加急处置", "存在安全隐患，加急处置"),
    "urge": ("诉求人来电催促办理", "诉求人再次来电反映"),
    "contact": ("已电话联系诉求人，告知正在办理", "已联系诉求人，约定现场查看时间"),
    "exempt": UNREASONABLE, "request_exemption": UNREASONABLE,
    "decline_exemption": ("诉求合理，应予考核",),
    "count_again": ("经复核，诉求合理，应予考核",),
    "relocate": ("经现场核实，实际位置在此",),
    "reclassify": ("经核实，上报类别有误",),
}


def sql_list(states: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{s}'" for s in states) + ")"


OPEN_SQL = sql_list(OPEN)  # for "status IN OPEN_SQL"
# the open states in which clocks run (a case's colour is theirs): a reported case has none, a
# case being verified the verify clock until the field's finding, a filed one on the case's clock
FILED_ON = ("filed", "dispatched", "in_progress", "handled", "checking")
TIMED = ("verifying", *FILED_ON)
TIMED_SQL = sql_list(TIMED)
CLOSED_SQL = sql_list(CLOSED)
# the states in which a case counts in the hotline's evaluation, taken in and not thrown out:
# the filed and those closed, followed up or not (不纳入考核 takes such a case out of it)
COUNTABLE = (*FILED_ON, "closed", "evaluated", "self_resolved")

CENTRE = frozenset({Role.command, Role.admin})
FIELD = frozenset({Role.grid_worker, Role.grid_chief})
HANDLERS = frozenset({Role.department, Role.grid_worker, Role.grid_chief, Role.command, Role.admin})


@dataclass(frozen=True)
class Action:
    roles: frozenset[Role]
    sources: tuple[str, ...]
    target: str | None
    needs_note: bool = False
    needs_evidence: bool = False  # a note or a photo of the result
    needs: tuple[str, ...] = ()  # fields of the request the action cannot do without
    when: str | None = None  # what the case must be beside its state: one of CONDITIONS
    photographed: bool = False  # its result shown by photos taken on site (处置前后照片)

    @property
    def batched(self) -> bool:
        """Whether the step may be taken on many cases at once (批量办理): not one that needs
        something of one case alone (ONE_CASE), nor one that cannot be taken without the
        evidence of one case's result (a step whose result photos may show is batched without
        them)."""
        return not self.needs_evidence and not ONE_CASE.intersection(self.needs)


# What a step may need of one case alone: where it really is, the case it repeats, its
# reporter's rating.
ONE_CASE = frozenset({"point", "original", "satisfaction"})


# The steps that send a case back rather than on: it is no more done the first time (一次完成率).
RETURNS = ("hand_back", "reassign", "reopen")


# What an action may need of a case beside its state, and why it is refused without it.
CONDITIONS = {"requested": "no extension was requested",
              "extendable": "the incident's deadline was extended as often as it may be",
              "suspended": "the incident is not suspended",
              "running": "the incident is already suspended",
              "ordinary": "the incident is already urgent",
              "counted": "the incident is already out of the evaluation",
              "appealable": "the incident is out of the evaluation, or asked to be, already",
              "appealed": "no one asked to take the incident out of the evaluation",
              "exempted": "the incident is in the evaluation"}


ACTIONS: dict[str, Action] = {
    "verify": Action(CENTRE, ("reported",), "verifying"),                          # 核实
    # the field's finding on a verify task (核实属实), with a note or photo; the centre files
    "confirm": Action(FIELD, ("verifying",), None, needs_evidence=True, photographed=True),
    "file": Action(CENTRE, ("reported", "verifying"), "filed"),                    # 立案
    "reject": Action(CENTRE, ("reported", "verifying"), "rejected", needs_note=True),
    "self_resolve": Action(FIELD, ("reported",), "self_resolved",                  # 小事不出网格
                           needs_evidence=True, photographed=True),
    # to the department named, else the category's
    "dispatch": Action(CENTRE, ("filed",), "dispatched"),                          # 派遣
    "accept": Action(HANDLERS, ("dispatched",), "in_progress"),                    # 签收
    "hand_back": Action(HANDLERS, HANDLING, "filed", needs_note=True),
    "report_handled": Action(HANDLERS, ("in_progress",), "handled", needs_note=True,
                             photographed=True),
    "check": Action(CENTRE | FIELD, ("handled",), "checking"),                     # 核查
    "check_pass": Action(CENTRE | FIELD, ("checking",), "closed"),                 # 结案
    "check_fail": Action(CENTRE | FIELD, ("checking",), "dispatched", needs_note=True,  # 返工
                         photographed=True),
    "close": Action(CENTRE, ("filed", "handled"), "closed", needs_note=True),
    "follow_up": Action(CENTRE, ("closed", "self_resolved"), "evaluated",
                        needs=("satisfaction",)),                                 # 回访/评价
    "reopen": Action(CENTRE, ("closed", "evaluated", "self_resolved"), "filed", needs_note=True),
    "void": Action(CENTRE, OPEN, "void", needs_note=True),
    # as often as the deployment allows while one handler has the case (extensions_most)
    "request_extension": Action(HANDLERS, HANDLING, None, needs_note=True,
                                needs=("working_days",), when="extendable"),     # 延期申请
    # approves the request (or grants an extension unasked, with working_days)
    "extend": Action(CENTRE, HANDLING, None, needs_note=True, when="extendable"),  # 延期
    "decline_extension": Action(CENTRE, HANDLING, None, needs_note=True,
                                when="requested"),
    "suspend": Action(CENTRE, HANDLING, None, needs_note=True,                     # 挂账
                      when="running"),
    "resume": Action(CENTRE, HANDLING, None, when="suspended"),
    "supervise": Action(CENTRE, OPEN, None, needs=("level",)),                     # 督办
    # to be handled within the urgent limit, on the clock (mapsvc.workflow.clocks)
    "expedite": Action(CENTRE, OPEN, None, needs_note=True, when="ordinary"),      # 加急
    "escalate": Action(CENTRE | FIELD, OPEN, None),                               # 上报/吹哨
    # the caller called again about the case: counted on it (``urged``), what they said the note
    "urge": Action(CENTRE, OPEN, None, needs_note=True),                           # 催办
    # its handler told the caller it has the case, and what it will do (响应): the first time
    # is the case's ``contacted_at``, which 响应率 counts
    "contact": Action(HANDLERS, HANDLING, None, needs_note=True),                  # 联系诉求人
    # out of the figures its caller's judgement and calls make (满意度, 响应率, 满意率, 解决率,
    # 催办率), with why: a demand unreasonable, beyond the law, called in again and again
    "exempt": Action(CENTRE, COUNTABLE, None, needs_note=True, when="counted"),       # 不纳入考核
    # its department asks the centre to (申诉), with why; till the centre takes it out, or
    # declines with why
    "request_exemption": Action(frozenset({Role.department}), COUNTABLE, None, needs_note=True,
                                when="appealable"),
    "decline_exemption": Action(CENTRE, COUNTABLE, None, needs_note=True, when="appealed"),
    # a case taken out by mistake put back, with why: it counts again as it did before
    "count_again": Action(CENTRE, COUNTABLE, None, needs_note=True, when="exempted"),
    # to another department: a request for more time of the one before lapses
    "reassign": Action(CENTRE, HANDLING, "dispatched", needs=("department",)),
    # a case reported in the wrong class put in its own before it is dispatched: the department
    # it goes to by default and the limits of the clocks it starts from then on are the new
    # class's; a clock already running keeps its deadline
    "reclassify": Action(CENTRE, ("reported", "verifying", "filed"), None, needs_note=True,
                         needs=("category",)),
    # a case pinned in the wrong place moved to where it is, into the grid that point lands in
    "relocate": Action(CENTRE | FIELD, OPEN, None, needs_note=True, needs=("point",)),
    # the newcomer is voided as a duplicate of the original; its reporter follows the original
    "merge": Action(CENTRE, ("reported", "verifying", "filed"), "void", needs=("original",)),
}
