"""The low-income population database (低收入人口数据库): households, persons, membership and change history.

Protected fields (ID number, phone, bank account, diagnosis) are stored three ways: SM4-GCM ciphertext
(``*_enc``), an HMAC-SM3 blind index for equality search (``*_bi``), and the canonical masked form
(``*_masked``) so lists never decrypt. Plaintext never reaches the database (SECURITY CRY-SM4)."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Concat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from jiuzhu.core.scoping import AreaScopedQuerySet


class UrbanRural(models.TextChoices):
    URBAN = "urban", _("城市")
    RURAL = "rural", _("农村")


class Relation(models.TextChoices):
    """Relation to the household head, GB/T 4761-2008 top-level codes (exact sub-codes: REFERENCE §11.3, L)."""

    HEAD = "02", _("户主")
    SPOUSE = "10", _("配偶")
    SON = "20", pgettext_lazy("relation", "子")
    DAUGHTER = "30", pgettext_lazy("relation", "女")
    GRANDCHILD = "40", _("孙子女")
    PARENT = "50", _("父母")
    GRANDPARENT = "60", _("祖父母")
    SIBLING = "70", _("兄弟姐妹")
    OTHER_RELATIVE = "80", _("其他亲属")
    NON_RELATIVE = "99", _("非亲属")


class DisabilityCategory(models.TextChoices):
    """GB/T 26341-2010."""

    NONE = "", _("无")
    VISUAL = "1", _("视力残疾")
    HEARING = "2", _("听力残疾")
    SPEECH = "3", _("言语残疾")
    PHYSICAL = "4", _("肢体残疾")
    INTELLECTUAL = "5", _("智力残疾")
    MENTAL = "6", _("精神残疾")
    MULTIPLE = "7", _("多重残疾")


class Schooling(models.TextChoices):
    NONE = "none", _("未入学/非在校")
    PRESCHOOL = "preschool", _("学前")
    PRIMARY = "primary", _("小学在校")
    JUNIOR = "junior", _("初中在校")
    SENIOR = "senior", _("高中/中职在校")
    TERTIARY = "tertiary", _("大专/本科在校")
    POSTGRADUATE = "postgraduate", _("研究生在校")


class LabourCapacity(models.TextChoices):
    FULL = "full", _("有劳动能力")
    PARTIAL = "partial", _("部分丧失劳动能力")
    NONE = "none", _("无劳动能力")


class SelfCare(models.TextChoices):
    """生活自理能力 (REFERENCE §4.3): 全自理 / 半护理 / 全护理."""

    FULL = "full", _("生活能自理")
    PARTIAL = "partial", _("部分不能自理")
    NONE = "none", _("完全不能自理")


class HouseholdStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    ARCHIVED = "archived", _("已注销")


class Household(models.Model):
    household_no = models.CharField(_("户编号"), max_length=24, unique=True)
    area = models.ForeignKey("core.Division", on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=12, db_index=True)  # = area_id, kept for prefix scoping
    address = models.CharField(_("居住地址"), max_length=200, blank=True, default="")
    urban_rural = models.CharField(_("城乡类别"), max_length=8, choices=UrbanRural.choices)
    hukou_area_code = models.CharField(_("户籍地区划"), max_length=12, blank=True, default="")
    head_name = models.CharField(_("户主姓名"), max_length=64, blank=True, default="")
    member_count = models.PositiveSmallIntegerField(_("在册人数"), default=0)
    bank_name = models.CharField(_("开户银行"), max_length=64, blank=True, default="")
    bank_account_enc = models.TextField(blank=True, default="")
    bank_account_bi = models.CharField(max_length=32, blank=True, default="", db_index=True)
    bank_account_masked = models.CharField(_("银行账号"), max_length=40, blank=True, default="")
    status = models.CharField(max_length=16, choices=HouseholdStatus.choices, default=HouseholdStatus.ACTIVE)
    is_synthetic = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["household_no"]
        indexes = [
            models.Index(fields=["area_code", "household_no"]),
            models.Index(fields=["head_name"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(version__gte=1), name="household_version_gte_1"),
            # The number starts with H + the village code; list queries rely on it to walk the household_no
            # index within an area (registry.selectors.household_search).
            models.CheckConstraint(
                condition=models.Q(household_no__startswith=Concat(models.Value("H"), models.F("area_code"))),
                name="household_no_encodes_area",
            ),
        ]

    def __str__(self) -> str:
        return self.household_no


class Person(models.Model):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="members", null=True)
    area_code = models.CharField(max_length=12, db_index=True)  # the household's area, for scoping
    name = models.CharField(_("姓名"), max_length=64, db_index=True)
    id_number_enc = models.TextField()
    id_number_bi = models.CharField(max_length=32, unique=True)
    id_number_masked = models.CharField(_("身份证号"), max_length=18)
    sex = models.CharField(_("性别"), max_length=1, choices=[("1", pgettext_lazy("sex", "男")), ("2", pgettext_lazy("sex", "女"))])
    birth_date = models.DateField(_("出生日期"))
    relation = models.CharField(_("与户主关系"), max_length=2, choices=Relation.choices, default=Relation.HEAD)
    phone_enc = models.TextField(blank=True, default="")
    phone_bi = models.CharField(max_length=32, blank=True, default="", db_index=True)
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True, default="")
    hukou_area_code = models.CharField(_("户籍地区划"), max_length=12, blank=True, default="")
    residence_area_code = models.CharField(_("居住地区划"), max_length=12, blank=True, default="")
    urban_rural = models.CharField(_("城乡类别"), max_length=8, choices=UrbanRural.choices, default=UrbanRural.RURAL)
    disability_category = models.CharField(
        _("残疾类别"), max_length=1, choices=DisabilityCategory.choices, blank=True, default=""
    )
    disability_grade = models.PositiveSmallIntegerField(_("残疾等级"), null=True, blank=True)
    serious_illness = models.BooleanField(_("重病"), default=False)
    diagnosis_enc = models.TextField(blank=True, default="")
    schooling = models.CharField(_("在学情况"), max_length=16, choices=Schooling.choices, default=Schooling.NONE)
    labour_capacity = models.CharField(
        _("劳动能力"), max_length=8, choices=LabourCapacity.choices, default=LabourCapacity.FULL
    )
    self_care = models.CharField(_("生活自理能力"), max_length=8, choices=SelfCare.choices, default=SelfCare.FULL)
    death_date = models.DateField(_("死亡日期"), null=True, blank=True)
    is_synthetic = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["household_id", "relation", "birth_date"]
        # name search walks this index in order and stops after one page (registry.selectors)
        indexes = [models.Index(fields=["name", "id"], name="person_name_id")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(disability_grade__isnull=True)
                | models.Q(disability_grade__gte=1, disability_grade__lte=4),
                name="person_disability_grade_1_4",
            ),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="person_version_gte_1"),
        ]

    def __str__(self) -> str:
        return f"person {self.pk}"


class Membership(models.Model):
    """Who lived in which household when (REFERENCE §1.1: the assessment unit is computed from this)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="memberships")
    area_code = models.CharField(max_length=12, db_index=True)
    relation = models.CharField(max_length=2, choices=Relation.choices)
    joined_on = models.DateField()
    left_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True, default="")

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["joined_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=models.Q(left_on__isnull=True), name="one_open_membership_per_person"
            ),
            models.CheckConstraint(
                condition=models.Q(left_on__isnull=True) | models.Q(left_on__gte=models.F("joined_on")),
                name="membership_left_after_joined",
            ),
        ]


class ChangeRecord(models.Model):
    """Before/after snapshot of every change (netbox ``ObjectChange``). Protected fields appear only as
    their masked form, never plaintext."""

    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    household = models.ForeignKey(Household, null=True, on_delete=models.SET_NULL, related_name="changes")
    area_code = models.CharField(max_length=12, db_index=True)
    action = models.CharField(max_length=16)  # create | update | delete | move
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True, default="")
    actor = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    actor_username = models.CharField(max_length=150, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
