"""Rules shared by the programmes: age, the assessment unit (REFERENCE §1.1), counted income (§1.2) and the
asset test (§1.3). Money is int64 分; comparisons are made on totals (``income < standard × n``), never on a
rounded per-capita figure."""

from __future__ import annotations

import numpy as np

from jiuzhu.policy.inputs import DISABILITY, RELATIONS, SCHOOLING, code
from jiuzhu.policy.money import mul_ratio
from jiuzhu.policy.parameters.schema import declare
from jiuzhu.policy.system import (
    PA,
    Count,
    Flag,
    Household,
    Money,
    P,
    Person,
    members_total,
    on_ymd,
    rural_urban,
    urban_key,
)

ROUNDING = declare("general.rounding", "enum", "低保金等计算结果的取整方式", choices=("fen", "jiao_up", "yuan_up", "yuan_half_up"))
DPI_URBAN = declare("income.disposable_prev_year.urban", "money", "上年度城镇居民人均可支配收入", "元/人·年")
DPI_RURAL = declare("income.disposable_prev_year.rural", "money", "上年度农村居民人均可支配收入", "元/人·年")
CLERGY_YEARS = declare("unit.clergy_separate_years", "int", "宗教教职人员脱离家庭不计入共同生活成员的年限", "年")
EXCLUDE_BASIC_PENSION = declare("income.exclude_basic_pension", "bool", "城乡居民基本养老保险基础养老金不计入收入")
COUNT_ELDERLY_ALLOWANCE = declare("income.count_elderly_allowance", "bool", "高龄津贴计入低保家庭收入")
EMPLOYMENT_COST_CAP = declare("income.employment_cost_cap", "money", "必要就业成本扣减上限", "元/人·月")
EXEMPT_SUPPORT = declare("income.exempt_support_severely_disabled", "bool", "成年无业重度残疾人所获赡养/扶养费可豁免")
FINANCIAL_MULTIPLE = declare("asset.financial_multiple", "ratio", "人均金融资产上限（上年度人均可支配收入的倍数）", "倍")
HOUSE_LIMIT = declare("asset.house_limit", "int", "住房套数限制（达到该套数且人均面积超过当地平均水平即不符合）", "套")
AVG_HOUSING = declare("asset.avg_housing_area_m2", "int", "当地人均住房面积", "平方米")
VEHICLE_ALLOWED = declare("asset.vehicle_allowed", "bool", "拥有非豁免机动车辆仍可认定")

INCOME_PARAMS = (EXCLUDE_BASIC_PENSION, COUNT_ELDERLY_ALLOWANCE, EMPLOYMENT_COST_CAP, EXEMPT_SUPPORT, CLERGY_YEARS)
ASSET_PARAMS = (DPI_URBAN, DPI_RURAL, FINANCIAL_MULTIPLE, HOUSE_LIMIT, AVG_HOUSING, VEHICLE_ALLOWED)

R = {name: code(RELATIONS, name) for name in RELATIONS}
IN_SCHOOL_TO_BACHELOR = [code(SCHOOLING, s) for s in ("preschool", "primary", "junior", "senior", "tertiary")]
KIN = [R["child"], R["parent"], R["grandparent"], R["grandchild"], R["sibling"]]
NO_DUTY = [R["other_relative"], R["non_relative"]]
INTELLECTUAL_MENTAL = [code(DISABILITY, "intellectual"), code(DISABILITY, "mental")]


def one_of(arr: np.ndarray, codes: list[int]) -> np.ndarray:
    """``np.isin`` for a run of consecutive enum codes, as two comparisons (several times faster on millions)."""
    lo, hi = min(codes), max(codes)
    assert sorted(codes) == list(range(lo, hi + 1)), codes
    return (arr >= lo) & (arr <= hi)


# Why a person is outside the assessment unit (unit_exclusion codes).
EXCLUSIONS = {
    0: "计入共同生活家庭成员",
    1: "宗教教职人员，脱离家庭在宗教场所居住满规定年限，不计入共同生活家庭成员（最低生活保障审核确认办法第七条）",
    2: "正在服刑或强制隔离戒毒，不计入共同生活家庭成员（第七条）",
    3: "已宣告失踪，不计入共同生活家庭成员（第七条）",
    4: "未与申请人长期共同居住，不计入共同生活家庭成员（第七条）",
    5: "与申请人之间无法定赡养、扶养、抚养义务，不计入共同生活家庭成员（第七条）",
}


def exclusion_text(code_: int) -> str:
    return EXCLUSIONS.get(int(code_), str(code_))


class age(Count):
    entity = Person
    label = "年龄（周岁，按评估日期）"

    def formula(person, period):
        return (on_ymd(person) - person("birth_ymd", period)) // 10000


class unit_exclusion(Count):
    entity = Person
    label = "不计入共同生活家庭成员的原因代码"

    def formula(person, period):
        rel = person("relation", period)
        minor = person("age", period) < 18
        together = person("lives_together", period)
        school = one_of(person("schooling", period), IN_SCHOOL_TO_BACHELOR)
        always = (rel == R["applicant"]) | (rel == R["spouse"])
        child_in = (rel == R["child"]) & (minor | person("dependent", period) | school | together)
        kin = one_of(rel, KIN)
        no_duty = one_of(rel, NO_DUTY)
        out = np.where(always | child_in, 0, np.where(no_duty, 5, np.where(kin & ~together, 4, 0)))
        out = np.where(person("missing", period), 3, out)
        out = np.where(person("detained", period), 2, out)
        clergy = person("clergy_apart_years", period)
        out = np.where((clergy > 0) & (clergy >= P(person, CLERGY_YEARS)), 1, out)
        return out


class in_unit(Flag):
    entity = Person
    label = "计入共同生活家庭成员"

    def formula(person, period):
        return person("unit_exclusion", period) == 0


class unit_size(Count):
    entity = Household
    label = "共同生活家庭成员人数"

    def formula(household, period):
        return members_total(household, "in_unit", period)


class severely_disabled(Flag):
    entity = Person
    label = "重度残疾（一、二级）"

    def formula(person, period):
        g = person("disability_grade", period)
        return (g >= 1) & (g <= 2)


class employment_cost_deducted(Money):
    entity = Person
    label = "扣减的必要就业成本"

    def formula(person, period):
        claimed = np.minimum(person("income_employment_cost", period), person("income_wage", period))
        return np.minimum(claimed, P(person, EMPLOYMENT_COST_CAP))


class counted_income(Money):
    entity = Person
    label = "计入家庭收入的月收入"

    def formula(person, period):
        severe = person("severely_disabled", period) | (
            (person("disability_grade", period) == 3) & one_of(person("disability_category", period), INTELLECTUAL_MENTAL))
        exempt_support = (P(person, EXEMPT_SUPPORT) == 1) & severe & (person("age", period) >= 18) & (
            person("income_wage", period) == 0)
        support = np.where(exempt_support, 0, person("income_support", period))
        pension = np.where(P(person, EXCLUDE_BASIC_PENSION) == 1, 0, person("income_basic_pension", period))
        elderly = np.where(P(person, COUNT_ELDERLY_ALLOWANCE) == 1, person("income_elderly_allowance", period), 0)
        gross = (person("income_wage", period) - person("employment_cost_deducted", period)
                 + person("income_business", period) + person("income_property", period)
                 + person("income_transfer", period) + support + pension + elderly
                 + person("income_other_pension", period))  # fmt: skip
        return np.maximum(gross - person("income_rigid_deduction", period), 0)


class household_income(Money):
    entity = Household
    label = "家庭月收入（共同生活成员）"

    def formula(household, period):
        inc = household.members("counted_income", period) * household.members("in_unit", period)
        return household.sum(inc).astype(np.int64)


class per_capita_income(Money):
    entity = Household
    label = "家庭月人均收入"

    def formula(household, period):
        n = np.maximum(household("unit_size", period), 1)
        return household("household_income", period) // n


class disposable_income_reference(Money):
    entity = Household
    label = "上年度当地居民人均可支配收入（年）"

    def formula(household, period):
        return np.where(household("urban", period), P(household, DPI_URBAN), P(household, DPI_RURAL))


def financial_limit(household, period, factor_key: str | None = None):  # type: ignore[no-untyped-def]
    """Household financial-asset ceiling: unit size × multiple × the previous year's per-capita disposable income
    (urban or rural), optionally × a relaxation factor (低保边缘, 刚性支出); computed per (area, urban), gathered."""
    fm = PA(household, FINANCIAL_MULTIPLE)
    per_area = rural_urban(mul_ratio(PA(household, DPI_RURAL), fm), mul_ratio(PA(household, DPI_URBAN), fm))
    if factor_key is not None:
        per_area = mul_ratio(per_area, np.repeat(PA(household, factor_key), 2))
    return per_area[urban_key(household, period)] * np.maximum(household("unit_size", period), 1)


class asset_failures(Count):
    entity = Household
    label = "不符合的财产条件（1 金融资产，2 住房，4 车辆）"

    def formula(household, period):
        n = np.maximum(household("unit_size", period), 1)
        financial = household("assets_financial", period) > financial_limit(household, period)
        houses = household("assets_houses", period)
        area_x100 = household("assets_housing_area_x100", period)
        housing = (houses >= P(household, HOUSE_LIMIT)) & (area_x100 > P(household, AVG_HOUSING) * 100 * n)
        vehicle = (household("assets_vehicles", period) > 0) & (P(household, VEHICLE_ALLOWED) == 0)
        return financial * 1 + housing * 2 + vehicle * 4


class assets_ok(Flag):
    entity = Household
    label = "家庭财产符合规定"

    def formula(household, period):
        return household("asset_failures", period) == 0


def asset_reasons(v) -> list[str]:  # type: ignore[no-untyped-def]
    """Chinese reasons for the asset test of one household (a View)."""
    fails = v.hh("asset_failures")
    n = max(v.hh("unit_size"), 1)
    out = []
    fin = v.hh("assets_financial")
    ref = v.hh("disposable_income_reference")
    dpi_key = DPI_URBAN if v.flag("urban") else DPI_RURAL
    limit = (ref * v.raw(FINANCIAL_MULTIPLE) + 5000) // 10000 * n
    cmp_ = ">" if fails & 1 else "≤"
    out.append(f"家庭金融资产 {v.yuan(fin)} {cmp_} 上限 {v.yuan(limit)}"
               f"（{n} 人 × {v.cite(FINANCIAL_MULTIPLE)} × {v.cite(dpi_key)}）")  # fmt: skip
    if fails & 2:
        out.append(f"拥有住房 {v.hh('assets_houses')} 套，达到{v.cite(HOUSE_LIMIT)}，且人均住房面积超过{v.cite(AVG_HOUSING)}")
    if fails & 4:
        out.append(f"拥有非豁免机动车辆 {v.hh('assets_vehicles')} 辆，{v.cite(VEHICLE_ALLOWED)}")
    return out
