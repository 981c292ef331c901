"""Core tables: the division tree (行政区划) and the append-only audit log."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Division(models.Model):
    """An administrative division. ``code`` has its natural length: 2 province, 4 city, 6 county (GB/T 2260),
    9 township, 12 village (NBS 统计用区划代码). A code's subtree is every code that starts with it, which is
    what area scoping relies on (``core.scoping``)."""

    class Level(models.IntegerChoices):
        PROVINCE = 1, _("省")
        CITY = 2, _("市")
        COUNTY = 3, _("县")
        TOWNSHIP = 4, _("乡镇")
        VILLAGE = 5, _("村居")

    code = models.CharField(max_length=12, primary_key=True)
    name = models.CharField(max_length=64)
    level = models.PositiveSmallIntegerField(choices=Level.choices, db_index=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # NBS 城乡分类代码: 111 主城区 … 220 村庄; 1xx urban, 2xx rural. Only villages carry it.
    urban_rural_class = models.CharField(max_length=3, blank=True, default="")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    replaced_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )
    is_synthetic = models.BooleanField(default=False)
    source = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level=1, code__regex=r"^[0-9]{2}$")
                | models.Q(level=2, code__regex=r"^[0-9]{4}$")
                | models.Q(level=3, code__regex=r"^[0-9]{6}$")
                | models.Q(level=4, code__regex=r"^[0-9]{9}$")
                | models.Q(level=5, code__regex=r"^[0-9]{12}$"),
                name="division_code_matches_level",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def code12(self) -> str:
        return self.code.ljust(12, "0")

    @property
    def is_current(self) -> bool:
        return self.valid_to is None

    @property
    def is_urban(self) -> bool | None:
        return self.urban_rural_class.startswith("1") if self.urban_rural_class else None

    def ancestors(self) -> list[Division]:
        """Province first, self excluded. Derived from the code, one query."""
        prefixes = [self.code[:n] for n in (2, 4, 6, 9) if n < len(self.code)]
        return list(Division.objects.filter(code__in=prefixes).order_by("level"))

    def full_name(self) -> str:
        return "".join(d.name for d in self.ancestors() if d.name != "市辖区") + self.name


class AuditEvent(models.Model):
    """Append-only, hash-chained (HMAC-SM3) audit record. No sensitive values in ``detail`` (SECURITY AUD-COVER).

    ``seq`` is dense from 1; ``mac`` covers the previous ``mac`` and this row's canonical content, so an
    update, delete, insert or reorder breaks the chain; the chain head row catches tail truncation."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True, default="")
    actor_role = models.CharField(max_length=32, blank=True, default="")
    actor_area = models.CharField(max_length=12, blank=True, default="")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    object_area = models.CharField(max_length=12, blank=True, default="", db_index=True)
    result = models.CharField(max_length=16, default="ok")
    ip = models.CharField(max_length=64, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    prev_mac = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["actor_username", "at"])]


class AuditChainHead(models.Model):
    """Single row (id=1) holding the last seq and mac; locked FOR UPDATE to serialise appends."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_mac = models.CharField(max_length=64, default="0" * 64)


class WorkdayOverride(models.Model):
    """One day of a State Council holiday schedule (国务院办公厅关于部分节假日安排的通知) that the
    ``chinesecalendar`` package does not have yet, or corrects: a holiday (``is_workday=False``) or a make-up
    working day on a weekend (``is_workday=True``). A year with any row is a known year, so a year's notice is
    imported whole (``jiuzhu workdays-import``); ``core.workdays`` reads the table once per computation."""

    date = models.DateField(unique=True)
    is_workday = models.BooleanField()
    name = models.CharField(max_length=64)  # e.g. "2027年春节"
    source = models.CharField(max_length=300)  # the notice's number (国办发明电〔2026〕…号) or URL
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {'上班' if self.is_workday else '放假'} {self.name}"
