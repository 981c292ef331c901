"""家庭经济状况核对 (REFERENCE §1.2–1.4): departmental records in, an assessed income and asset picture out.

* ``FeedFile`` — one ingested file drop of a source (its hash makes re-ingesting the same file a no-op).
* ``FeedRecord`` — one normalised departmental record about one person, matched on the keyed blind index of
  the ID number (never plaintext); the source's original row is kept encrypted, with the ID number masked.
* ``VerificationRun`` — one verification of one household (for an application, or in bulk for dynamic
  management), relying on a recorded authorisation; ``SourceQuery`` logs each source asked, with the
  authorisation it relied on; ``Finding`` is a difference between what was declared and what was found;
  the run's ``assessment`` is the assessed picture that feeds the policy engine.
* ``VerificationObjection`` — the applicant contests a finding with evidence; the township re-checks.

Scoping: ``area_code`` is the household's (or the matched person's) village code, as everywhere.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from jiuzhu.core.scoping import AreaScopedQuerySet


class FeedFile(models.Model):
    class Status(models.TextChoices):
        LOADED = "loaded", _("已导入")
        REFUSED = "refused", _("已拒绝")

    source = models.CharField(max_length=16)
    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices)
    rows_total = models.PositiveIntegerField(default=0)
    rows_loaded = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)
    rows_unknown = models.PositiveIntegerField(default=0)
    rows_error = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # "第N行 列: message", capped
    area_code = models.CharField(max_length=12, default="", blank=True)  # the ingesting office
    by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "sha256"], condition=models.Q(status="loaded"),
                                               name="verification_feedfile_once")]  # fmt: skip


class FeedRecord(models.Model):
    source = models.CharField(max_length=16)
    kind = models.CharField(max_length=16)
    person_bi = models.CharField(max_length=32)
    area_code = models.CharField(max_length=12, db_index=True)  # the matched registry person's area
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    quantity = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    category = models.CharField(max_length=24, blank=True, default="")
    event_date = models.DateField(null=True, blank=True)
    period = models.DateField()  # the month (or day) the record describes
    ref = models.CharField(max_length=64, blank=True, default="")  # the source's own record id
    natural_key = models.CharField(max_length=64)  # sha256 of the normalised record: re-ingesting changes nothing
    raw_enc = models.TextField(blank=True, default="")  # the original row, ID masked, SM4-encrypted
    feed = models.ForeignKey(FeedFile, null=True, blank=True, on_delete=models.PROTECT, related_name="records")
    at = models.DateTimeField(auto_now_add=True)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "natural_key"], name="verification_record_once")]
        indexes = [models.Index(fields=["person_bi", "source", "kind"], name="verification_record_person")]


class VerificationRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("核对中")
        COMPLETE = "complete", _("已完成")
        INCOMPLETE = "incomplete", _("部分来源未返回")
        REFUSED = "refused", _("未经授权，未核对")

    class Conclusion(models.TextChoices):
        MEETS = "meets", _("符合")
        FAILS = "fails", _("不符合")
        INVESTIGATE = "investigate", _("需进一步调查")

    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="verification_runs")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="verification_runs")
    area_code = models.CharField(max_length=12, db_index=True)
    purpose = models.CharField(max_length=16, default="application")  # application | review
    job = models.ForeignKey("batch.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    authorisation = models.ForeignKey("cases.Signature", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    conclusion = models.CharField(max_length=16, choices=Conclusion.choices, blank=True, default="")
    programme = models.CharField(max_length=16, default="dibao")
    on = models.DateField()  # the date the picture is assessed for
    assessment = models.JSONField(default=dict, blank=True)  # assessed incomes and assets, engine result
    requested_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = AreaScopedQuerySet.as_manager()


class SourceQuery(models.Model):
    """Every query of a source: which run (and so which case), which authorisation, what came back."""

    class Status(models.TextChoices):
        OK = "ok", _("已返回")
        TIMEOUT = "timeout", _("超时")
        ERROR = "error", _("出错")
        OPEN = "open", _("熔断中，未查询")

    run = models.ForeignKey(VerificationRun, on_delete=models.CASCADE, related_name="queries")
    source = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices)
    persons = models.PositiveIntegerField(default=0)
    records = models.PositiveIntegerField(default=0)
    ms = models.PositiveIntegerField(default=0)
    authorisation_ref = models.CharField(max_length=64, blank=True, default="")
    message = models.CharField(max_length=200, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)


class Finding(models.Model):
    """A difference between what the household declared and what a department holds, explained."""

    class Severity(models.TextChoices):
        UNDECLARED = "undeclared", _("未申报")
        HIGHER = "higher", _("高于申报")
        LOWER = "lower", _("低于申报")
        EVENT = "event", _("情况变化")

    run = models.ForeignKey(VerificationRun, on_delete=models.CASCADE, related_name="findings")
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16)
    kind = models.CharField(max_length=16)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    declared = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    found = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    text = models.TextField()


class VerificationObjection(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("待复核")
        UPHELD = "upheld", _("异议成立")
        DISMISSED = "dismissed", _("异议不成立")

    run = models.ForeignKey(VerificationRun, on_delete=models.PROTECT, related_name="objections")
    finding = models.ForeignKey(Finding, null=True, blank=True, on_delete=models.PROTECT, related_name="objections")
    content = models.TextField()
    attachment = models.ForeignKey("cases.Attachment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    submitted_on = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    result = models.TextField(blank=True, default="")
    handled_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    handled_on = models.DateField(null=True, blank=True)
