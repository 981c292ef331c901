"""Monthly payment (按月发放, REFERENCE §2.3): entitlements, payroll runs and their lines, bank returns.

An ``Entitlement`` is what a decision grants: a household is paid for a programme every month from
``start_month`` (to ``end_month``). A ``PayrollRun`` is one month's payroll for an area and a programme (or all
monthly programmes); each ``PayrollLine`` pays one household's recipient for one programme and month, with the
amount the policy engine gives for that month. Entitlements a run did not pay are kept as ``PayrollSkip`` rows
with the reason, so the run says whom it left out and a resumed generation knows what it has done.

Exactly once (SECURITY PAY-ONCE, PAY-CRASH, PAY-RECON) rests on the database, not on the code:

* one live regular run per (area, month, programme) — a partial unique constraint;
* at most one live line (pending or paid) per (person, programme, month) and per (household, programme, month)
  — partial unique constraints, whatever run the line is in; a failed line is not live, so its re-issue can be;
* the line's ``reference`` (the bank's transaction reference) is unique and derived from what it pays, so a
  re-run writes the same reference and the insert is ignored;
* the checker differs from the maker — a check constraint.

Money is ``Decimal`` with two places (分), never a float."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from jiuzhu.core.scoping import AreaScopedQuerySet

# The programmes paid every month from the decision's start month (临时救助 is one-off; 低保边缘 and 刚性支出困难
# are recognitions without a monthly amount).
MONTHLY_PROGRAMMES = ("dibao", "tekun", "two_subsidies", "elderly", "child")
ALL = "all"


class Entitlement(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("正常发放")
        SUSPENDED = "suspended", _("暂停发放")
        STOPPED = "stopped", _("停止发放")

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="entitlements")
    recipient = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="entitlements")
    programme = models.CharField(_("救助项目"), max_length=16)
    area_code = models.CharField(max_length=12, db_index=True)  # the household's area when granted, for scoping
    amount = models.DecimalField(_("批准月金额"), max_digits=12, decimal_places=2)  # as decided; payroll re-evaluates
    start_month = models.DateField(_("起始发放月份"))  # first day of the month
    end_month = models.DateField(_("终止发放月份"), null=True, blank=True)  # last month paid (first day), inclusive
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # 减发 (adjustments.reduce; e.g. a member's own share after three refused job offers): withheld every month
    # from ``deduction_from`` on, from what the engine gives — the payroll, back-pay and 调标 all subtract it.
    deduction = models.DecimalField(_("每月减发金额"), max_digits=12, decimal_places=2, default=0)
    deduction_from = models.DateField(_("减发起始月份"), null=True, blank=True)
    # Where the entitlement comes from: an approved decision (the case and decision are set), or a recipient the
    # registry already marks as receiving the programme before the platform (移交存量对象: no case, no decision).
    class Origin(models.TextChoices):
        DECISION = "decision", _("审批决定")
        MIGRATION = "migration", _("存量对象迁移")

    origin = models.CharField(_("来源"), max_length=16, choices=Origin.choices, default=Origin.DECISION)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decision = models.OneToOneField("cases.Decision", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")  # fmt: skip
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            # A household is paid once per programme: the engine's amounts are per household.
            models.UniqueConstraint(fields=["household", "programme"], condition=Q(status="active"),
                                    name="payments_one_active_entitlement"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payments_entitlement_amount_gte_0"),
            models.CheckConstraint(condition=Q(deduction=0) | Q(deduction__gt=0, deduction_from__isnull=False),
                                   name="payments_entitlement_deduction"),
            models.CheckConstraint(condition=Q(end_month__isnull=True) | Q(end_month__gte=F("start_month")),
                                   name="payments_entitlement_end_after_start"),
            # A decision's entitlement names it; a migrated one has none.
            models.CheckConstraint(condition=Q(origin="decision", decision__isnull=False, case__isnull=False) |
                                   Q(origin="migration", decision__isnull=True),
                                   name="payments_entitlement_origin"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"entitlement {self.pk} ({self.programme})"


class PayrollRun(models.Model):
    class Status(models.TextChoices):
        GENERATING = "generating", _("生成中")
        GENERATED = "generated", _("待审核")
        APPROVED = "approved", _("已审核")
        EXPORTED = "exported", _("已导出")
        CANCELLED = "cancelled", _("已作废")

    class Kind(models.TextChoices):
        REGULAR = "regular", _("按月发放")
        REISSUE = "reissue", _("失败重发")
        BACKPAY = "backpay", _("补发")

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.REGULAR)  # backpay: adjustments.py
    area_code = models.CharField(_("发放区域"), max_length=12, db_index=True)
    month = models.DateField(_("发放月份"))  # first day of the month
    programme = models.CharField(_("救助项目"), max_length=16)  # a monthly programme or "all"
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.GENERATING)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    request_hash = models.CharField(max_length=64)  # what the key was given for (area, month, programme, kind)
    made_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")  # fmt: skip
    snapshot = models.JSONField(default=dict, blank=True)  # parameters and versions used, frozen at creation
    snapshot_sha256 = models.CharField(max_length=64, blank=True, default="")
    line_count = models.PositiveIntegerField(default=0)
    total_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    counts = models.JSONField(default=dict, blank=True)  # skips by reason, entitlements considered
    exports = models.JSONField(default=dict, blank=True)  # file name → sha256 of what was handed out
    job = models.ForeignKey("batch.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    exported_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True, default="")
    version = models.PositiveIntegerField(default=1)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["area_code", "month", "programme"],
                                    condition=Q(kind="regular") & ~Q(status="cancelled"),
                                    name="payments_one_live_run"),
            # 双人复核: nobody approves their own run.
            models.CheckConstraint(condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("made_by")),
                                   name="payments_checker_not_maker"),
            models.CheckConstraint(condition=~Q(status__in=["approved", "exported"]) | Q(approved_by__isnull=False),
                                   name="payments_approved_has_checker"),
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="payments_run_total_gte_0"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"payroll {self.pk} {self.area_code} {self.month:%Y-%m} {self.programme}"


class PayrollLine(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("待发放")
        PAID = "paid", _("已发放")
        FAILED = "failed", _("发放失败")
        REISSUED = "reissued", _("已重发")
        CANCELLED = "cancelled", _("已作废")

    LIVE = ("pending", "paid")  # a line that has paid or may still pay

    # no index of its own: (run, entitlement, month, seq) and (run, status) lead with it (a line is written a
    # million times a month; each index costs)
    run = models.ForeignKey(PayrollRun, on_delete=models.PROTECT, related_name="lines", db_index=False)
    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="lines")
    # The payee, as the entitlement had them when the line was written (the insert joins both rows, so they
    # exist). No foreign-key constraint in the database: PostgreSQL checks one by locking the row it points at,
    # which for a million lines is two million row locks written to the log at every payroll, about a third of
    # writing the month. Deleting a household or a person with lines is still refused (PROTECT, by Django), and
    # the registry deletes neither.
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+",
                                  db_constraint=False)  # fmt: skip
    # no index of its own: the live-line constraint leads with it (a line is written a million times a month)
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+", db_index=False,
                               db_constraint=False)  # fmt: skip
    area_code = models.CharField(max_length=12)  # the household's area at generation (lines are read by run)
    programme = models.CharField(max_length=16)
    month = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    engine_amount = models.DecimalField(max_digits=12, decimal_places=2)  # before any advance from the reserve
    advance_deducted = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    deducted = models.DecimalField(max_digits=12, decimal_places=2, default=0)  # the entitlement's 减发 that month
    # The engine's result is reproduced from the household's input on the month's first day and the run's frozen
    # parameters: <programme>@<YYYY-MM>/<household no>/<snapshot sha256, 12>.
    explanation_ref = models.CharField(max_length=120)
    reference = models.CharField(max_length=40)  # the bank's transaction reference (unique: constraint below)
    payee_name = models.CharField(max_length=64)
    bank_name = models.CharField(max_length=64)
    bank_account_enc = models.TextField()  # the household's ciphertext at generation (context household.bank_account)
    bank_account_bi = models.CharField(max_length=32)
    bank_account_masked = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=200, blank=True, default="")
    settled_on = models.DateField(null=True, blank=True)  # the bank's date for paid / failed
    reissue_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="reissues", db_index=False)  # partial index below  # fmt: skip
    bank_return = models.ForeignKey("BankReturn", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                    db_index=False)  # fmt: skip
    # 0: the month's payment; n >= 1: the n-th supplement (补发差额, e.g. after a retroactive 调标) for the same
    # month, paid by a back-pay run (adjustments.py). The live-line constraints include it: the month's payment
    # once, and each supplement once.
    seq = models.PositiveSmallIntegerField(default=0)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["person", "programme", "month", "seq"],
                                    condition=Q(status__in=["pending", "paid"]), name="payments_one_live_line_person"),
            models.UniqueConstraint(fields=["household", "programme", "month", "seq"],
                                    condition=Q(status__in=["pending", "paid"]),
                                    name="payments_one_live_line_household"),
            # a back-pay run pays several months of one entitlement
            models.UniqueConstraint(fields=["run", "entitlement", "month", "seq"], name="payments_line_run_entitlement"),
            # one index (unique=True on a CharField would add a second, for LIKE, on PostgreSQL)
            models.UniqueConstraint(fields=["reference"], name="payments_line_reference"),
            # a failed line is re-issued once at a time (only re-issues are in this index: a small one)
            models.UniqueConstraint(fields=["reissue_of"], condition=Q(status__in=["pending", "paid"],
                                                                       reissue_of__isnull=False),
                                    name="payments_one_live_reissue"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_line_amount_gt_0"),
            models.CheckConstraint(condition=Q(advance_deducted__gte=0), name="payments_line_advance_gte_0"),
            models.CheckConstraint(condition=Q(deducted__gte=0), name="payments_line_deducted_gte_0"),
        ]  # fmt: skip
        indexes = [models.Index(fields=["run", "status"], name="payments_line_run_status"),
                   # a month's failed lines, looked up by every chunk of a payroll (few: a small index)
                   models.Index(fields=["month"], condition=Q(status="failed"), name="payments_line_failed_month"),
                   models.Index(fields=["reissue_of"], condition=Q(reissue_of__isnull=False),
                                name="payments_line_reissue_of")]  # fmt: skip


class PayrollSkip(models.Model):
    """An entitlement the run considered and did not pay, with the reason (reported to the officers)."""

    class Reason(models.TextChoices):
        NOT_ELIGIBLE = "not_eligible", _("当月不再符合条件")
        NOT_EVALUABLE = "not_evaluable", _("政策引擎无法计算")
        ADVANCE_PAID = "advance_paid", _("已由备用金先行发放")
        REDUCED = "reduced", _("减发后当月无应发金额")
        NO_ACCOUNT = "no_account", _("未登记银行账号")
        HOUSEHOLD_CLOSED = "household_closed", _("家庭已注销")
        ALREADY_PAID = "already_paid", _("该月已在其他发放批次中")

    run = models.ForeignKey(PayrollRun, on_delete=models.CASCADE, related_name="skips", db_index=False)  # (run, entitlement)
    # No foreign-key constraint in the database (as PayrollLine.household): a million skips would be a million row
    # locks on the entitlements; the pk comes from the run's own read of them, and entitlements are not deleted
    # (PROTECT, by Django).
    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    area_code = models.CharField(max_length=12)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["run", "entitlement"], name="payments_skip_run_entitlement")]


class BankReturn(models.Model):
    """A bank's return file as imported: one row per file content (its SHA-256), so the same file twice is a
    no-op. Only files that were applied are kept; a refused file changes nothing and is only reported."""

    sha256 = models.CharField(max_length=64, unique=True)
    filename = models.CharField(max_length=200)
    imported_by = models.ForeignKey("accounts.User", null=True, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)
    rows = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)  # paid, failed, unchanged, unknown, conflicts
    unknown = models.JSONField(default=list, blank=True)  # references not found, with their row numbers
    conflicts = models.JSONField(default=list, blank=True)  # rows not applied, with the reason

    class Meta:
        ordering = ["-pk"]


# --- adjustments, standard changes, recovery (adjustments.py, standards.py) ------------------------------------


class Adjustment(models.Model):
    """A change to what an entitlement pays, from a month on (停发 / 暂停 / 减发 / 恢复), as decided and by whom.
    The entitlement's own fields (status, end month, amount) carry the effect; this row is the record."""

    class Kind(models.TextChoices):
        STOP = "stop", _("停发")
        SUSPEND = "suspend", _("暂停发放")
        RESUME = "resume", _("恢复发放")
        REDUCE = "reduce", _("减发")

    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="adjustments")
    area_code = models.CharField(max_length=12, db_index=True)
    kind = models.CharField(_("调整类型"), max_length=8, choices=Kind.choices)
    effective_month = models.DateField(_("生效月份"))  # first day of the first month affected
    amount = models.DecimalField(_("调整后月金额"), max_digits=12, decimal_places=2, null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=300)
    made_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind="reduce", amount__gte=0) | (~Q(kind="reduce") & Q(amount__isnull=True)),
                                   name="payments_adjustment_amount"),
        ]  # fmt: skip


class StandardChange(models.Model):
    """调标 re-evaluation of an area's entitlements for the months from ``effective_month`` to ``through_month``
    (standards.py): the preview's differences (``rows``) wait for another officer's approval, which creates one
    back-pay run for the retroactive months."""

    class Status(models.TextChoices):
        PREVIEWING = "previewing", _("测算中")
        PREVIEWED = "previewed", _("待审核")
        APPROVED = "approved", _("已审核")
        FAILED = "failed", _("测算失败")

    area_code = models.CharField(_("区域"), max_length=12, db_index=True)
    effective_month = models.DateField(_("调标生效月份"))
    through_month = models.DateField(_("测算截至月份"))
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PREVIEWING)
    job = models.ForeignKey("batch.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    made_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")  # fmt: skip
    rows = models.JSONField(default=list, blank=True)  # one per entitlement with a difference (standards.py)
    entitlements = models.PositiveIntegerField(default=0)  # re-evaluated
    backpay_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)  # positive differences
    shortfall_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)  # paid above the new amount
    backpay_run = models.ForeignKey(PayrollRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("made_by")),
                                   name="payments_stdchange_checker_not_maker"),
            models.CheckConstraint(condition=~Q(status="approved") | Q(approved_by__isnull=False),
                                   name="payments_stdchange_approved_has_checker"),
            models.CheckConstraint(condition=Q(backpay_total__gte=0) & Q(shortfall_total__gte=0),
                                   name="payments_stdchange_totals_gte_0"),
        ]  # fmt: skip


class Recovery(models.Model):
    """追缴: money paid for months the household was not (fully) entitled to, worked out from the paid lines
    against the engine's re-evaluation, plus — only when a decision finds fraud (骗取, REFERENCE §2.5) — a fine of
    1–3 times the amount obtained. Repaid in instalments; the balance never goes below zero (check constraints).

    Maker-checker: a recovery starts ``pending`` and binds the household only once another officer approved it
    (``open``); a rejected one (``rejected``, with who, when and why) takes no month and takes no money. Recoveries
    made before approval existed (payments 0009) stay ``open`` or ``settled`` without an approver."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        OPEN = "open", _("追缴中")
        SETTLED = "settled", _("已结清")
        REJECTED = "rejected", _("已驳回")

    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="recoveries")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=12, db_index=True)
    programme = models.CharField(max_length=16)
    first_month = models.DateField()
    last_month = models.DateField()
    months = models.JSONField(default=list)  # [{"month", "paid", "due", "over"}] for the months overpaid
    overpaid = models.DecimalField(_("多发金额"), max_digits=12, decimal_places=2)
    fraud = models.BooleanField(_("认定骗取"), default=False)
    decision_no = models.CharField(_("处理决定文号"), max_length=100, blank=True, default="")
    fine_multiple = models.DecimalField(_("罚款倍数"), max_digits=3, decimal_places=2, null=True, blank=True)
    fine = models.DecimalField(_("罚款"), max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(_("应追缴合计"), max_digits=12, decimal_places=2)
    repaid = models.DecimalField(_("已退回"), max_digits=12, decimal_places=2, default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("原因"), max_length=300)
    made_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")  # fmt: skip
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")  # fmt: skip
    rejected_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(_("驳回理由"), max_length=300, blank=True, default="")
    version = models.PositiveIntegerField(default=1)  # bumped by every change (approve, reject, plan, repay)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(overpaid__gt=0), name="payments_recovery_overpaid_gt_0"),
            # the fine only with a fraud decision, 1–3 times what was obtained
            models.CheckConstraint(condition=(Q(fraud=False) & Q(fine_multiple__isnull=True) & Q(fine=0)) |
                                   (Q(fraud=True) & Q(fine_multiple__gte=1) & Q(fine_multiple__lte=3) &
                                    Q(fine__gte=0) & ~Q(decision_no="")),
                                   name="payments_recovery_fine_only_for_fraud"),
            models.CheckConstraint(condition=Q(total=F("overpaid") + F("fine")), name="payments_recovery_total"),
            models.CheckConstraint(condition=Q(repaid__gte=0) & Q(repaid__lte=F("total")),
                                   name="payments_recovery_balance_gte_0"),
            models.CheckConstraint(condition=~Q(status="settled") | Q(repaid=F("total")),
                                   name="payments_recovery_settled_when_repaid"),
            # 双人复核: nobody approves or rejects their own recovery
            models.CheckConstraint(condition=(Q(approved_by__isnull=True) | ~Q(approved_by=F("made_by"))) &
                                   (Q(rejected_by__isnull=True) | ~Q(rejected_by=F("made_by"))),
                                   name="payments_recovery_checker_not_maker"),
            # nothing is repaid on a recovery that does not bind (yet, or any more)
            models.CheckConstraint(condition=~Q(status__in=["pending", "rejected"]) | Q(repaid=0),
                                   name="payments_recovery_unbound_not_repaid"),
            models.CheckConstraint(condition=~Q(status="pending") | Q(approved_by__isnull=True, rejected_by__isnull=True),
                                   name="payments_recovery_pending_unchecked"),
            models.CheckConstraint(condition=~Q(status="rejected") | (Q(rejected_by__isnull=False, rejected_at__isnull=False,
                                                                        approved_by__isnull=True) & ~Q(reject_reason="")),
                                   name="payments_recovery_rejected_by_whom_why"),
        ]  # fmt: skip

    @property
    def balance(self) -> Any:
        return self.total - self.repaid


class RecoveryInstalment(models.Model):
    """One instalment of a recovery's repayment plan: due date and amount (the instalments add up to the total)."""

    recovery = models.ForeignKey(Recovery, on_delete=models.CASCADE, related_name="instalments")
    seq = models.PositiveSmallIntegerField()
    due_on = models.DateField(_("应还日期"))
    amount = models.DecimalField(_("应还金额"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["recovery", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["recovery", "seq"], name="payments_instalment_seq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_instalment_amount_gt_0"),
        ]


class Repayment(models.Model):
    """Money a household paid back on a recovery (a receipt number once: the same receipt twice is a no-op)."""

    recovery = models.ForeignKey(Recovery, on_delete=models.PROTECT, related_name="repayments")
    amount = models.DecimalField(_("退回金额"), max_digits=12, decimal_places=2)
    paid_on = models.DateField(_("退回日期"))
    receipt_no = models.CharField(_("收据号"), max_length=64)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["recovery", "receipt_no"], name="payments_repayment_receipt"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_repayment_amount_gt_0"),
        ]
