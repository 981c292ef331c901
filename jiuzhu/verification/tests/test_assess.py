"""The rules of ``assess.py`` on hand-worked cases: what real department data does that the synthetic feeds
mostly do not (two employers in one month, gross against net, snapshots of one account, a car deregistered
later, a business closed later, a 户籍 move, two sources of one death, a dead member's estate). The bulk SQL
is held to the same rules by the random-world parity test in test_bulk.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jiuzhu.verification import assess
from jiuzhu.verification.assess import Record

ON = dt.date(2025, 12, 15)  # lookback from 2024-12-01, current wages from 2025-09-01
P, Q = "p" * 32, "q" * 32
D = dt.date
Y = Decimal


def rec(source: str, kind: str, period: dt.date, amount: str | None = None, *, person: str = P, quantity: str | None = None,
        category: str = "", event_date: dt.date | None = None, ref: str = "") -> Record:  # fmt: skip
    return Record(source, kind, person, period, Y(amount) if amount is not None else None,
                  Y(quantity) if quantity is not None else None, category, event_date, ref)  # fmt: skip


def found(*records: Record) -> assess.Found:
    return assess.aggregate(records, ON)[P]


@pytest.mark.parametrize(("gross", "fund", "net"), [
    ("3600.00", False, "3222.00"),  # 378.00 contributions, below the threshold
    ("10000.00", False, "8765.00"),  # 1,050 contributions; taxable 3,950 → 10 % − 210 = 185.00
    ("10000.00", True, "7667.50"),  # + 1,200 housing fund; taxable 2,750 → 3 % = 82.50
    ("5586.59", False, "5000.00"),  # 586.59 contributions (586.592 rounded): exactly at the threshold, no tax
    ("40000.00", False, "30760.00"),  # 4,200 contributions; taxable 30,800 → 25 % − 2,660 = 5,040.00
])  # fmt: skip
def test_net_of_a_gross_wage(gross, fund, net):
    assert assess.net_of(Y(gross), fund=fund) == Y(net)


def test_two_employers_in_one_month_add_up_and_tax_is_the_wage():
    f = found(rec("tax", "wage", D(2025, 11, 1), "3000", ref="甲公司"), rec("tax", "wage", D(2025, 11, 1), "2000", ref="乙公司"),
              rec("tax", "wage", D(2025, 11, 1), "2500", ref="甲公司"),  # a second row of 甲 for the month: the first counts
              rec("tax", "wage", D(2025, 10, 1), "9000", ref="丙公司"),  # an earlier month: not the latest
              rec("hrss", "wage", D(2025, 11, 1), "6000", ref="甲公司"))  # a contribution base: 税务 is preferred  # fmt: skip
    assert f.wage_gross == Y("5000") and f.wage == Y("4475.00")  # 5,000 − 525 contributions, nothing taxable
    assert f.wage_sources == ["hrss", "tax"]


def test_without_tax_the_highest_current_base_counts_and_the_fund_share_is_deducted():
    f = found(rec("hrss", "wage", D(2025, 11, 1), "4000"), rec("housing_fund", "wage", D(2025, 10, 1), "4200"))
    assert f.wage_gross == Y("4200") and f.wage_fund
    assert f.wage == Y("4200") - Y("441.00") - Y("504.00")


def test_a_stopped_wage_names_the_sources_that_stopped():
    f = found(rec("tax", "wage", D(2025, 6, 1), "3000"), rec("housing_fund", "wage", D(2025, 4, 1), "3000"),
              rec("hrss", "wage", D(2023, 1, 1), "3000"))  # older than the lookback: not evidence at all  # fmt: skip
    assert f.wage is None and f.wage_stopped_since == D(2025, 6, 1)
    assert f.wage_stopped_sources == ["housing_fund", "tax"]
    data = {"members": [{"id": "1", "income": {"wage": "2800"}}], "assets": {}}
    (d,) = assess.compare(data, {"1": P}, {P: f}, {"1": "张三"}, ON)
    assert (d.kind, d.severity, d.source) == ("wage", "lower", "housing_fund,tax")
    assert "但住房公积金、税务记录的工资（缴费）自 2025年06月 后中断" in d.text and "人力资源" not in d.text
    assert assess.needs_look([d])


def test_balances_count_the_latest_snapshot_of_each_account_within_the_lookback():
    f = found(rec("bank", "deposit", D(2025, 6, 30), "10000", ref="工行/1234"),
              rec("bank", "deposit", D(2025, 11, 30), "3000", ref="工行/1234"),  # the same account, later
              rec("bank", "deposit", D(2025, 11, 30), "5000", ref="农行/1234"),
              rec("bank", "securities", D(2024, 1, 31), "99999", ref="证券/1"),  # before the lookback
              rec("bank", "insurance", D(2025, 11, 30), "700"), rec("bank", "insurance", D(2025, 11, 30), "300"))  # fmt: skip
    assert f.financial == Y("3000") + Y("5000") + Y("700") + Y("300")  # records without ref: each its own


def test_a_holding_whose_latest_record_ended_is_not_counted():
    f = found(rec("vehicle", "vehicle", D(2021, 5, 1), "60000", category="car", ref="陕G12345"),
              rec("vehicle", "vehicle", D(2025, 3, 1), category="ended", ref="陕G12345"),  # deregistered
              rec("vehicle", "vehicle", D(2022, 5, 1), category="truck", ref="陕G00001"),
              rec("vehicle", "vehicle", D(2022, 5, 1), category="motorcycle", ref="陕G00002"),  # exempt
              rec("real_estate", "house", D(2015, 1, 1), quantity="80", ref="U1"),
              rec("real_estate", "house", D(2025, 8, 1), quantity="80", ref="U1"),  # a snapshot of the same unit
              rec("real_estate", "house", D(2025, 8, 1), category="ended", ref="U1"),  # …transferred that day
              rec("real_estate", "house", D(2012, 1, 1), quantity="45.5", ref="U2"),
              rec("market", "business", D(2020, 1, 1), "50000", category="active", ref="91610902MA0000001X"),
              rec("market", "business", D(2024, 6, 1), category="closed", ref="91610902MA0000001X"))  # fmt: skip
    assert (f.vehicles, f.vehicle_kinds) == (1, ["truck"])
    assert (f.houses, f.house_area) == (1, Y("45.5"))
    assert f.business is False
    g = found(rec("market", "business", D(2020, 1, 1), category="active", ref="A"),
              rec("market", "business", D(2024, 6, 1), category="closed", ref="B"))  # another business closed
    assert g.business is True


def test_a_move_out_of_the_hukou_is_an_event_but_a_death_is_reported_as_death():
    f = found(rec("hukou", "registration", D(2025, 1, 1), category="normal"),
              rec("hukou", "registration", D(2025, 10, 8), category="moved_out", event_date=D(2025, 10, 8)))  # fmt: skip
    assert (f.registration, f.registration_date) == ("moved_out", D(2025, 10, 8))
    data = {"members": [{"id": "1", "income": {}}], "assets": {}}
    (d,) = assess.compare(data, {"1": P}, {P: f}, {"1": "李四"}, ON)
    assert (d.kind, d.severity, d.source) == ("registration", "event", "hukou")
    assert d.text == "李四：公安户籍记录于 2025-10-08 户口迁出，需核实是否仍与家庭共同生活" and assess.needs_look([d])
    back = found(rec("hukou", "registration", D(2025, 10, 8), category="moved_out"),
                 rec("hukou", "registration", D(2025, 11, 1), category="normal"))  # moved back  # fmt: skip
    assert back.registration == ""
    dead = found(rec("hukou", "registration", D(2025, 10, 8), category="cancelled", event_date=D(2025, 10, 8)),
                 rec("hukou", "death", D(2025, 10, 8), event_date=D(2025, 10, 8)))  # fmt: skip
    assert dead.registration == "" and dead.death == D(2025, 10, 8)


def test_a_death_reported_twice_is_named_by_the_source_first_in_sources_whatever_the_order():
    a = rec("funeral", "death", D(2025, 9, 1), event_date=D(2025, 8, 28))
    b = rec("hukou", "death", D(2025, 9, 15), event_date=D(2025, 8, 28))
    assert found(a, b).death_source == found(b, a).death_source == "hukou"
    earlier = rec("funeral", "death", D(2025, 9, 1), event_date=D(2025, 8, 27))
    assert (found(b, earlier).death, found(b, earlier).death_source) == (D(2025, 8, 27), "funeral")


def test_a_dead_members_holdings_stay_in_the_assessment_and_the_incomes_go():
    records = [rec("hukou", "death", D(2025, 9, 15), person=Q, event_date=D(2025, 8, 28)),
               rec("real_estate", "house", D(2010, 1, 1), person=Q, quantity="100", ref="U9"),
               rec("bank", "deposit", D(2025, 11, 30), "20000", person=Q, ref="A1"),
               rec("hrss", "pension", D(2025, 8, 1), "2500", person=Q, category="employee")]  # fmt: skip
    data = {"members": [{"id": "1", "income": {}}, {"id": "2", "income": {"other_pension": "0"}}],
            "assets": {"houses": 0, "financial": "0"}}  # fmt: skip
    out = assess.assessed_input(data, {"1": P, "2": Q}, assess.aggregate(records, ON), ON)
    assert [m["id"] for m in out["members"]] == ["1"]
    assert out["assets"]["houses"] == 1 and out["assets"]["financial"] == "20000.00"


def test_every_kind_of_finding_has_a_label():
    from jiuzhu.verification import bulk
    from jiuzhu.verification.sources import FINDING_KINDS

    assert {k for k, _s in bulk.FINDING_KINDS} == set(FINDING_KINDS)  # the job page and objections name each
