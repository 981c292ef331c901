"""The low-income population database (低收入人口数据库): households, persons, membership and change history.

Protected fields (ID number, phone, bank account, diagnosis) are stored three ways: SM4-GCM ciphertext
(``*_enc``), an HMAC-SM3 blind index for equality search (``*_bi``), and the canonical masked form
(``*_masked``) so lists never decrypt. Plaintext never reaches the database (SECURITY CRY-SM4)."""

from __future__ import annotations

from typing import Any

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


# --- economic facts (the policy engine's input, docs/policy-input.md) ----------------------------------------

# Monthly income items of a person, named as the engine's ``income.*`` keys (REFERENCE §1.2).
INCOME_FIELDS = (
    "wage", "business", "property", "transfer", "support", "basic_pension", "other_pension", "elderly_allowance",
    "excluded", "employment_cost", "rigid_deduction",
)  # fmt: skip
# Yes/no situations of a person, named as the engine's ``flags.*`` keys.
PERSON_FLAGS = (
    "detained", "missing", "single_parent", "nursing", "tekun_recipient", "dibao_recipient", "no_civil_capacity",
    "work_injury_care", "chose_child_allowance",
)  # fmt: skip
RIGID_FIELDS = ("rigid_medical", "rigid_education", "rigid_rehabilitation", "rigid_living", "rigid_other")
HOUSEHOLD_MONEY_FIELDS = ("financial", "housing_area_m2", *RIGID_FIELDS, "current_dibao_amount")


class ParentStatus(models.TextChoices):
    """A child's parent (孤儿 / 事实无人抚养儿童, REFERENCE §8.2)."""

    OK = "ok", pgettext_lazy("parent", "正常")
    DEAD = "dead", _("死亡")
    MISSING = "missing", _("宣告失踪")
    SEVERE_DISABILITY = "severe_disability", _("重度残疾")
    SERIOUS_ILLNESS = "serious_illness", _("重病")
    DETAINED = "detained", _("服刑或强制隔离戒毒")
    LOST_CONTACT = "lost_contact", _("失联")


class EconomySource(models.TextChoices):
    SYNTHETIC = "synthetic", _("合成数据")
    DECLARED = "declared", _("本人申报")
    VERIFIED = "verified", _("经济状况核对")


def _money(verbose_name: Any) -> models.DecimalField:  # type: ignore[type-arg]
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, default=0)


def _non_negative(prefix: str, fields: tuple[str, ...]) -> list[models.CheckConstraint]:
    return [models.CheckConstraint(condition=models.Q(**{f"{f}__gte": 0}), name=f"{prefix}_{f}_gte_0") for f in fields]


class PersonEconomy(models.Model):
    """A person's monthly incomes and the situations the policy engine asks about, as of ``as_of``: declared by
    the applicant, confirmed by the 经济状况核对 (REFERENCE §1.4), or synthetic. One row per person."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="economy")
    area_code = models.CharField(max_length=12, db_index=True)  # the person's area, for scoping
    # monthly yuan (REFERENCE §1.2)
    wage = _money(_("工资性收入"))
    business = _money(_("经营净收入"))
    property = _money(_("财产净收入"))
    transfer = _money(_("转移净收入"))
    support = _money(_("赡养（抚养、扶养）费"))
    basic_pension = _money(_("城乡居民基础养老金"))
    other_pension = _money(_("其他养老金和社会保险待遇"))
    elderly_allowance = _money(_("高龄津贴"))
    excluded = _money(_("不计入收入的款项"))
    employment_cost = _money(_("必要就业成本"))
    rigid_deduction = _money(_("可扣减的刚性支出"))
    # situations
    lives_together = models.BooleanField(_("长期共同居住"), default=True)
    dependent = models.BooleanField(_("成年但不能独立生活"), default=False)
    detained = models.BooleanField(_("服刑或强制隔离戒毒"), default=False)
    missing = models.BooleanField(_("宣告失踪"), default=False)
    single_parent = models.BooleanField(_("单亲"), default=False)
    nursing = models.BooleanField(_("哺乳期"), default=False)
    work_injury_care = models.BooleanField(_("领取工伤护理费"), default=False)
    tekun_recipient = models.BooleanField(_("特困人员"), default=False)
    dibao_recipient = models.BooleanField(_("低保对象"), default=False)
    no_civil_capacity = models.BooleanField(_("无民事行为能力"), default=False)
    chose_child_allowance = models.BooleanField(_("选择孤儿或事实无人抚养儿童基本生活费"), default=False)
    clergy_apart_years = models.PositiveSmallIntegerField(_("宗教教职人员离家年数"), default=0)
    self_care_failed = models.PositiveSmallIntegerField(_("自理能力六项未达到项数"), default=0)
    parent1_status = models.CharField(_("父母一方情况"), max_length=20, choices=ParentStatus.choices,
                                      default=ParentStatus.OK)  # fmt: skip
    parent2_status = models.CharField(_("父母另一方情况"), max_length=20, choices=ParentStatus.choices,
                                      default=ParentStatus.OK)  # fmt: skip
    obligor_for = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                    verbose_name=_("对其负有赡养、抚养或扶养义务"))  # fmt: skip
    as_of = models.DateField(_("截至日期"))
    source = models.CharField(_("来源"), max_length=16, choices=EconomySource.choices, default=EconomySource.DECLARED)
    version = models.PositiveIntegerField(default=1)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("个人经济状况")
        constraints = [
            *_non_negative("person_economy", INCOME_FIELDS),
            models.CheckConstraint(condition=models.Q(self_care_failed__lte=6), name="person_economy_self_care_0_6"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="person_economy_version_gte_1"),
        ]

    def __str__(self) -> str:
        return f"economy of person {self.person_id}"


class HouseholdEconomy(models.Model):
    """A household's assets (REFERENCE §1.3), rigid spending of the last 12 months (§6.2) and current 低保
    (for 渐退, §2.4), as of ``as_of``."""

    household = models.OneToOneField(Household, on_delete=models.CASCADE, related_name="economy")
    area_code = models.CharField(max_length=12, db_index=True)  # the household's area, for scoping
    financial = _money(_("金融资产"))
    houses = models.PositiveSmallIntegerField(_("住房套数"), default=0)
    housing_area_m2 = models.DecimalField(_("住房面积（平方米）"), max_digits=8, decimal_places=2, default=0)
    vehicles = models.PositiveSmallIntegerField(_("非豁免机动车数"), default=0)
    rigid_medical = _money(_("近12个月医疗支出"))
    rigid_education = _money(_("近12个月教育支出"))
    rigid_rehabilitation = _money(_("近12个月康复支出"))
    rigid_living = _money(_("近12个月基本生活支出"))
    rigid_other = _money(_("近12个月其他刚性支出"))
    current_dibao = models.BooleanField(_("正在享受低保"), default=False)
    current_dibao_amount = _money(_("当前月低保金"))
    gradual_exit_months_used = models.PositiveSmallIntegerField(_("已渐退月数"), default=0)
    as_of = models.DateField(_("截至日期"))
    source = models.CharField(_("来源"), max_length=16, choices=EconomySource.choices, default=EconomySource.DECLARED)
    version = models.PositiveIntegerField(default=1)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("家庭经济状况")
        constraints = [
            *_non_negative("household_economy", HOUSEHOLD_MONEY_FIELDS),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="household_economy_version_gte_1"),
        ]

    def __str__(self) -> str:
        return f"economy of household {self.household_id}"
