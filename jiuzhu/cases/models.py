"""Applications and their procedure: how a request for help becomes a decision (REFERENCE §3, §4.2, §5.2, §7.5).

A ``Case`` is one request at the township's one window — an application for a programme, or a request for help
(求助) whose programme is not known yet. Its state changes only through ``services.perform`` following the
programme's table in ``procedures.py``; every change writes a ``Transition`` row and an audit event in the same
transaction. The records of the steps (deficiency notices, home investigations, verification, publicity,
objections, democratic review, decision, conference minutes, self-care assessment, instalments) hang off the
case. Deadlines are derived from the transitions and the pauses and stored in ``Deadline`` rows so that the
daily list of overdue work is one indexed query.

Scoping: ``area_code`` is the household's village code when known, else the township's; users see the cases in
their subtree (``restrict``), exactly as households.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from jiuzhu.core.scoping import AreaScopedQuerySet


class Programme(models.TextChoices):
    HELP = "help", _("求助（待分办）")
    DIBAO = "dibao", _("最低生活保障")
    TEKUN = "tekun", _("特困人员救助供养")
    TEMPORARY = "temporary", _("临时救助")
    NEAR_DIBAO = "near_dibao", _("低保边缘家庭认定")
    RIGID = "rigid", _("刚性支出困难家庭认定")
    TWO_SUBSIDIES = "two_subsidies", _("残疾人两项补贴")
    ELDERLY = "elderly", _("高龄补贴")
    CHILD = "child", _("孤儿和事实无人抚养儿童基本生活费")


class Channel(models.TextChoices):
    WINDOW = "window", _("窗口受理")
    PORTAL = "portal", _("网上申请")
    HOTLINE = "hotline", _("12345/12349热线")
    DEPARTMENT = "department", _("部门转办")
    OUTREACH = "outreach", _("主动发现")


class TempType(models.TextChoices):
    EMERGENCY = "emergency", _("急难型")
    EXPENDITURE = "expenditure", _("支出型")


class Case(models.Model):
    case_no = models.CharField(_("案件编号"), max_length=32, unique=True)
    programme = models.CharField(_("救助项目"), max_length=16, choices=Programme.choices)
    channel = models.CharField(_("受理渠道"), max_length=16, choices=Channel.choices, default=Channel.WINDOW)
    state = models.CharField(_("状态"), max_length=32, db_index=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("来源求助"))  # fmt: skip
    # Where: the village when known, else the township; the township always (the one window that handles it).
    area_code = models.CharField(max_length=12, db_index=True)
    township_code = models.CharField(max_length=9, db_index=True)
    household = models.ForeignKey("registry.Household", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="cases")  # fmt: skip
    # The applicant as stated at intake (matched to the registry by the blind index, never by plaintext).
    applicant_name = models.CharField(_("申请人"), max_length=64)
    applicant_id_enc = models.TextField(blank=True, default="")
    applicant_id_bi = models.CharField(max_length=32, blank=True, default="", db_index=True)
    applicant_id_masked = models.CharField(_("身份证号"), max_length=18, blank=True, default="")
    applicant_phone_enc = models.TextField(blank=True, default="")
    applicant_phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True, default="")
    applicant_is_minor = models.BooleanField(default=False)
    household_size = models.PositiveSmallIntegerField(_("家庭人口"), default=1)
    summary = models.TextField(_("申请事由"), blank=True, default="")
    temp_type = models.CharField(_("临时救助类型"), max_length=16, choices=TempType.choices, blank=True, default="")
    temp_tier = models.PositiveSmallIntegerField(_("救助档次"), default=0)
    one_matter = models.BooleanField(_("一事一议"), default=False)
    emergency_area_code = models.CharField(_("急难发生地"), max_length=12, blank=True, default="")
    # 首问负责: the first officer owns the request until it is handed on; owner is whoever holds it now.
    first_officer = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+", verbose_name=_("首问责任人"))  # fmt: skip
    owner = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("当前经办人"))  # fmt: skip
    # REFERENCE §2.7: a close relative of staff or cadres → registered separately, county home visit mandatory.
    conflict_flag = models.BooleanField(_("近亲属备案"), default=False)
    complaint_flag = models.BooleanField(_("有投诉举报"), default=False)
    random_check = models.BooleanField(_("抽查对象"), default=False)
    no_publicity = models.BooleanField(_("不予公示"), default=False)
    no_publicity_reason = models.CharField(max_length=64, blank=True, default="")
    extended = models.BooleanField(_("延长至45个工作日"), default=False)
    extension_reason = models.CharField(max_length=200, blank=True, default="")
    received_on = models.DateField(_("收件日期"))
    accepted_on = models.DateField(_("受理日期"), null=True, blank=True)
    decided_on = models.DateField(_("决定日期"), null=True, blank=True)
    closed_on = models.DateField(_("办结日期"), null=True, blank=True)
    # Amount decided (monthly, or once for 临时救助) — from the policy engine, never computed here.
    amount = models.DecimalField(_("救助金额"), max_digits=12, decimal_places=2, null=True, blank=True)
    start_month = models.DateField(_("起始发放月份"), null=True, blank=True)
    # Portal tracking: the code is shown once; only its keyed hash is kept.
    tracking_hash = models.CharField(max_length=64, blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["township_code", "state"], name="cases_case_town_state")]

    def __str__(self) -> str:
        return self.case_no


class Transition(models.Model):
    """One row per action on a case — the case's history. Never updated or deleted."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="transitions")
    area_code = models.CharField(max_length=12)
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=32)
    to_state = models.CharField(max_length=32)
    actor = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True, default="")
    on = models.DateField()  # the working date the action counts for (deadlines)
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    public_note = models.CharField(max_length=200, blank=True, default="")  # what the applicant sees

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]


class Deadline(models.Model):
    """A legal time limit of a case, derived from its transitions (``deadlines.recompute``)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="deadlines")
    area_code = models.CharField(max_length=12, db_index=True)
    key = models.CharField(max_length=32)
    label = models.CharField(max_length=64)
    started_on = models.DateField()
    due_on = models.DateField(null=True, blank=True)  # None while the clock is paused
    estimated = models.BooleanField(default=False)  # beyond the known holiday calendar: weekdays only
    met_on = models.DateField(null=True, blank=True)
    level = models.CharField(max_length=8, default="township")  # who must act: township | county

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "key"], name="cases_deadline_case_key")]
        indexes = [models.Index(fields=["met_on", "due_on"], name="cases_deadline_open")]


class Attachment(models.Model):
    """A file supplied with a case (materials, signed forms, scans). Kept encrypted under MEDIA_ROOT."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    area_code = models.CharField(max_length=12)
    kind = models.CharField(_("材料类别"), max_length=32)
    filename = models.CharField(max_length=120)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=80, unique=True)
    uploaded_by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_via = models.CharField(max_length=16, default="window")
    at = models.DateTimeField(auto_now_add=True)

    objects = AreaScopedQuerySet.as_manager()


class MaterialNotice(models.Model):
    """一次性告知: everything missing, in one notice. The deadline clock is paused from ``issued_on`` until the
    day the materials arrive (``supplied_on``, not counted as paused)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="material_notices")
    items = models.JSONField(default=list)
    note = models.TextField(blank=True, default="")
    issued_on = models.DateField()
    supplied_on = models.DateField(null=True, blank=True)
    issued_by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT, related_name="+")


class Signature(models.Model):
    """The applicant's (or a legal supporter's) truthfulness commitment and verification authorisation."""

    class Kind(models.TextChoices):
        COMMITMENT = "commitment", _("如实申报承诺书")
        AUTHORISATION = "authorisation", _("家庭经济状况核对授权书")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="signatures")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    signer_name = models.CharField(max_length=64)
    signer_role = models.CharField(max_length=32, default="applicant")  # applicant | member | supporter
    signed_on = models.DateField()
    via = models.CharField(max_length=16, default="window")
    attachment = models.ForeignKey(Attachment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")


class HomeInvestigation(models.Model):
    """入户调查: ≥ 2 investigators, the household's situation, signed by investigators and present members."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="investigations")
    level = models.CharField(max_length=8, default="township")  # township | county (mandatory visit, spot check)
    visited_on = models.DateField()
    mode = models.CharField(max_length=8, default="onsite")  # onsite | remote (major emergencies only)
    investigators = models.JSONField(default=list)
    present_members = models.CharField(max_length=200, blank=True, default="")
    housing = models.TextField(blank=True, default="")
    income = models.TextField(blank=True, default="")
    health = models.TextField(blank=True, default="")
    other = models.TextField(blank=True, default="")
    neighbours = models.TextField(blank=True, default="")
    conclusion = models.TextField(blank=True, default="")
    signed = models.BooleanField(default=False)
    recorded_by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT, related_name="+")


class VerificationRequest(models.Model):
    """The verification step (核对): the township requests it, the county's 核对 centre runs it
    (``verification.services.run_for_case``); the township sees the conclusion and a one-paragraph summary,
    the detail stays with the 核对 role (SECURITY PRIV-PURP)."""

    class Conclusion(models.TextChoices):
        MEETS = "meets", _("符合")
        FAILS = "fails", _("不符合")
        INVESTIGATE = "investigate", _("需进一步调查")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="verifications")
    requested_on = models.DateField()
    started_on = models.DateField(null=True, blank=True)
    completed_on = models.DateField(null=True, blank=True)
    conclusion = models.CharField(max_length=16, choices=Conclusion.choices, blank=True, default="")
    summary = models.TextField(blank=True, default="")
    is_stub = models.BooleanField(default=False)
    run = models.ForeignKey("verification.VerificationRun", null=True, blank=True, on_delete=models.PROTECT,
                            related_name="+")  # the 核对 run that answered the request
    requested_by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT, related_name="+")


class Publicity(models.Model):
    """A case on a village notice board: 公示 (before the decision, 7 calendar days) or 公布 (after it, until
    the benefit ends). Only whitelisted fields are stored: the masked name, household size, amount, village."""

    class Kind(models.TextChoices):
        PUBLICITY = "publicity", _("公示")
        PUBLICATION = "publication", _("公布")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="publicities")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    area_code = models.CharField(max_length=12, db_index=True)  # the village board
    programme = models.CharField(max_length=16)
    masked_name = models.CharField(max_length=64)
    household_size = models.PositiveSmallIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)  # last day shown (inclusive); None = until withdrawn
    withdrawn_on = models.DateField(null=True, blank=True)

    objects = AreaScopedQuerySet.as_manager()


class Objection(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="objections")
    publicity = models.ForeignKey(Publicity, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    received_on = models.DateField()
    raised_by = models.CharField(max_length=64, blank=True, default="")  # may be anonymous
    content = models.TextField()
    resolution = models.CharField(max_length=16, blank=True, default="")  # reinvestigate | review
    outcome = models.TextField(blank=True, default="")


class DemocraticReview(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="reviews")
    held_on = models.DateField()
    participants = models.TextField()
    minutes = models.TextField()
    votes_for = models.PositiveSmallIntegerField(default=0)
    votes_against = models.PositiveSmallIntegerField(default=0)


class Decision(models.Model):
    """The decision with what the policy engine said on the decision date (amount, reasons, cited parameters)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="decisions")
    approved = models.BooleanField()
    decided_on = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    start_month = models.DateField(null=True, blank=True)
    reasons = models.TextField(blank=True, default="")
    explanation = models.JSONField(default=dict, blank=True)
    level = models.CharField(max_length=16, default="county")  # township | county | conference
    decided_by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT, related_name="+")


class SelfCareAssessment(models.Model):
    """生活自理能力评估 (REFERENCE §4.3): six indicators; failed 0 → full self-care, 1–3 partial, ≥ 4 none."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="self_care")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    assessed_on = models.DateField()
    eating = models.BooleanField(default=True)
    dressing = models.BooleanField(default=True)
    transfer = models.BooleanField(default=True)
    toileting = models.BooleanField(default=True)
    walking = models.BooleanField(default=True)
    bathing = models.BooleanField(default=True)
    failed = models.PositiveSmallIntegerField()
    level = models.CharField(max_length=8)  # full | partial | none
    assessor = models.CharField(max_length=64)


class Conference(models.Model):
    """一事一议: the county coordination mechanism's collective decision, with its minutes."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="conferences")
    held_on = models.DateField()
    participants = models.TextField()
    minutes = models.TextField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)


class Instalment(models.Model):
    """一次审批、分阶段救助: the approved amount paid in stages; an advance from the reserve fund is one of them."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="instalments")
    seq = models.PositiveSmallIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    due_on = models.DateField()
    paid_on = models.DateField(null=True, blank=True)
    from_reserve = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="cases_instalment_case_seq")]


class Transfer(models.Model):
    """A hand-off: to another township, a county department, another programme, or a referral outside (charity,
    another department). The requester is told (``public_note`` on the transition)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="transfers")
    kind = models.CharField(max_length=16)  # township | programme | referral
    from_area = models.CharField(max_length=12)
    to_area = models.CharField(max_length=12, blank=True, default="")
    to_programme = models.CharField(max_length=16, blank=True, default="")
    to_body = models.CharField(max_length=100, blank=True, default="")
    reason = models.TextField()
    feedback = models.TextField(blank=True, default="")
    on = models.DateField()
    by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT, related_name="+")


class IssuedDocument(models.Model):
    """A printed notice: its verification code lets anyone check on the portal that it is genuine."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=32)
    verification_code = models.CharField(max_length=16, unique=True)
    issued_on = models.DateField()
    issued_by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="cases_document_case_kind")]


class StaffRelative(models.Model):
    """近亲属备案 (REFERENCE §2.7): staff and village cadres declare their close relatives; an application whose
    household includes one is flagged at acceptance. Matched on the blind index of the ID number."""

    area_code = models.CharField(max_length=12, db_index=True)  # where the declarant works
    declarant_name = models.CharField(_("申报人"), max_length=64)
    declarant_post = models.CharField(_("职务"), max_length=64)
    declarant = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    relative_name = models.CharField(_("近亲属姓名"), max_length=64)
    relation = models.CharField(_("关系"), max_length=16)
    relative_id_bi = models.CharField(max_length=32, db_index=True)
    relative_id_masked = models.CharField(max_length=18)
    declared_on = models.DateField()

    objects = AreaScopedQuerySet.as_manager()


class ProcedureSetting(models.Model):
    """Per-area procedure settings, inherited down the division tree (the longest matching prefix wins)."""

    area_code = models.CharField(max_length=12, unique=True)
    # 审核确认权限下放: the township confirms, and the total limit is 20 working days instead of 30.
    delegated = models.BooleanField(_("审核确认权限下放至乡镇"), default=False)
    # 先行救助: working days to complete the paperwork after an advance payment (national texts give none).
    paperwork_wd = models.PositiveSmallIntegerField(_("先行救助补齐手续时限（工作日）"), default=5)
    tekun_check_pct = models.PositiveSmallIntegerField(_("特困县级抽查比例（%）"), default=30)
    source = models.CharField(max_length=200, blank=True, default="")


class ReserveEntry(models.Model):
    """The township reserve fund (乡镇备用金) as a ledger: top-ups from the county, advance payments, and
    reconciliations (a counted balance with any difference booked and explained)."""

    class Kind(models.TextChoices):
        TOPUP = "topup", _("县级拨付")
        PAYMENT = "payment", _("先行救助支出")
        RECONCILE = "reconcile", _("对账调整")

    township_code = models.CharField(max_length=9, db_index=True)
    area_code = models.CharField(max_length=12)  # = township_code, for scoping
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)  # signed: payments negative
    balance = models.DecimalField(max_digits=12, decimal_places=2)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="reserve_entries")
    on = models.DateField()
    note = models.CharField(max_length=200, blank=True, default="")
    by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT, related_name="+")

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["township_code", "seq"], name="cases_reserve_town_seq"),
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="cases_reserve_balance_gte_0"),
        ]


class DocumentLookup(models.Model):
    """One row per lookup on the public document check (``/verify/``) from an address, for its per-IP throttle
    (like ``accounts.LoginAttempt``): in the database, so every worker process counts the same lookups. Rows
    older than the window are deleted as new lookups arrive."""

    ip = models.CharField(max_length=64)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["ip", "at"], name="cases_doclookup_ip_at")]


class Review(models.Model):
    """动态管理 (REFERENCE §2.5): one 复核 of a recipient's entitlement — scheduled (yearly for stable households and
    all 特困, half-yearly for unstable income), triggered by an event (a death, an income change reported, an age
    threshold, three refused job offers) or by a standard change. ``dynamic.complete_review`` re-verifies the
    household, re-evaluates it with the policy engine and records the outcome; the entitlement's months change
    only through ``payments.lifecycle``. Never deleted: the history stays."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", _("定期复核")
        EVENT = "event", _("事件触发复核")
        STANDARD_CHANGE = "standard_change", _("调标复核")

    class Trigger(models.TextChoices):
        NONE = "", _("无")
        DEATH = "death", _("家庭成员死亡")
        INCOME_CHANGE = "income_change", _("收入变化")
        AGE = "age", _("年龄变化")
        JOB_REFUSAL = "job_refusal", _("三次拒绝介绍的工作")

    class Status(models.TextChoices):
        OPEN = "open", _("待复核")
        PUBLICITY = "publicity", _("终止公示中")
        DONE = "done", _("已完成")
        CLOSED = "closed", _("无需复核")  # the entitlement stopped before the review was done

    class Outcome(models.TextChoices):
        NONE = "", _("未完成")
        NO_CHANGE = "no_change", _("维持不变")
        INCREASE = "increase", _("增发")
        DECREASE = "decrease", _("减发")
        GRADUAL_EXIT = "gradual_exit", _("渐退")
        STOP = "stop", _("停发")

    area_code = models.CharField(max_length=12, db_index=True)  # the household's village, for scoping
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="reviews")
    programme = models.CharField(_("救助项目"), max_length=16, choices=Programme.choices)
    entitlement = models.ForeignKey("payments.Entitlement", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reviews")  # fmt: skip
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("复核类型"), max_length=16, choices=Kind.choices)
    trigger = models.CharField(_("触发事件"), max_length=16, choices=Trigger.choices, blank=True, default="")
    # What makes the review unique for its entitlement: "cycle:<n>" (the n-th scheduled review), "death:<person>",
    # "job_refusal:<person>:<third refusal>", "income:<date>" — generation is idempotent on it.
    key = models.CharField(max_length=64)
    interval_months = models.PositiveSmallIntegerField(default=0)  # 12 or 6 for a scheduled review
    interval_rule = models.CharField(max_length=200, blank=True, default="")  # why that interval
    due_on = models.DateField(_("复核期限"))
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("复核结果"), max_length=16, choices=Outcome.choices, blank=True, default="")
    reasons = models.TextField(_("理由"), blank=True, default="")
    verification_run = models.ForeignKey("verification.VerificationRun", null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="+")  # fmt: skip
    engine = models.JSONField(default=dict, blank=True)  # the engine's result the outcome rests on
    other_programmes = models.JSONField(default=list, blank=True)  # what a leaving recipient may still get
    amount_before = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    amount_after = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    effective_month = models.DateField(null=True, blank=True)  # first month the outcome applies to
    exit_months = models.PositiveSmallIntegerField(null=True, blank=True)  # 渐退: months still paid
    last_paid_month = models.DateField(null=True, blank=True)  # 渐退 / stop: the last month paid
    publicity = models.ForeignKey(Publicity, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    notice_code = models.CharField(max_length=16, blank=True, default="")  # the notice's verification code
    notice_issued_on = models.DateField(null=True, blank=True)
    completed_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")  # fmt: skip
    completed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["household", "programme", "key"], name="cases_review_key"),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="cases_review_open")]

    def __str__(self) -> str:
        return f"review {self.pk} ({self.programme}, {self.kind})"


class JobOfferRefusal(models.Model):
    """A suitable job introduced by the 人社 department that a member able to work refused (REFERENCE §2.5: three
    consecutive refusals without good reason → the county reduces or stops that person's own benefit)."""

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=12, db_index=True)
    offered_on = models.DateField(_("介绍日期"))
    job = models.CharField(_("介绍的工作"), max_length=200)
    good_reason = models.BooleanField(_("有正当理由"), default=False)
    reason = models.CharField(_("拒绝理由"), max_length=200, blank=True, default="")
    recorded_by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["offered_on", "pk"]
