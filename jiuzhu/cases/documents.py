"""The printable documents of a case (docs/case-documents.md): 受理回执, 一次性告知书, 入户调查表, 批准通知书,
不予批准通知书 and 临时救助审批表, built as ``core.pdf.Doc`` from the case's records, and the public check of a
document's verification code.

A document exists only when its facts do (no 批准通知书 before a positive decision, no 一次性告知书 without a
deficiency notice): ``check`` raises ``Unavailable`` otherwise. The verification code is the ``IssuedDocument``
row's (``services.issue_document``, made at the first print); the views print, this module only builds.

The applicant's own notices carry the full name and the masked ID number; the internal forms (调查表, 审批表)
carry the household's full names but never an ID number. The public check says only what the document is,
who issued it and when, with the case number masked in the middle — nothing about the person or the money.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiuzhu.core.models import Division
from jiuzhu.core.pdf import Block, Checklist, Doc, Fields, Heading, Para, Table, normalise_verification_code

from .models import (
    Case,
    Channel,
    Decision,
    DocumentLookup,
    HomeInvestigation,
    IssuedDocument,
    MaterialNotice,
    Programme,
    TempType,
)  # fmt: skip
from .procedures import procedure

# kind → the short name used in file names and lists (the title printed on the document may be longer).
KINDS: dict[str, Any] = {
    "receipt": gettext_lazy("受理回执"),
    "deficiency": gettext_lazy("一次性告知书"),
    "investigation": gettext_lazy("入户调查表"),
    "confirmation": gettext_lazy("批准通知书"),
    "rejection": gettext_lazy("不予批准通知书"),
    "temp_approval": gettext_lazy("临时救助审批表"),
}
TRACK_PATH = "/portal/track/"
HELD_TEXT = gettext_lazy("无需提供，由我单位通过部门核查获取")
UNCONFIRMED = gettext_lazy("未经确认的示例值")

# The public check's throttle: lookups per address per window (settings may override both).
LOOKUP_LIMIT = 20
LOOKUP_WINDOW_MIN = 10


class Unavailable(Exception):
    """The case has no facts for this document (yet)."""


# ---- facts -----------------------------------------------------------------------------------------------------


def _latest_decision(case: Case) -> Decision | None:
    return case.decisions.order_by("-pk").first()


def _latest_notice(case: Case) -> MaterialNotice | None:
    return case.material_notices.order_by("-pk").first()


def _latest_investigation(case: Case) -> HomeInvestigation | None:
    return case.investigations.order_by("-pk").first()


def check(case: Case, kind: str) -> None:
    """Raise ``Unavailable`` unless the case has the facts the document prints."""
    if kind not in KINDS:
        raise Unavailable(kind)
    ok: bool
    if kind == "receipt":
        ok = case.programme != Programme.HELP and case.accepted_on is not None
    elif kind == "deficiency":
        ok = _latest_notice(case) is not None
    elif kind == "investigation":
        ok = _latest_investigation(case) is not None
    elif kind in ("confirmation", "rejection"):
        d = _latest_decision(case)
        ok = d is not None and d.approved == (kind == "confirmation")
    else:  # temp_approval: approved, or paid in advance from the reserve fund (先行救助) awaiting its paperwork
        d = _latest_decision(case)
        ok = case.programme == Programme.TEMPORARY and (
            (d is not None and d.approved) or case.instalments.filter(from_reserve=True).exists()
        )
    if not ok:
        raise Unavailable(kind)


def available(case: Case) -> list[str]:
    """The document kinds the case can print now, in KINDS order."""
    out = []
    for kind in KINDS:
        try:
            check(case, kind)
        except Unavailable:
            continue
        out.append(kind)
    return out


# ---- names -----------------------------------------------------------------------------------------------------


def _division_name(code: str) -> str:
    return Division.objects.filter(code=code).values_list("name", flat=True).first() or code


def township_authority(case: Case) -> str:
    """``汉滨区关庙镇人民政府`` (a 街道: ``…街道办事处``)."""
    county, town = _division_name(case.township_code[:6]), _division_name(case.township_code)
    return county + town + (_("办事处") if town.endswith("街道") else _("人民政府"))


def county_name(case: Case) -> str:
    return _division_name(case.township_code[:6])


def county_authority(case: Case) -> str:
    """``汉滨区民政局``."""
    return county_name(case) + _("民政局")


def authority(case: Case, kind: str) -> str:
    """Who issues the document: the township for what the one window does, the county for its own decisions."""
    level = "township"
    if kind == "investigation":
        inv = _latest_investigation(case)
        level = inv.level if inv is not None else level
    elif kind in ("confirmation", "rejection", "temp_approval"):
        d = _latest_decision(case)
        level = d.level if d is not None else level
    return township_authority(case) if level == "township" else county_authority(case)


def title(case: Case, kind: str) -> str:
    """The title printed on the document."""
    programme = str(Programme(case.programme).label) if case.programme in Programme.values else case.programme
    if kind == "receipt":
        return _("%(p)s申请受理通知书") % {"p": programme}
    if kind == "deficiency":
        return _("补正材料一次性告知书")
    if kind == "investigation":
        return _("%(p)s入户调查表") % {"p": programme}
    if kind == "confirmation":
        if case.programme == Programme.TEMPORARY:
            return _("临时救助审批通知书")
        return _("%(p)s批准通知书") % {"p": programme}
    if kind == "rejection":
        return _("%(p)s不予批准通知书") % {"p": programme}
    return str(KINDS[kind])


def short_name(case: Case, kind: str) -> str:
    if kind == "confirmation" and case.programme == Programme.TEMPORARY:
        return _("临时救助审批通知书")
    return str(KINDS[kind])


def filename(case: Case, kind: str) -> str:
    """``SQ-610902100-2026-00012-受理回执.pdf``."""
    return f"{case.case_no}-{short_name(case, kind)}.pdf"


def mask_case_no(case_no: str) -> str:
    """``SQ-610902100-2026-00012`` → ``SQ-610902100-2026-***12``: the township and year stay readable, the
    serial number does not (with the tracking code, the full number opens the case on the portal)."""
    head, sep, serial = case_no.rpartition("-")
    if not sep:
        head, serial = "", case_no
    keep = 2 if len(serial) > 3 else 1 if len(serial) > 1 else 0
    return head + sep + "*" * (len(serial) - keep) + serial[len(serial) - keep :]


def display_code(stored: str) -> str:
    """The stored code (no dashes) as printed: ``K7Q9-4MXT-2PHD``."""
    try:
        return normalise_verification_code(stored)
    except ValueError:
        return stored


# ---- formatting ------------------------------------------------------------------------------------------------


def _date(d: dt.date | None) -> str:
    return _("%(y)d年%(m)d月%(d)d日") % {"y": d.year, "m": d.month, "d": d.day} if d else "—"


def _month(d: dt.date | None) -> str:
    return _("%(y)d年%(m)d月") % {"y": d.year, "m": d.month} if d else "—"


def _money(v: Decimal | None) -> str:
    return _("%(a)s元") % {"a": f"{v:,.2f}"} if v is not None else "—"


def _programme(case: Case) -> str:
    return str(Programme(case.programme).label) if case.programme in Programme.values else case.programme


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return _("是") if v else _("否")
    if isinstance(v, str):
        return v
    if isinstance(v, dict | list):
        text = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
        return text if len(text) <= 120 else text[:117] + "…"
    return str(v)


def _time_limit(case: Case) -> str:
    """The legal time limit and its due date: the overall limit (低保), or the procedure's own pausable one (特困,
    the short procedures). Empty when the procedure has none (临时救助)."""
    from .services import setting_for

    rules = sorted((r for r in procedure(case.programme).deadlines if r.pausable), key=lambda r: r.key != "overall")
    rows = {d.key: d for d in case.deadlines.filter(key__in=[r.key for r in rules])}
    rule = next((r for r in rules if r.key in rows), None)
    if rule is None:
        return ""
    d = rows[rule.key]
    if rule.key == "overall":
        days = rule.days(case, setting_for(case.area_code)) if callable(rule.days) else rule.days
        text = _("自受理之日起%(n)d个工作日内办结（补正材料期间不计入）") % {"n": days}
    else:
        text = _("%(l)s（补正材料期间不计入）") % {"l": d.label}
    if d.due_on is None:
        return text + _("；补正材料期间暂停计算，补齐后继续计算")
    text += _("，应于%(d)s前办结") % {"d": _date(d.due_on)}
    return text + (_("（按工作日估算）") if d.estimated else "")


# Signs the engine's explanations use that the CID font (GBK) lacks, as their GBK look-alikes (else 〓).
_LOOKALIKES = str.maketrans({"\u2212": "\uff0d"})  # minus sign → fullwidth hyphen-minus


def _gbk(text: str) -> str:
    return text.translate(_LOOKALIKES)


def _salutation(case: Case) -> Para:
    return Para(_("%(n)s：") % {"n": case.applicant_name}, indent=False)


# ---- the documents ---------------------------------------------------------------------------------------------


def _receipt(case: Case) -> tuple[list[Block], list[str]]:
    officer = case.first_officer.display_name if case.first_officer is not None else "—"
    blocks: list[Block] = [
        _salutation(case),
        Para(_("您于%(r)s提出的%(p)s申请，经审查，符合受理条件，本机关已于%(a)s予以受理。现将有关事项告知如下：")
             % {"r": _date(case.received_on), "p": _programme(case), "a": _date(case.accepted_on)}),  # fmt: skip
        Fields([
            (_("案件编号"), case.case_no), (_("救助项目"), _programme(case)),
            (_("申请人"), case.applicant_name), (_("身份证号"), case.applicant_id_masked or "—"),
            (_("家庭人口"), _("%(n)d人") % {"n": case.household_size}),
            (_("受理渠道"), str(Channel(case.channel).label) if case.channel in Channel.values else case.channel),
            (_("收件日期"), _date(case.received_on)), (_("受理日期"), _date(case.accepted_on)),
            (_("受理单位"), township_authority(case)), (_("首问责任人"), officer),
        ]),  # fmt: skip
        Heading(_("办理进度查询")),
        Para(_("您可以登录社会救助网上服务平台“进度查询”（%(path)s），输入案件编号和提交申请时告知您的查询码，"
               "查看办理进度。查询码只在提交申请时告知一次，本通知书不载明查询码，请妥善保管，不要告诉他人。")
             % {"path": TRACK_PATH}),  # fmt: skip
        Heading(_("温馨提示")),
        Para(_("办理期间，工作人员将入户调查，并经您授权开展家庭经济状况核对，请如实提供情况、予以配合。"
               "如有疑问，可向首问责任人咨询。")),  # fmt: skip
    ]
    limit = _time_limit(case)
    if limit:
        blocks.insert(3, Fields([(_("办理时限"), limit)], columns=1))
    return blocks, [_("申请人签收")]


def _deficiency(case: Case) -> tuple[list[Block], list[str]]:
    from .services import HELD_BY_GOVERNMENT, MATERIALS

    notice = _latest_notice(case)
    assert notice is not None
    blocks: list[Block] = [
        _salutation(case),
        Para(_("您于%(r)s提出的%(p)s申请（案件编号：%(no)s），经审查，申请材料尚不齐全。现将需要补正的全部材料"
               "一次性告知如下：") % {"r": _date(case.received_on), "p": _programme(case), "no": case.case_no}),  # fmt: skip
        Heading(_("需要补正的材料")),
        Checklist([(MATERIALS.get(item, item), False) for item in notice.items]),
    ]
    if notice.note.strip():
        blocks.append(Para(_("说明：%(n)s") % {"n": notice.note.strip()}))
    blocks += [
        Heading(_("无需提供的材料")),
        Para(_("以下材料由政府部门掌握，您无需提供：")),
        Table([_("材料"), _("办理方式")], [[str(v), str(HELD_TEXT)] for v in HELD_BY_GOVERNMENT.values()],
              col_widths=[1, 2]),  # fmt: skip
        Heading(_("办理时限")),
        Para(_("自本告知书送达之日（%(d)s）起，办理时限暂停计算，至您补齐上述材料之日起继续计算。请备齐上述材料，"
               "送交%(a)s社会救助窗口（一门受理）。") % {"d": _date(notice.issued_on), "a": township_authority(case)}),  # fmt: skip
    ]
    return blocks, [_("申请人签收"), _("经办人")]


def _members(case: Case, on: dt.date) -> Table | Para:
    """The household as the staff see it: full names, relation, sex and age — never an ID number."""
    from jiuzhu.core.idnumber import age_on

    if case.household is None:
        return Para(_("尚未关联在册家庭。"))
    rows = []
    for i, p in enumerate(case.household.members.filter(death_date__isnull=True).order_by("relation", "birth_date"), 1):
        rows.append([str(i), p.name, p.get_relation_display(), p.get_sex_display(), str(age_on(p.birth_date, on))])
    if not rows:
        return Para(_("该户没有在册成员。"))
    return Table([_("序号"), _("姓名"), _("与户主关系"), _("性别"), _("年龄")], rows, col_widths=[1, 3, 2, 1, 1])


def _investigation(case: Case) -> tuple[list[Block], list[str]]:
    inv = _latest_investigation(case)
    assert inv is not None
    mode = _("入户调查") if inv.mode == "onsite" else _("远程（电话、视频）核实")
    blocks: list[Block] = [
        Fields([
            (_("案件编号"), case.case_no), (_("救助项目"), _programme(case)),
            (_("申请人"), case.applicant_name), (_("家庭人口"), _("%(n)d人") % {"n": case.household_size}),
            (_("调查日期"), _date(inv.visited_on)), (_("调查方式"), mode),
            (_("调查人员"), "、".join(inv.investigators)),
            (_("调查层级"), _("县级民政部门") if inv.level == "county" else _("乡镇（街道）")),
            (_("在场家庭成员"), inv.present_members or "—"),
            (_("居住地址"), case.household.address if case.household is not None and case.household.address else "—"),
        ]),  # fmt: skip
        Heading(_("家庭成员")),
        _members(case, inv.visited_on),
    ]
    for label, text in (
        (_("住房情况"), inv.housing), (_("收入情况"), inv.income), (_("健康状况"), inv.health),
        (_("其他情况"), inv.other), (_("邻里走访情况"), inv.neighbours), (_("调查结论"), inv.conclusion),
    ):  # fmt: skip
        blocks += [Heading(label), Para(text.strip() or "—")]
    signatures = [_("调查人员（%(n)s）") % {"n": name} for name in inv.investigators] + [_("在场家庭成员")]
    return blocks, signatures


def _parameters(explanation: dict[str, Any]) -> list[Block]:
    params = [p for p in explanation.get("parameters") or [] if isinstance(p, dict)]
    if not params:
        return []
    rows = []
    for p in params:
        value = _value(p.get("value"))
        if p.get("confidence") == "L":
            value += f"（{UNCONFIRMED}）"
        rows.append([str(p.get("label") or p.get("key") or ""), value, str(p.get("source") or "—"),
                     str(p.get("article") or "—"), str(p.get("confidence") or "—")])  # fmt: skip
    return [Heading(_("引用的政策参数")),
            Table([_("参数"), _("取值"), _("依据文件"), _("条款"), _("可信度")], rows, col_widths=[3, 3, 4, 2, 1.3])]  # fmt: skip


def _reasons(decision: Decision) -> list[Block]:
    reasons = [str(r) for r in (decision.explanation or {}).get("reasons") or [] if str(r).strip()]
    if not reasons and decision.reasons.strip():
        reasons = [decision.reasons.strip()]
    if not reasons:
        return [Para("—")]
    return [Para(f"{i}. {_gbk(r)}", indent=False) for i, r in enumerate(reasons, 1)]


def _level(level: str) -> str:
    return {"township": _("乡镇（街道）审批"), "county": _("县级民政部门审批"),
            "conference": _("一事一议（县级困难群众基本生活保障工作协调机制）")}.get(level, level)  # fmt: skip


def _confirmation(case: Case) -> tuple[list[Block], list[str]]:
    d = _latest_decision(case)
    assert d is not None
    temporary = case.programme == Programme.TEMPORARY
    intro = (_("您于%(r)s提出的临时救助申请（案件编号：%(no)s），经审核，符合临时救助条件，决定给予临时救助。")
             if temporary else
             _("您于%(r)s提出的%(p)s申请（案件编号：%(no)s），经调查核实、家庭经济状况核对和审核确认，符合条件，"
               "决定予以批准。"))  # fmt: skip
    amount = (_("一次性%(a)s") if temporary else _("每月%(a)s")) % {"a": _money(d.amount)}
    items = [(_("救助项目"), _programme(case)), (_("保障人口"), _("%(n)d人") % {"n": case.household_size}),
             (_("救助金额"), amount)]  # fmt: skip
    if not temporary:
        items.append((_("起始发放月份"), _month(d.start_month)))
    items += [(_("决定日期"), _date(d.decided_on)), (_("审批层级"), _level(d.level))]
    blocks: list[Block] = [
        _salutation(case),
        Para(intro % {"r": _date(case.received_on), "p": _programme(case), "no": case.case_no}),
        Fields(items),
        Heading(_("决定依据")),
        *_reasons(d),
        *_parameters(d.explanation or {}),
    ]
    if not temporary:
        blocks.append(Para(_("享受救助期间，家庭人口、收入、财产状况发生变化的，请及时告知%(a)s。")
                           % {"a": township_authority(case)}))  # fmt: skip
    return blocks, []


def _rejection(case: Case) -> tuple[list[Block], list[str]]:
    d = _latest_decision(case)
    assert d is not None
    return [
        _salutation(case),
        Para(_("您于%(r)s提出的%(p)s申请（案件编号：%(no)s），经调查核实和审核，不符合条件，决定不予批准。")
             % {"r": _date(case.received_on), "p": _programme(case), "no": case.case_no}),  # fmt: skip
        Heading(_("理由")),
        *_reasons(d),
        Heading(_("权利告知")),
        # 行政复议法 (2023) 第二十条、第二十四条; 行政诉讼法 第四十六条.
        Para(_("如对本决定不服，可以自收到本通知书之日起六十日内向%(gov)s人民政府申请行政复议，或者自收到本通知书"
               "之日起六个月内依法向人民法院提起行政诉讼。") % {"gov": county_name(case)}),  # fmt: skip
    ], [_("申请人签收")]


def _temp_approval(case: Case) -> tuple[list[Block], list[str]]:
    d = _latest_decision(case)
    decided = d if d is not None and d.approved else None
    temp_type = str(TempType(case.temp_type).label) if case.temp_type in TempType.values else "—"
    items = [
        (_("案件编号"), case.case_no), (_("申请人"), case.applicant_name),
        (_("身份证号"), case.applicant_id_masked or "—"), (_("家庭人口"), _("%(n)d人") % {"n": case.household_size}),
        (_("救助类型"), temp_type), (_("救助档次"), _("第%(t)d档") % {"t": case.temp_tier} if case.temp_tier else "—"),
        (_("审批金额"), _money(decided.amount if decided is not None else case.amount)),
        (_("审批层级"), _level(decided.level) if decided is not None else _("先行救助（乡镇审批，待补齐手续）")),
        (_("收件日期"), _date(case.received_on)), (_("审批日期"), _date(decided.decided_on) if decided else "—"),
    ]  # fmt: skip
    if case.emergency_area_code:
        items.append((_("急难发生地"), _division_name(case.emergency_area_code)))
    blocks: list[Block] = [Fields(items)]
    if case.summary.strip():
        blocks += [Heading(_("申请事由")), Para(case.summary.strip())]
    conference = case.conferences.order_by("-pk").first()
    if decided is not None and decided.level == "conference" and conference is not None:
        minutes = conference.minutes.strip()
        blocks += [
            Heading(_("一事一议")),
            Fields([(_("会议日期"), _date(conference.held_on)), (_("议定金额"), _money(conference.amount)),
                    (_("参加人员"), conference.participants.strip()),
                    (_("会议纪要摘要"), minutes if len(minutes) <= 300 else minutes[:300] + "…")], columns=1),  # fmt: skip
        ]
    instalments = list(case.instalments.order_by("seq"))
    blocks.append(Heading(_("发放情况")))
    if instalments:
        rows = [[str(i.seq), _money(i.amount), _date(i.due_on), _date(i.paid_on),
                 _("乡镇备用金（先行救助）") if i.from_reserve else _("临时救助资金")] for i in instalments]  # fmt: skip
        blocks.append(Table([_("期次"), _("金额"), _("应发日期"), _("实发日期"), _("资金来源")], rows))
    else:
        blocks.append(Para(_("尚未发放；无先行救助。")))
    return blocks, [_("经办人"), _("审核人"), _("审批人")]


BUILDERS = {
    "receipt": _receipt, "deficiency": _deficiency, "investigation": _investigation,
    "confirmation": _confirmation, "rejection": _rejection, "temp_approval": _temp_approval,
}  # fmt: skip
SEALED = {"receipt", "deficiency", "confirmation", "rejection", "temp_approval"}


def build(case: Case, kind: str, issued: IssuedDocument, *, verify_at: str = "/verify/") -> Doc:
    """The document for ``case`` with the code of its ``IssuedDocument``; ``Unavailable`` without its facts."""
    check(case, kind)
    if issued.case_id != case.pk or issued.kind != kind:
        raise ValueError("the issued document belongs to another case or kind")
    blocks, signatures = BUILDERS[kind](case)
    return Doc(title=title(case, kind), authority=authority(case, kind), case_no=case.case_no,
               verification_code=display_code(issued.verification_code), issued_on=issued.issued_on, blocks=blocks,
               signature_lines=signatures, seal=kind in SEALED, watermark=_("演示数据") if settings.DEMO_MODE else "",
               verify_at=verify_at)  # fmt: skip


# ---- the public check ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """What the public check shows of a genuine document: nothing personal."""

    title: str
    case_no: str  # masked
    issued_on: dt.date
    authority: str


def verify(text: str) -> Verified | None:
    """The genuine document behind a typed code, or None (unknown and malformed alike)."""
    try:
        code = normalise_verification_code(text or "").replace("-", "")
    except ValueError:
        return None
    issued = IssuedDocument.objects.select_related("case").filter(verification_code=code).first()
    if issued is None:
        return None
    case = issued.case
    return Verified(title=title(case, issued.kind) if issued.kind in KINDS else issued.kind,
                    case_no=mask_case_no(case.case_no), issued_on=issued.issued_on,
                    authority=authority(case, issued.kind))  # fmt: skip


def window_minutes() -> int:
    return int(getattr(settings, "VERIFY_LOOKUP_WINDOW_MIN", LOOKUP_WINDOW_MIN))


def lookup_throttled(ip: str, now: dt.datetime | None = None) -> bool:
    """Record this lookup and say whether the address went over its budget (``VERIFY_LOOKUP_LIMIT`` lookups per
    ``VERIFY_LOOKUP_WINDOW_MIN`` minutes; 20 per 10 by default). Every lookup counts, refused ones too."""
    now = now or timezone.now()
    limit = int(getattr(settings, "VERIFY_LOOKUP_LIMIT", LOOKUP_LIMIT))
    window = dt.timedelta(minutes=window_minutes())
    ip = (ip or "")[:64]
    with transaction.atomic():
        DocumentLookup.objects.create(ip=ip, at=now)
        count = DocumentLookup.objects.filter(ip=ip, at__gt=now - window).count()
        DocumentLookup.objects.filter(at__lt=now - window).delete()
    return count > limit


# ---- 动态管理 notices (cases.dynamic) ---------------------------------------------------------------------------
# A review's notice: 变更通知书 (increase, decrease, no change), 渐退通知书, 停发通知书 (特困: 终止供养通知书). Its
# verification code is the review's own (``Review.notice_code``): a migrated recipient's review has no case to
# hang an ``IssuedDocument`` on, so these notices are not checkable at /verify/ yet (docs/dynamic-management.md).

REVIEW_KINDS: dict[str, Any] = {
    "change": gettext_lazy("救助金变更通知书"),
    "exit": gettext_lazy("低保渐退通知书"),
    "stop": gettext_lazy("停发通知书"),
}


def review_title(review: Any) -> str:
    from .dynamic import notice_kind

    kind = notice_kind(review)
    if kind == "stop" and review.programme == Programme.TEKUN:
        return _("特困人员终止救助供养通知书")
    if kind == "stop":
        return _("%(p)s停发通知书") % {"p": str(Programme(review.programme).label)}
    return str(REVIEW_KINDS[kind])


def review_filename(review: Any) -> str:
    return f"FH-{review.household.household_no}-{review.pk}-{review_title(review)}.pdf"


def _review_authority(review: Any) -> str:
    county, town = _division_name(review.area_code[:6]), _division_name(review.area_code[:9])
    if review.outcome == "stop" and review.programme == Programme.TEKUN:
        return county + _("民政局")
    return county + town + (_("办事处") if town.endswith("街道") else _("人民政府"))


def build_review_notice(review: Any, *, verify_at: str = "/verify/") -> Doc:
    """The notice of a completed review; ``Unavailable`` before the review has one."""
    if not review.notice_code or review.notice_issued_on is None:
        raise Unavailable("review")
    e = review.entitlement
    recipient = e.recipient.name if e is not None else review.household.head_name
    programme = str(Programme(review.programme).label)
    eff = review.effective_month
    items: list[tuple[str, str]] = [(_("救助项目"), programme), (_("户编号"), review.household.household_no),
                                    (_("复核类型"), str(review.get_kind_display())),
                                    (_("复核结果"), str(review.get_outcome_display()))]  # fmt: skip
    if review.outcome == "gradual_exit":
        intro = _("经复核，您家庭成员就业后家庭月人均收入已超过当地低保标准。按照低保渐退政策，自%(m)s起继续发放原低保金%(n)d个月，"
                  "至%(l)s止，此后停止发放低保金。") % {"m": _month(eff), "n": review.exit_months or 0,
                                            "l": _month(review.last_paid_month)}  # fmt: skip
        items += [(_("渐退期间月金额"), _money(review.amount_after)), (_("渐退月数"), _("%(n)d个月") % {"n": review.exit_months or 0}),
                  (_("最后发放月份"), _month(review.last_paid_month))]  # fmt: skip
        param = (review.engine or {}).get("parameter") or {}
        if param:
            items.append((_("渐退期依据"), f"{param.get('source', '')} {param.get('article') or ''}（{param.get('confidence', '')}）"))
    elif review.outcome == "stop":
        intro = _("经复核，您家庭已不再符合%(p)s条件，自%(m)s起停止发放。") % {"p": programme, "m": _month(eff)}
        items += [(_("停发月份"), _month(eff)), (_("最后发放月份"), _month(review.last_paid_month))]
    else:
        intro = _("经复核，您家庭的%(p)s自%(m)s起按以下金额发放。") % {"p": programme, "m": _month(eff)}
        items += [(_("原月金额"), _money(review.amount_before)), (_("调整后月金额"), _money(review.amount_after)),
                  (_("执行月份"), _month(eff))]  # fmt: skip
    items.append((_("复核日期"), _date(review.completed_on)))
    reasons = [r for r in (review.reasons or "").splitlines() if r.strip()]
    blocks: list[Block] = [Para(_("%(n)s：") % {"n": recipient}, indent=False), Para(intro), Fields(items),
                           Heading(_("理由")), *([Para(f"{i}. {_gbk(r)}", indent=False) for i, r in enumerate(reasons, 1)]
                                                 or [Para("—")])]  # fmt: skip
    others = review.other_programmes or []
    if others:
        blocks += [Heading(_("可继续申请的救助")),
                   Para(_("按复核时的家庭情况，您家庭可能符合：%(l)s。可向乡镇（街道）申请。")
                        % {"l": "、".join(str(o.get("label", o.get("programme"))) for o in others)})]  # fmt: skip
    if review.outcome in ("stop", "decrease", "gradual_exit"):
        blocks += [Heading(_("权利告知")),
                   Para(_("如对本决定不服，可以自收到本通知书之日起六十日内向%(gov)s人民政府申请行政复议，或者自收到本通知书"
                          "之日起六个月内依法向人民法院提起行政诉讼。") % {"gov": _division_name(review.area_code[:6])})]  # fmt: skip
    return Doc(title=review_title(review), authority=_review_authority(review),
               case_no=f"FH-{review.household.household_no}-{review.pk}",
               verification_code=display_code(review.notice_code), issued_on=review.notice_issued_on, blocks=blocks,
               signature_lines=[_("签收人")], seal=True, watermark=_("演示数据") if settings.DEMO_MODE else "",
               verify_at=verify_at)  # fmt: skip


def build_exit_end_notice(review: Any, *, on: dt.date, verify_at: str = "/verify/") -> Doc:
    """停发通知书 at the end of a 渐退 (printed by the township in the exit's last month): the 低保 stops after the
    last month of the exit. ``Unavailable`` unless the review put the household into 渐退. Its code is derived
    from the review (stable, keyed), like the review notice's."""
    from jiuzhu.core.pdf import make_verification_code

    if review.outcome != "gradual_exit" or review.last_paid_month is None or review.status != "done":
        raise Unavailable("exit_end")
    e = review.entitlement
    recipient = e.recipient.name if e is not None else review.household.head_name
    last = review.last_paid_month
    stop = dt.date(last.year + last.month // 12, last.month % 12 + 1, 1)
    programme = str(Programme(review.programme).label)
    items: list[tuple[str, str]] = [
        (_("救助项目"), programme), (_("户编号"), review.household.household_no),
        (_("渐退月数"), _("%(n)d个月") % {"n": review.exit_months or 0}),
        (_("最后发放月份"), _month(last)), (_("停发月份"), _month(stop)),
    ]  # fmt: skip
    blocks: list[Block] = [
        Para(_("%(n)s：") % {"n": recipient}, indent=False),
        Para(_("经%(d)s复核，您家庭按低保渐退政策继续领取低保金%(k)d个月，渐退期至%(l)s届满，自%(m)s起停止发放低保金。")
             % {"d": _date(review.completed_on), "k": review.exit_months or 0, "l": _month(last), "m": _month(stop)}),  # fmt: skip
        Fields(items),
    ]
    if review.other_programmes:
        blocks += [Heading(_("可继续申请的救助")),
                   Para(_("按复核时的家庭情况，您家庭可能符合：%(l)s。可向乡镇（街道）申请。")
                        % {"l": "、".join(str(o.get("label", o.get("programme"))) for o in review.other_programmes)})]  # fmt: skip
    blocks += [Heading(_("权利告知")),
               Para(_("如对本决定不服，可以自收到本通知书之日起六十日内向%(gov)s人民政府申请行政复议，或者自收到本通知书"
                      "之日起六个月内依法向人民法院提起行政诉讼。") % {"gov": _division_name(review.area_code[:6])})]  # fmt: skip
    code = make_verification_code("review", str(review.pk), "exit_end").replace("-", "")
    return Doc(title=_("%(p)s停发通知书") % {"p": programme}, authority=_review_authority(review),
               case_no=f"FH-{review.household.household_no}-{review.pk}", verification_code=display_code(code),
               issued_on=on, blocks=blocks, signature_lines=[_("签收人")], seal=True,
               watermark=_("演示数据") if settings.DEMO_MODE else "", verify_at=verify_at)  # fmt: skip
