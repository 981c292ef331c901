"""低保边缘家庭 (near-dibao households): not eligible for 低保 as a whole, monthly income below a multiple of the
低保 standard × unit size, and assets within the (possibly relaxed) asset rules (REFERENCE §6.1; 最低生活保障审核确认
办法 第八条; N5 一（四）; N6 二). A status, not a cash benefit: the household is entered into the low-income
database and may receive special assistance; its severely disabled or seriously ill members may apply for 低保
alone (单人保, computed by the 低保 programme)."""

from __future__ import annotations

import numpy as np

from jiuzhu.policy.parameters.schema import declare
from jiuzhu.policy.rules import Programme
from jiuzhu.policy.rules.common import (
    ASSET_PARAMS,
    AVG_HOUSING,
    CLERGY_YEARS,
    DPI_RURAL,
    DPI_URBAN,
    FINANCIAL_MULTIPLE,
    HOUSE_LIMIT,
    INCOME_PARAMS,
    VEHICLE_ALLOWED,
    financial_limit,
)
from jiuzhu.policy.rules.dibao import NEAR_MULTIPLE, STANDARD_RURAL, STANDARD_URBAN
from jiuzhu.policy.system import Flag, Household, Money

ASSET_FACTOR = declare("near_dibao.asset_financial_factor", "ratio",
                       "低保边缘家庭金融资产上限（低保金融资产上限的倍数，1 = 与低保相同）", "倍",
                       programme="near_dibao")  # fmt: skip

PARAMS = (NEAR_MULTIPLE, ASSET_FACTOR, STANDARD_URBAN, STANDARD_RURAL, CLERGY_YEARS, *INCOME_PARAMS, *ASSET_PARAMS)


class near_dibao_financial_limit(Money):
    entity = Household
    label = "低保边缘家庭金融资产上限"

    def formula(household, period):
        return financial_limit(household, period, ASSET_FACTOR)


class near_dibao_assets_ok(Flag):
    entity = Household
    label = "家庭财产符合低保边缘家庭规定"

    def formula(household, period):
        # housing and vehicle rules as for 低保 (asset_failures bits 2 and 4); the financial ceiling may be relaxed
        other = (household("asset_failures", period) & 6) == 0
        return other & (household("assets_financial", period) <= household("near_dibao_financial_limit", period))


class near_dibao_eligible(Flag):
    entity = Household
    label = "认定为低保边缘家庭"

    def formula(household, period):
        return (~household("dibao_household_eligible", period) & household("dibao_near_band", period)
                & household("near_dibao_assets_ok", period))  # fmt: skip


class near_dibao_amount(Money):
    entity = Household
    label = "低保边缘家庭（不发放现金）"

    def formula(household, period):
        return np.zeros(household.count, dtype=np.int64)


# --- explanation ---------------------------------------------------------------------------------------------


def explain(v) -> list[str]:  # type: ignore[no-untyped-def]
    std_key = STANDARD_URBAN if v.flag("urban") else STANDARD_RURAL
    n, inc, std = v.hh("unit_size"), v.hh("household_income"), v.hh("dibao_standard")
    out = [f"共同生活家庭成员 {n} 人，家庭月收入 {v.yuan(inc)}"]
    if v.flag("dibao_household_eligible"):
        out.append("家庭整体符合低保条件（见最低生活保障），不属于低保边缘家庭")
    elif v.flag("dibao_income_test"):
        out.append("家庭月收入低于低保标准，但家庭财产不符合低保条件，整户不符合低保条件")
    else:
        out.append(f"家庭月收入 {v.yuan(inc)} ≥ 低保标准 {v.yuan(std)} × {n} 人 = {v.yuan(std * n)}，整户不符合低保条件")
    band = v.flag("dibao_near_band")
    limit = (std * n * v.raw(NEAR_MULTIPLE) + 5000) // 10000
    out.append(f"家庭月收入 {v.yuan(inc)} {'<' if band else '≥'} {n} 人 × {v.cite(std_key)} × {v.cite(NEAR_MULTIPLE)}"
               f" = {v.yuan(limit)}" + ("" if band else "，收入条件不符合"))  # fmt: skip
    fin, flimit = v.hh("assets_financial"), v.hh("near_dibao_financial_limit")
    ok_fin = fin <= flimit
    dpi_key = DPI_URBAN if v.flag("urban") else DPI_RURAL
    out.append(f"家庭金融资产 {v.yuan(fin)} {'≤' if ok_fin else '>'} 上限 {v.yuan(flimit)}（{max(n, 1)} 人 × "
               f"{v.cite(FINANCIAL_MULTIPLE)} × {v.cite(dpi_key)} × {v.cite(ASSET_FACTOR)}）")  # fmt: skip
    fails = v.hh("asset_failures")
    if fails & 2:
        out.append(f"拥有住房 {v.hh('assets_houses')} 套，达到{v.cite(HOUSE_LIMIT)}，且人均住房面积超过{v.cite(AVG_HOUSING)}")
    if fails & 4:
        out.append(f"拥有非豁免机动车辆 {v.hh('assets_vehicles')} 辆，{v.cite(VEHICLE_ALLOWED)}")
    if v.flag("near_dibao_eligible"):
        out.append("认定为低保边缘家庭（最低生活保障审核确认办法第八条）。低保边缘家庭不发放现金，可享受专项救助"
                   "（医疗、教育、住房、就业等救助），家庭中的重度残疾人、重病患者可参照单人户申请低保")  # fmt: skip
    else:
        out.append("不符合低保边缘家庭条件")
    return out


PROGRAMME = Programme(
    key="near_dibao", label="低保边缘家庭", label_en="Near-dibao household (status)",
    eligible="near_dibao_eligible", amount="near_dibao_amount", params=PARAMS, explain=explain,
    depends=("dibao",), outputs=("dibao_near_band", "near_dibao_assets_ok"),
)  # fmt: skip
