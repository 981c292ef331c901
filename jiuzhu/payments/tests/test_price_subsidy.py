"""价格临时补贴: a CPI figure at or above the trigger entered for a month pays the month's subsidy to the recipients
of 低保 / 特困 / children's allowance, once per household and month, by hand to the 分; below the trigger, nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

import jiuzhu.policy.rules  # noqa: F401  (declares the parameter keys)
from jiuzhu.core.months import add_months
from jiuzhu.payments import services, subsidy
from jiuzhu.payments.models import PayrollRun
from jiuzhu.policyadmin import services as policy
from jiuzhu.testing.fixtures import COUNTY, TOWN_A

from .kit import decide, paid_twice, sync
from .test_adjustments import JAN, MAR, family

pytestmark = pytest.mark.django_db


def enter_cpi(admin, value: str, month=MAR) -> None:
    policy.save_change(actor=admin, key="stats.cpi_yoy", scope="61", value=value, effective_from=month,
                       source="陕西省统计局 2026年2月份居民消费价格", confidence="H")  # fmt: skip


def test_price_subsidy_paid_once_when_cpi_reaches_the_trigger(personas):
    cw, rv = personas.caseworker_a, personas.reviewer
    h = family(cw, wage="301.37")
    decide(h, start=JAN)
    family(cw, size=2, wage="5000.00")  # no entitlement: no subsidy
    sync()
    enter_cpi(personas.policy_admin, "0.034")  # 3.4 % < 3.5 %: not triggered
    with pytest.raises(services.Refused):
        subsidy.generate_price_subsidy(TOWN_A, MAR, cw)
    enter_cpi(personas.policy_admin, "0.041")  # a later entry for the same month: 4.1 % ≥ 3.5 %
    assert subsidy.cpi(TOWN_A, MAR)["triggered"]
    run = subsidy.generate_price_subsidy(TOWN_A, MAR, cw)
    # 3 members of a 低保 household, rural standard 610.00 × 4.1 % = 25.01 each; 3 × 25.01 = 75.03
    assert run.programme == "price_subsidy" and run.status == "generated"
    assert [(ln.household_id, ln.amount, ln.programme) for ln in run.lines.all()] == [(h.pk, Decimal("75.03"), "price_subsidy")]
    assert run.total_amount == Decimal("75.03")
    # the same request: the same run; a county run for the same month pays the household nothing more
    assert subsidy.generate_price_subsidy(TOWN_A, MAR, cw) == run
    county = subsidy.generate_price_subsidy(COUNTY, MAR, rv)
    assert county.line_count == 0 and county.skips.get().reason == "already_paid"
    # maker ≠ checker
    with pytest.raises(services.Forbidden):
        services.approve(run, cw)
    services.approve(run, rv)
    assert PayrollRun.objects.filter(programme="price_subsidy").count() == 2
    assert paid_twice() == []


def test_adjust_page_lists_months_whose_cpi_reaches_the_trigger(client, personas, monkeypatch):
    from django.urls import reverse

    from jiuzhu.payments import adjustments

    monkeypatch.setattr(adjustments, "this_month", lambda: MAR)
    h = family(personas.caseworker_a)
    decide(h, start=JAN)
    sync()
    enter_cpi(personas.policy_admin, "0.041")
    assert [d["month"] for d in subsidy.months_due(TOWN_A)] == [MAR]
    client.force_login(personas.caseworker_a)
    page = client.get(reverse("payments:adjust")).content.decode()
    assert 'data-testid="price-due"' in page and "2026-03" in page
    r = client.post(reverse("payments:adjust"), {"ps-area": TOWN_A, "ps-month": "2026-03", "price": "1"})
    run = PayrollRun.objects.get(programme="price_subsidy")
    assert r.status_code == 302 and r["Location"] == reverse("payments:run", args=[run.pk])
    assert subsidy.months_due(TOWN_A) == []
    assert 'data-testid="price-due"' not in client.get(reverse("payments:adjust")).content.decode()


def test_the_months_payroll_brings_the_subsidy_once_the_cpi_is_entered(client, personas):
    """The issue's rule: a CPI figure above the trigger entered for a month adds the subsidy to that month's payroll.
    Generating all programmes for the month makes the subsidy's run too (same maker, its own approval); one
    programme alone does not; a payroll generated before the figure was entered gets it when generated again; a
    replay makes nothing new."""
    cw, rv = personas.caseworker_a, personas.reviewer
    h = family(cw, wage="301.37")
    decide(h, start=JAN)
    sync()
    before = services.generate(area_code=TOWN_A, month=MAR, programme="all", actor=cw)
    assert before.status == "generated" and subsidy.live_run(TOWN_A, MAR) is None  # no CPI figure yet
    enter_cpi(personas.policy_admin, "0.041")  # in force from March on
    apr = add_months(MAR, 1)
    assert subsidy.cpi(TOWN_A, apr)["triggered"]
    dibao = services.generate(area_code=TOWN_A, month=apr, programme="dibao", actor=cw)
    assert dibao.status == "generated" and subsidy.live_run(TOWN_A, apr) is None  # one programme: no subsidy
    again = services.generate(area_code=TOWN_A, month=MAR, programme="all", actor=cw)
    assert again == before
    price = subsidy.live_run(TOWN_A, MAR)
    assert price is not None and price.made_by == cw and price.status == "generated"
    assert price.total_amount == Decimal("75.03")  # as worked out by hand in the test above
    runs = PayrollRun.objects.count()
    assert services.generate(area_code=TOWN_A, month=MAR, programme="all", actor=cw) == before
    assert PayrollRun.objects.count() == runs
    from django.urls import reverse

    client.force_login(cw)
    page = client.get(reverse("payments:run", args=[before.pk])).content.decode()
    assert 'data-testid="price-run"' in page and reverse("payments:run", args=[price.pk]) in page
    with pytest.raises(services.Forbidden):
        services.approve(price, cw)
    services.approve(price, rv)
    assert paid_twice() == []


def test_the_command_names_the_subsidy_run_that_came_with_the_payroll(personas):
    import io
    import json

    from django.core.management import call_command

    h = family(personas.caseworker_a, wage="301.37")
    decide(h, start=JAN)
    sync()
    enter_cpi(personas.policy_admin, "0.041")
    out = io.StringIO()
    call_command("generate_payroll", "--area", TOWN_A, "--month", "2026-03", "--user",
                 personas.caseworker_a.username, "--json", stdout=out)  # fmt: skip
    price = subsidy.live_run(TOWN_A, MAR)
    assert price is not None and json.loads(out.getvalue())["price_subsidy_run"] == price.pk
    out = io.StringIO()
    call_command("generate_payroll", "--area", TOWN_A, "--month", "2026-03", "--user",
                 personas.caseworker_a.username, stdout=out)  # fmt: skip
    assert f"price subsidy run {price.pk}" in out.getvalue() and "total 75.03" in out.getvalue()
