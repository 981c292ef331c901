"""Each programme's procedure as a table: states, actions (who may act, from which states, to which state) and
deadline rules. ``services.perform`` is the only code that moves a case; it reads these tables and nothing else
decides who may do what. Sources: REFERENCE §3 (低保), §4.2 (特困), §5.2 (临时救助), §6 and §8 (the others), §7.5
(一门受理). Conditions that need the case's records (≥ 2 investigators, publicity over, mandatory county visit)
are checked by the action's handler in ``services`` (one handler per action key, same name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from jiuzhu.accounts.roles import Role

CW, VA, RV, VF = Role.CASEWORKER.value, Role.VILLAGE_ASSISTANT.value, Role.REVIEWER.value, Role.VERIFIER.value

# States (shared names across programmes; each procedure uses a subset).
STATES: dict[str, Any] = {
    "received": _("待受理"),
    "awaiting_materials": _("待补正材料"),
    "accepted": _("已受理"),
    "investigating": _("调查核实"),
    "publicity": _("公示中"),
    "objection": _("公示有异议"),
    "county_review": _("县级审核"),
    "conference": _("一事一议待议"),
    "advance_paid": _("已先行救助，待补齐手续"),
    "approved": _("已批准"),
    "rejected": _("不予批准，待送达"),
    "rejection_notified": _("不予批准，已告知"),
    "terminated": _("已终止"),
    "withdrawn": _("已撤回"),
    "referred": _("已分办/转介"),
}
OPEN_STATES = frozenset({"received", "awaiting_materials", "accepted", "investigating", "publicity", "objection",
                         "county_review", "conference", "advance_paid", "rejected"})  # fmt: skip
PRE_DECISION = frozenset({"received", "awaiting_materials", "accepted", "investigating", "publicity", "objection",
                          "county_review", "conference"})  # fmt: skip
CLOSED_STATES = frozenset(STATES) - OPEN_STATES

# What the applicant sees on the portal for each state (no internal detail).
PUBLIC_STATES: dict[str, Any] = {
    "received": _("已收到，等待乡镇（街道）受理"),
    "awaiting_materials": _("需要补充材料，请查看补正告知"),
    "accepted": _("已受理"),
    "investigating": _("正在调查核实家庭情况"),
    "publicity": _("正在村（居）公示"),
    "objection": _("公示期间收到意见，正在复查"),
    "county_review": _("县级民政部门审核中"),
    "conference": _("提交县级协调机制研究"),
    "advance_paid": _("已先行救助，正在补办手续"),
    "approved": _("已批准"),
    "rejected": _("未予批准，书面告知正在送达"),
    "rejection_notified": _("未予批准，已书面告知（可申请行政复议或提起行政诉讼）"),
    "terminated": _("已终止办理"),
    "withdrawn": _("已撤回申请"),
    "referred": _("已转交相关部门或项目办理"),
}


@dataclass(frozen=True)
class Action:
    key: str
    label: Any
    sources: frozenset[str]
    target: str | None  # None: a record on the case; the state does not change
    roles: frozenset[str]
    public: Any = ""  # what the applicant is told when it happens
    danger: bool = False  # shown as a red button (ends the case)


@dataclass(frozen=True)
class DeadlineRule:
    key: str
    label: Any
    start: tuple[str, ...]  # actions that start the clock (the last one counts, or the first if ``first``)
    met: tuple[str, ...]  # actions that meet it
    days: int | Callable[[Any, Any], int]  # a number, or f(case, setting)
    unit: str = "working"  # working | calendar
    level: str = "township"
    first: bool = False
    pausable: bool = False  # the 补正 pauses count (the overall limit)


@dataclass(frozen=True)
class Procedure:
    programme: str
    actions: dict[str, Action]
    deadlines: tuple[DeadlineRule, ...]
    publicity: bool = True  # 公示 before the decision
    publication: bool = True  # 公布 after approval
    notes: tuple[Any, ...] = field(default_factory=tuple)

    def available(self, state: str) -> list[Action]:
        return [a for a in self.actions.values() if state in a.sources]


def A(key: str, label: Any, sources: set[str] | frozenset[str], target: str | None, roles: set[str], **kw: Any) -> Action:  # noqa: N802
    return Action(key, label, frozenset(sources), target, frozenset(roles), **kw)


def _overall(case: Any, setting: Any) -> int:
    """30 working days from acceptance; 20 if the confirmation power is delegated; 45 when extended (N5 §4(1))."""
    if case.extended:
        return 45
    return 20 if setting.delegated else 30


# ---- building blocks shared by the programmes --------------------------------------------------------------------

def _intake() -> list[Action]:
    return [
        A("accept", _("受理"), {"received"}, "accepted", {CW},
          public=_("申请已受理")),
        A("request_materials", _("一次性告知补正材料"), {"received", "accepted"}, "awaiting_materials", {CW},
          public=_("请按补正告知书一次性补齐材料")),
        A("supply_materials", _("材料已补齐"), {"awaiting_materials"}, "accepted", {CW}, public=_("补正材料已收到")),
        A("sign", _("登记承诺书/授权书"), {"received", "awaiting_materials", "accepted", "investigating", "advance_paid"},
          None, {CW}),
        A("attach", _("上传材料"), frozenset(OPEN_STATES), None, {CW, VA}),
        A("link_household", _("关联在册家庭"), {"received", "awaiting_materials", "accepted", "investigating",
                                             "advance_paid"}, None, {CW}),
        A("exclude_publicity", _("不予公示（隐私保护）"), frozenset(OPEN_STATES) | {"approved"}, None, {CW, RV}),
        A("record_complaint", _("登记投诉举报"), frozenset(PRE_DECISION), None, {CW, RV}),
        A("transfer", _("移交其他乡镇（街道）"), {"received", "accepted"}, "received", {CW},
          public=_("已移交有管辖权的乡镇（街道）办理")),
        A("withdraw", _("申请人撤回"), frozenset(PRE_DECISION), "withdrawn", {CW}, danger=True,
          public=_("已按申请人意愿撤回")),
        A("terminate", _("终止办理（不配合调查）"), frozenset(PRE_DECISION), "terminated", {CW, RV}, danger=True,
          public=_("因未配合调查核实，终止办理")),
    ]  # fmt: skip


def _investigation(start_from: set[str]) -> list[Action]:
    return [
        A("start_investigation", _("启动调查"), start_from, "investigating", {CW}),
        A("record_investigation", _("录入入户调查"), {"investigating", "objection", "county_review", "advance_paid"}, None,
          {CW, VA, RV}),
        A("request_verification", _("提请家庭经济状况核对"), {"investigating"}, None, {CW}),
        A("run_verification", _("开展核对"), {"investigating", "objection", "county_review"}, None, {VF}),
        A("contest_verification", _("登记核对异议"), {"investigating", "objection", "county_review"}, None, {CW},
          public=_("已收到您对核对结果的异议，乡镇（街道）正在复查")),
        A("recheck_verification", _("复查核对异议"), {"investigating", "objection", "county_review"}, None, {CW}),
        A("extend", _("延长办理时限至45个工作日"), {"accepted", "investigating", "publicity", "objection",
                                                  "county_review"}, None, {CW, RV}),
    ]  # fmt: skip


def _publicity(*, republish: bool) -> list[Action]:
    """公示 and its objections. 低保: after an objection, re-investigate or hold a democratic review, then report to
    the county. 特困 (``republish``): a new opinion after the objection is publicised again."""
    return [
        A("propose", _("提出初审意见并公示"), {"investigating"} | ({"objection"} if republish else set()), "publicity",
          {CW}, public=_("初审意见已在村（居）公示7天")),
        A("record_objection", _("登记公示异议"), {"publicity"}, "objection", {CW},
          public=_("公示期间收到意见，正在复查")),
        A("reinvestigate", _("重新调查"), {"objection"}, "investigating", {CW}),
        A("democratic_review", _("民主评议"), {"objection"}, None, {CW}),
        A("submit_to_county", _("报县级审核"), {"publicity"} | (set() if republish else {"objection"}),
          "county_review", {CW}, public=_("已报县级民政部门审核")),
    ]  # fmt: skip


def _decision(*, confirm_label: Any, reject_label: Any) -> list[Action]:
    return [
        A("confirm", confirm_label, {"county_review"}, "approved", {RV},
          public=_("已批准，自次月起发放")),
        A("return_to_township", _("退回乡镇补充调查"), {"county_review"}, "investigating", {RV}),
        A("reject", reject_label, {"county_review"}, "rejected", {RV}, danger=True),
        A("notify_rejection", _("送达不予批准通知书"), {"rejected"}, "rejection_notified", {CW, RV},
          public=_("不予批准通知书已送达，可依法申请行政复议或提起行政诉讼")),
    ]  # fmt: skip


def _table(actions: list[Action]) -> dict[str, Action]:
    out: dict[str, Action] = {}
    for a in actions:
        assert a.key not in out, a.key
        for s in a.sources:
            assert s in STATES, s
        assert a.target is None or a.target in STATES, a.target
        out[a.key] = a
    return out


COMMON_DEADLINES = (
    DeadlineRule("overall", _("办理总时限"), ("accept", "request_materials"), ("confirm", "reject"), _overall,
                 first=True, pausable=True, level="county"),
    DeadlineRule("rejection_notice", _("不予批准书面告知"), ("reject",), ("notify_rejection",), 3),
)  # fmt: skip

# ---- 低保 (REFERENCE §3) ----------------------------------------------------------------------------------------

DIBAO = Procedure(
    "dibao",
    _table([*_intake(), *_investigation({"accepted"}), *_publicity(republish=False),
            *_decision(confirm_label=_("审核确认"), reject_label=_("不予确认"))]),
    (
        DeadlineRule("investigation_start", _("启动调查（受理后3个工作日内）"), ("accept",), ("start_investigation",), 3,
                     first=True),
        DeadlineRule("verification_start", _("县级启动核对（提请后3个工作日内）"), ("request_verification",),
                     ("run_verification",), 3, level="county"),
        DeadlineRule("county_review", _("县级审核确认（收到材料后10个工作日内）"), ("submit_to_county",),
                     ("confirm", "reject", "return_to_township"), 10, level="county"),
        *COMMON_DEADLINES,
    ),
)

# ---- 特困 (REFERENCE §4.2): opinion within 15 wd; objection → new opinion within 15 wd and publicise again;
# county opinion within 15 wd with a ≥ 30 % random on-site check; self-care assessment by the county.

TEKUN = Procedure(
    "tekun",
    _table([*_intake(), *_investigation({"accepted"}), *_publicity(republish=True),
            A("assess_self_care", _("生活自理能力评估"), {"investigating", "county_review"}, None, {RV, CW},
              ),
            *_decision(confirm_label=_("审批确认"), reject_label=_("不予批准"))]),
    (
        DeadlineRule("opinion", _("调查并提出初审意见（受理后15个工作日内）"), ("accept",), ("propose",), 15,
                     first=True, pausable=True),
        DeadlineRule("reopinion", _("异议复查并重新提出意见（15个工作日内）"), ("record_objection",), ("propose",), 15),
        DeadlineRule("verification_start", _("县级启动核对（提请后3个工作日内）"), ("request_verification",),
                     ("run_verification",), 3, level="county"),
        DeadlineRule("county_review", _("县级审核（15个工作日内）"), ("submit_to_county",),
                     ("confirm", "reject", "return_to_township"), 15, level="county"),
        DeadlineRule("rejection_notice", _("不予批准书面告知"), ("reject",), ("notify_rejection",), 3),
    ),
)

# ---- 临时救助 (REFERENCE §5.2) ---------------------------------------------------------------------------------
# 急难型: 先行救助 from the township reserve fund, then the paperwork within ``paperwork_wd`` working days.
# 支出型: the full procedure; approval by amount — township up to its limit, county up to its limit, above that
# (or 一事一议) the county coordination mechanism with its minutes.

TEMPORARY = Procedure(
    "temporary",
    _table([*_intake(), *_investigation({"accepted"}), *_publicity(republish=False),
            A("set_tier", _("确定救助类型和档次"), {"received", "accepted", "investigating", "objection", "county_review"},
              None, {CW, RV}),
            A("advance_pay", _("先行救助（备用金支付）"), {"received", "accepted", "investigating"}, "advance_paid",
              {CW}, public=_("已先行救助")),
            A("complete_paperwork", _("补齐手续"), {"advance_paid"}, "approved", {CW},
              public=_("先行救助手续已补齐")),
            A("township_approve", _("乡镇审批"), {"publicity"}, "approved", {CW},
              public=_("已批准")),
            A("refer_conference", _("提交一事一议"), {"county_review"}, "conference", {RV},
              public=_("提交县级协调机制研究")),
            A("conference_decide", _("一事一议决定"), {"conference"}, "approved", {RV},
              public=_("已批准")),
            A("pay_instalment", _("分阶段发放"), {"approved"}, None, {CW}),
            A("refer_out", _("转介（慈善/其他部门）"), frozenset(OPEN_STATES) | {"approved"}, None, {CW},
              public=_("已转介相关部门或慈善组织跟进")),
            *_decision(confirm_label=_("县级审批"), reject_label=_("不予救助"))]),
    (
        DeadlineRule("paperwork", _("先行救助后补齐手续"), ("advance_pay",), ("complete_paperwork",),
                     lambda case, setting: setting.paperwork_wd),
        DeadlineRule("county_review", _("县级审批（10个工作日内）"), ("submit_to_county",),
                     ("confirm", "reject", "return_to_township", "refer_conference"), 10, level="county"),
        DeadlineRule("rejection_notice", _("不予救助书面告知"), ("reject",), ("notify_rejection",), 3),
    ),
)


def _short(programme: str, *, publicity: bool, publication: bool, days: int = 15) -> Procedure:
    """低保边缘/刚性支出 recognition, 两项补贴, 高龄补贴, child allowances: township investigation and opinion within
    ``days`` working days, county confirmation within ``days`` (REFERENCE §6, §8.2)."""
    acts = [*_intake(), *_investigation({"accepted"})]
    if publicity:
        acts += _publicity(republish=False)
    else:
        acts.append(A("submit_to_county", _("报县级审核"), {"investigating"}, "county_review", {CW},
                      public=_("已报县级民政部门审核")))  # fmt: skip
    acts += _decision(confirm_label=_("审核确认"), reject_label=_("不予确认"))
    return Procedure(
        programme, _table(acts),
        (
            DeadlineRule("opinion", _("乡镇调查核实（受理后15个工作日内）"), ("accept",), ("propose", "submit_to_county"),
                         days, first=True, pausable=True),
            DeadlineRule("county_review", _("县级确认（15个工作日内）"), ("submit_to_county",),
                         ("confirm", "reject", "return_to_township"), days, level="county"),
            DeadlineRule("rejection_notice", _("不予确认书面告知"), ("reject",), ("notify_rejection",), 3),
        ),
        publicity=publicity, publication=publication,
    )  # fmt: skip


# 求助 (help request): the window triages it into applications, or refers it out.
HELP = Procedure(
    "help",
    _table([
        A("triage", _("分办为救助申请"), {"received"}, "referred", {CW},
          public=_("已按您的情况分别受理相关救助申请")),
        A("refer_out", _("转介（慈善/其他部门）"), {"received"}, "referred", {CW},
          public=_("已转交相关部门或慈善组织办理")),
        A("transfer", _("移交其他乡镇（街道）"), {"received"}, "received", {CW},
          public=_("已移交有管辖权的乡镇（街道）办理")),
        A("attach", _("上传材料"), {"received"}, None, {CW, VA}),
        A("withdraw", _("关闭（无需救助）"), {"received"}, "withdrawn", {CW}, danger=True,
          public=_("经核实无需救助，已关闭")),
    ]),
    (DeadlineRule("triage", _("分办（3个工作日内）"), ("create",), ("triage", "refer_out", "transfer", "withdraw"), 3,
                  first=True),),
    publicity=False, publication=False,
)  # fmt: skip

PROCEDURES: dict[str, Procedure] = {
    "help": HELP,
    "dibao": DIBAO,
    "tekun": TEKUN,
    "temporary": TEMPORARY,
    "near_dibao": _short("near_dibao", publicity=True, publication=True),
    "rigid": _short("rigid", publicity=True, publication=True),
    "two_subsidies": _short("two_subsidies", publicity=False, publication=False),
    "elderly": _short("elderly", publicity=False, publication=False),
    # 事实无人抚养儿童 and orphans: no publicity at all (N10).
    "child": _short("child", publicity=False, publication=False),
}


def procedure(programme: str) -> Procedure:
    return PROCEDURES[programme]
