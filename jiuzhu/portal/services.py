"""What the portal does, on top of ``cases.services`` (which alone creates cases and attachments).

* places: the townships that have villages in the division tree, and their villages;
* one-time form tokens: signed, single use (``PortalSubmission``), so a refresh does not make a second case;
* ``submit_application`` / ``submit_report``: the case, its signatures and files in one transaction;
* ``find_tracked``: case number + tracking code → the case and the cases triaged from the same request, with
  one answer for every failure (unknown number, wrong code, malformed input);
* ``public_view``: the only case fields the applicant sees (public status, public notes, open notices, amount);
* ``board`` / ``board_doc``: a village's 公示/公布 list, whitelisted fields only, with the exclusions applied
  again at query time.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from jiuzhu.cases import services as case_services
from jiuzhu.cases import storage
from jiuzhu.cases.models import Case, MaterialNotice, Programme, Publicity, TempType
from jiuzhu.cases.procedures import PUBLIC_STATES
from jiuzhu.core import crypto
from jiuzhu.core.audit import audit_record
from jiuzhu.core.masking import mask_name, mask_phone
from jiuzhu.core.models import Division
from jiuzhu.core.pdf import Doc, Fields, Heading, Para, Table, make_verification_code

from . import throttle
from .models import HardshipReport, PortalSubmission

FORM_SALT = "jiuzhu.portal.form"
TOKEN_MAX_AGE = 12 * 3600  # a form left open over lunch still submits; older ones are asked to submit again
SUBMISSION_RETENTION = dt.timedelta(days=2)
UNKNOWN_PERSON = "待核实"


class Duplicate(Exception):
    """This form (its token) has already produced a case."""

    def __init__(self, case_no: str):
        super().__init__(case_no)
        self.case_no = case_no


# ---- places ------------------------------------------------------------------------------------------------------

def _current(today: dt.date) -> Q:
    return Q(valid_to__isnull=True) | Q(valid_to__gte=today)


def townships(today: dt.date | None = None) -> list[tuple[str, list[Division]]]:
    """The townships that have villages in the tree (the area this installation serves), grouped by county."""
    today = today or timezone.localdate()
    with_villages = Division.objects.filter(_current(today), level=5).values("parent_id")
    rows = Division.objects.filter(_current(today), level=4, code__in=with_villages).select_related("parent").order_by("code")
    groups: dict[str, tuple[str, list[Division]]] = {}
    for t in rows:
        county = t.parent.name if t.parent is not None else ""
        groups.setdefault(t.parent_id or "", (county, []))[1].append(t)
    return list(groups.values())


def township(code: str) -> Division | None:
    if not re.fullmatch(r"\d{9}", code or ""):
        return None
    t = Division.objects.filter(code=code, level=4).select_related("parent").first()
    return t if t is not None and Division.objects.filter(parent=t, level=5).exists() else None


def village(code: str) -> Division | None:
    if not re.fullmatch(r"\d{12}", code or ""):
        return None
    return Division.objects.filter(code=code, level=5).select_related("parent", "parent__parent").first()


def authority(town: Division) -> str:
    return f"{town.name}办事处" if town.name.endswith("街道") else f"{town.name}人民政府"


# ---- one-time form tokens ----------------------------------------------------------------------------------------

def new_token() -> str:
    return signing.TimestampSigner(salt=FORM_SALT).sign(secrets.token_urlsafe(18))


def read_token(token: str) -> str | None:
    """The nonce of a genuine, recent token; None otherwise."""
    try:
        return signing.TimestampSigner(salt=FORM_SALT).unsign(token or "", max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None


def used(nonce: str) -> str | None:
    """The case number a token has already produced, if any."""
    return PortalSubmission.objects.filter(nonce=nonce).values_list("case_no", flat=True).first()


def _claim(nonce: str, kind: str) -> None:
    now = timezone.now()
    try:
        with transaction.atomic():
            PortalSubmission.objects.create(nonce=nonce, kind=kind, case_no="", at=now)
    except IntegrityError as e:  # the same form submitted twice at once: the other request won
        raise Duplicate(used(nonce) or "") from e
    PortalSubmission.objects.filter(at__lt=now - SUBMISSION_RETENTION).delete()


# ---- applications and reports ------------------------------------------------------------------------------------

@dataclass
class Application:
    programme: str
    temp_type: str
    area_code: str
    applicant_name: str
    id_number: str
    phone: str
    household_size: int
    reason: str
    signer_name: str


def _store_files(case: Case, checked: list[storage.Checked], kind: str, saved: list[str]) -> None:
    for c in checked:
        att = case_services.add_attachment(case=case, actor=None, kind=kind, checked=c, via="portal")
        saved.append(att.storage_name)
    if checked:
        audit_record(action="case.portal_upload", obj=case, username="portal",
                     detail={"kind": kind, "files": len(checked), "sha256": [c.sha256[:16] for c in checked]})  # fmt: skip


def _forget(saved: list[str]) -> None:
    """Files written for a transaction that rolled back: encrypted, but no row points at them any more."""
    for name in saved:
        (storage.root() / name).unlink(missing_ok=True)


def submit_application(app: Application, checked: list[storage.Checked], *, nonce: str, ip: str) -> tuple[Case, str]:
    """The case with both signatures and every file, or nothing (``Duplicate`` if this form was used)."""
    saved: list[str] = []
    try:
        with transaction.atomic():
            _claim(nonce, "apply")
            throttle.record(ip, "apply")
            case, code = case_services.intake(
                actor=None, programme=app.programme, channel="portal", area_code=app.area_code,
                applicant_name=app.applicant_name, applicant_id=app.id_number, applicant_phone=app.phone,
                household_size=app.household_size, summary=app.reason,
                temp_type=app.temp_type if app.programme == Programme.TEMPORARY else "",
                signatures=[("commitment", app.signer_name), ("authorisation", app.signer_name)],
            )  # fmt: skip
            _store_files(case, checked, "portal", saved)
            PortalSubmission.objects.filter(nonce=nonce).update(case_no=case.case_no)
    except BaseException:
        _forget(saved)
        raise
    return case, code


# Stored in the case's summary, so always in Chinese (the caseworker's language), whatever the reporter's.
RELATION_ZH = {"self": "本人", "relative": "亲属", "neighbour": "邻居", "other": "其他"}


def submit_report(*, area_code: str, person_name: str, what: str, relation: str, reporter_name: str,
                  reporter_phone: str, nonce: str, ip: str) -> tuple[Case, str]:  # fmt: skip
    """A 求助 (programme ``help``) in the township's intake queue. When the reporter is the person in need,
    their phone is the applicant's; otherwise it is kept (encrypted) with the report, for the call back."""
    is_self = relation == HardshipReport.Relation.SELF
    name = person_name or (reporter_name if is_self else "") or UNKNOWN_PERSON
    who = reporter_name or "未留姓名"
    line = f"【网上求助】报告人：{who}（{RELATION_ZH.get(relation, '其他')}）"
    line += f"，联系电话 {mask_phone(reporter_phone)}（完整号码加密保存在求助登记中）" if reporter_phone else "，未留联系电话"
    with transaction.atomic():
        _claim(nonce, "report")
        throttle.record(ip, "report")
        case, code = case_services.intake(
            actor=None, programme=Programme.HELP, channel="portal", area_code=area_code, applicant_name=name,
            applicant_phone=reporter_phone if is_self else "", summary=f"{what}\n\n{line}",
        )  # fmt: skip
        HardshipReport.objects.create(
            case=case, reporter_name=reporter_name, relation=relation,
            reporter_phone_enc=crypto.encrypt(reporter_phone, context="portal.reporter_phone") if reporter_phone else "",
            reporter_phone_masked=mask_phone(reporter_phone),
        )  # fmt: skip
        PortalSubmission.objects.filter(nonce=nonce).update(case_no=case.case_no)
    return case, code


def reporter_phone(report: HardshipReport) -> str:
    """The reporter's full number, for the township's call back (staff pages reveal it explicitly)."""
    if not report.reporter_phone_enc:
        return ""
    return crypto.decrypt(report.reporter_phone_enc, context="portal.reporter_phone")


# ---- tracking ----------------------------------------------------------------------------------------------------

CASE_NO_RE = re.compile(r"[A-Z]{2}-\d{9}-\d{4}-\d{5,7}")
CODE_CHARS = frozenset(case_services.TRACKING_ALPHABET)
_NO_HASH = "0" * 64


def _normalise(text: str, *, keep_dash: bool) -> str:
    text = unicodedata.normalize("NFKC", text or "").upper()
    return "".join(ch for ch in text if ch.isalnum() or (keep_dash and ch == "-"))[:40]


def find_tracked(case_no: str, code: str) -> list[Case] | None:
    """The case (first) and the other cases of the same request, or None — the same None for an unknown
    number, a wrong code or input that cannot be either. The keyed hash is computed and compared in constant
    time in every branch, so the answer's timing does not tell them apart either."""
    no, c = _normalise(case_no, keep_dash=True), _normalise(code, keep_dash=False)
    wellformed = bool(CASE_NO_RE.fullmatch(no)) and len(c) == 8 and set(c) <= CODE_CHARS
    case = Case.objects.select_related("parent").filter(case_no=no).first() if wellformed else None
    stored = case.tracking_hash if case is not None and case.tracking_hash else _NO_HASH
    # triaged cases keep the request's hash, made with the request's number
    numbers = [no or "-"] + ([case.parent.case_no] if case is not None and case.parent is not None else [])
    ok = False
    for n in numbers:
        ok |= hmac.compare_digest(stored.encode(), case_services.tracking_hash(n, c or "-").encode())
    if case is None or not ok:
        return None
    root = case.parent if case.parent is not None and case.parent.tracking_hash == case.tracking_hash else case
    group = [root, *root.children.filter(tracking_hash=root.tracking_hash).order_by("pk")]
    return [case] + [g for g in group if g.pk != case.pk]


def public_view(case: Case) -> dict[str, Any]:
    """What the applicant may see: no officer names, no internal reasons, no household details."""
    notices = [
        {"pk": n.pk, "issued_on": n.issued_on, "note": n.note,
         "items": [case_services.MATERIALS.get(i, i) for i in n.items if i != "other"]}
        for n in MaterialNotice.objects.filter(case=case, supplied_on__isnull=True).order_by("pk")
    ]  # fmt: skip
    timeline = list(case.transitions.exclude(public_note="").order_by("pk").values("on", "public_note"))
    approved = case.state == "approved" and case.amount is not None
    return {
        "pk": case.pk, "case_no": case.case_no, "programme": Programme(case.programme).label,
        "temp_type": TempType(case.temp_type).label if case.temp_type in TempType.values else "",
        "applicant": mask_name(case.applicant_name), "received_on": case.received_on,
        "status": PUBLIC_STATES.get(case.state, ""), "timeline": timeline, "notices": notices,
        "approved": approved, "amount": case.amount if approved else None,
        "start_month": case.start_month if approved else None, "one_off": case.programme == Programme.TEMPORARY,
    }  # fmt: skip


def add_supplement(case: Case, checked: list[storage.Checked]) -> None:
    """Missing materials sent on the portal: attachments of the case, audited. The caseworker checks them
    and records 材料已补齐 (which ends the 补正 pause); the portal does not."""
    saved: list[str] = []
    try:
        with transaction.atomic():
            _store_files(case, checked, "supplement", saved)
    except BaseException:
        _forget(saved)
        raise


# ---- publicity boards --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BoardRow:
    name: str
    household_size: int
    programme: str
    amount: Decimal | None
    village: str
    starts_on: dt.date
    ends_on: dt.date | None

    @property
    def period(self) -> str:
        if self.ends_on is None:
            return f"{self.starts_on:%Y-%m-%d} 起"
        return f"{self.starts_on:%Y-%m-%d} 至 {self.ends_on:%Y-%m-%d}"


BOARD_FIELDS = ("masked_name", "household_size", "amount", "programme", "starts_on", "ends_on")


def board(village_code: str, village_name: str, today: dt.date) -> dict[str, list[BoardRow]]:
    """Today's 公示 (within its 7 days) and 公布 (started, not ended) rows of a village board, not withdrawn.

    A second guard after the write-time one in ``cases.services``: rows of cases marked 不予公示, of the child
    allowance, or of a minor applicant are never shown, whatever the board holds. Only whitelisted fields
    are read, and the name is masked again (masking a masked name changes nothing)."""
    base = (Publicity.objects.filter(area_code=village_code, withdrawn_on__isnull=True, starts_on__lte=today)
            .exclude(case__no_publicity=True).exclude(case__applicant_is_minor=True)
            .exclude(case__programme=Programme.CHILD).exclude(programme=Programme.CHILD))  # fmt: skip
    kinds = {
        "publicity": base.filter(kind=Publicity.Kind.PUBLICITY, ends_on__gte=today),
        "publication": base.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today), kind=Publicity.Kind.PUBLICATION),
    }
    labels = dict(Programme.choices)
    return {
        k: [BoardRow(name=mask_name(r["masked_name"]), household_size=r["household_size"],
                     programme=str(labels.get(r["programme"], "")), amount=r["amount"], village=village_name,
                     starts_on=r["starts_on"], ends_on=r["ends_on"])
            for r in qs.order_by("programme", "starts_on", "pk").values(*BOARD_FIELDS)]
        for k, qs in kinds.items()
    }  # fmt: skip


OBJECTION_TEXT = "对公示对象有异议的，可在公示期内向乡镇（街道）人民政府或县级民政部门反映。"
BOARD_HEADER = ["序号", "姓名", "家庭人口", "救助项目", "金额（元）", "村（社区）", "公示（公布）期"]


def board_title(village_name: str) -> str:
    return f"{village_name}最低生活保障等救助对象公示/公布名单"


def board_doc(vil: Division, today: dt.date, rows: dict[str, list[BoardRow]]) -> Doc:
    """The printable board. An official notice, so in Chinese whatever the reader's language."""
    town = vil.parent
    assert town is not None
    county = town.parent

    def table(items: list[BoardRow], empty: str) -> Table | Para:
        if not items:
            return Para(empty, indent=False)
        return Table(BOARD_HEADER, [[str(i), r.name, str(r.household_size), r.programme,
                                     f"{r.amount:.2f}" if r.amount is not None else "—", r.village, r.period]
                                    for i, r in enumerate(items, start=1)], col_widths=[0.6, 1, 0.8, 2, 1.1, 1.6, 2.2])  # fmt: skip

    return Doc(
        title=board_title(vil.name), authority=authority(town), case_no=vil.code,
        verification_code=make_verification_code(vil.code, today.isoformat()), issued_on=today,
        # /verify/ knows issued case documents only; the genuine list is the one online for this village
        verify_at=f"/portal/publicity/{vil.code}/", watermark="演示数据" if settings.DEMO_MODE else "",
        blocks=[
            Fields([("村（社区）", vil.name), ("乡镇（街道）", town.name), ("日期", f"{today.year}年{today.month}月{today.day}日")]),
            Heading("一、公示对象（公示期 7 天）"), table(rows["publicity"], "今日没有正在公示的对象。"),
            Heading("二、公布对象（正在享受救助）"), table(rows["publication"], "今日没有正在公布的对象。"),
            Para("金额：最低生活保障等按月发放的为月金额，临时救助为一次性金额。", indent=False),
            Para(OBJECTION_TEXT, indent=False),
            Para(f"受理异议的乡镇（街道）：{authority(town)}；县级民政部门：{county.name if county else ''}民政部门。",
                 indent=False),
        ],
    )  # fmt: skip
