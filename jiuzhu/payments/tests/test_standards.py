"""调标: a retroactive standard change re-evaluates every paid entitlement month by month, lists the differences
for approval, and the approval (by another officer) pays the back-pay — worked out by hand to the 分, once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from jiuzhu.payments import adjustments, services, standards
from jiuzhu.payments.models import Entitlement, PayrollLine, StandardChange
from jiuzhu.policyadmin import services as policy
from jiuzhu.testing.fixtures import CITY, TOWN_A

from .kit import decide, paid_twice, sync
from .test_adjustments import FEB, JAN, MAR, family, pay_all, regular

pytestmark = pytest.mark.django_db


def raise_rural_standard(admin, value: str = "652.35", on: dt.date = JAN) -> None:
    policy.save_change(actor=admin, key="dibao.standard.rural", scope=CITY, value=value, effective_from=on,
                       source="安政办发〔2026〕1号", confidence="H")  # fmt: skip


def paid_january_and_february(personas):
    cw, rv = personas.caseworker_a, personas.reviewer
    three = family(cw, wage="301.37")  # 610.00 × 3 − 301.37 = 1528.63 a month
    two = family(cw, size=2, wage="0.00")  # 610.00 × 2 − 0 = 1220.00 a month
    for h in (three, two):
        decide(h, start=JAN)
    sync()
    for m in (JAN, FEB):
        pay_all(regular(cw, rv, m), cw)
    return three, two


def test_retroactive_standard_change_back_pay_by_hand(personas):
    cw, rv = personas.caseworker_a, personas.reviewer
    three, two = paid_january_and_february(personas)
    # In March the city raises the rural standard from 610.00 to 652.35 with effect from January.
    raise_rural_standard(personas.policy_admin)
    c = standards.preview_standard_change(TOWN_A, JAN, cw, through=FEB)
    assert c.status == "previewed" and c.entitlements == 2 and c.job.status == "succeeded" and c.job.done == 2
    rows = {r["household"]: r for r in c.rows}
    # household of 3: 652.35 × 3 − 301.37 = 1957.05 − 301.37 = 1655.68; 1655.68 − 1528.63 = 127.05 a month, × 2 = 254.10
    assert rows[three.pk]["old"] == "1528.63" and rows[three.pk]["new"] == "1655.68"
    assert [(x["month"], x["diff"]) for x in rows[three.pk]["months"]] == [("2026-01", "127.05"), ("2026-02", "127.05")]
    assert rows[three.pk]["backpay"] == "254.10"
    # household of 2: 652.35 × 2 = 1304.70; 1304.70 − 1220.00 = 84.70 a month, × 2 = 169.40
    assert rows[two.pk]["backpay"] == "169.40"
    assert c.backpay_total == Decimal("423.50") and c.shortfall_total == 0  # 254.10 + 169.40
    # maker ≠ checker
    with pytest.raises(services.Forbidden):
        standards.approve_standard_change(c, cw)
    with pytest.raises(services.Forbidden):  # another township's officer
        standards.approve_standard_change(c, personas.caseworker_b)
    run = standards.approve_standard_change(c, rv)
    assert run is not None and run.kind == "backpay" and run.status == "approved" and run.approved_by == rv
    assert run.total_amount == Decimal("423.50") and run.line_count == 4
    assert {ln.seq for ln in run.lines.all()} == {1}
    # approving again: the same run, nothing more
    assert standards.approve_standard_change(c, rv) == run
    assert PayrollLine.objects.filter(seq=1).count() == 4
    # a new review of the same change finds every month paid at the new amount: nothing to approve twice
    again = standards.preview_standard_change(TOWN_A, JAN, cw, through=FEB)
    assert again.rows == [] and again.backpay_total == 0
    assert standards.approve_standard_change(again, rv) is None
    # what January now pays in all for the household of 3: 1528.63 + 127.05 = 1655.68
    jan = PayrollLine.objects.filter(household=three, month=JAN, status__in=PayrollLine.LIVE)
    assert sum(ln.amount for ln in jan) == Decimal("1655.68")
    # and the March payroll pays the new amount
    march = services.generate(area_code=TOWN_A, month=MAR, programme="dibao", actor=cw)
    assert march.lines.get(household=three).amount == Decimal("1655.68")
    assert paid_twice() == []


def test_a_lower_amount_is_listed_as_a_shortfall_and_not_paid(personas):
    cw, rv = personas.caseworker_a, personas.reviewer
    three, _two = paid_january_and_february(personas)
    raise_rural_standard(personas.policy_admin, value="600.00", on=FEB)
    c = standards.preview_standard_change(TOWN_A, JAN, cw, through=FEB)
    # January unchanged; February: 600.00 × 3 − 301.37 = 1498.63, 30.00 less than paid (×2 households: 30 + 20)
    assert c.shortfall_total == Decimal("50.00") and c.backpay_total == 0
    assert {r["household"]: r["shortfall"] for r in c.rows}[three.pk] == "30.00"
    assert standards.approve_standard_change(c, rv) is None
    assert StandardChange.objects.get(pk=c.pk).status == "approved"


def test_preview_page_lists_differences_and_approve_button(client, personas, settings):
    settings.JIUZHU_JOBS_INLINE = True  # the comparison in the request (SQLite's test database is per connection)
    cw, rv = personas.caseworker_a, personas.reviewer
    paid_january_and_february(personas)
    raise_rural_standard(personas.policy_admin)
    client.force_login(cw)
    r = client.post(reverse("payments:standard_new"), {"area": TOWN_A, "effective_month": "2026-01", "through": "2026-02"})
    c = StandardChange.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("payments:standard", args=[c.pk])
    r = client.get(reverse("payments:standard", args=[c.pk]))
    body = r.content.decode()
    assert r.status_code == 200 and "423.50" in body and "254.10" in body and "1655.68" in body
    assert "本人测算" in body  # the maker sees no approve button, a note instead
    client.post(reverse("payments:standard_approve", args=[c.pk]))
    assert StandardChange.objects.get(pk=c.pk).status == "previewed"
    client.force_login(rv)
    r = client.get(reverse("payments:standard", args=[c.pk]))
    assert 'name="approve"' in r.content.decode()
    r = client.post(reverse("payments:standard_approve", args=[c.pk]))
    c.refresh_from_db()
    assert c.status == "approved" and r.status_code == 302
    assert r["Location"] == reverse("payments:run", args=[c.backpay_run_id])
    # another county's officer: 404 like a missing review
    client.force_login(personas.caseworker_b)
    assert client.get(reverse("payments:standard", args=[c.pk])).status_code == 404
    assert Entitlement.objects.count() == 2


def test_review_progress_while_the_comparison_runs(client, personas):
    paid_january_and_february(personas)
    raise_rural_standard(personas.policy_admin)
    c = standards.start_review(TOWN_A, JAN, personas.caseworker_a, through=FEB)
    client.force_login(personas.caseworker_a)
    page = client.get(reverse("payments:standard", args=[c.pk])).content.decode()
    assert 'data-testid="standard-progress"' in page and "0 / 2" in page and 'name="approve"' not in page
    standards.run_review(c.pk)
    r = client.get(reverse("payments:standard_progress", args=[c.pk]), HTTP_HX_REQUEST="true")
    assert r["HX-Refresh"] == "true" and 'data-status="previewed"' in r.content.decode()


def test_review_and_adjust_pages_in_english(client, personas):
    paid_january_and_february(personas)
    raise_rural_standard(personas.policy_admin)
    c = standards.preview_standard_change(TOWN_A, JAN, personas.caseworker_a, through=FEB)
    client.force_login(personas.reviewer)
    client.cookies["django_language"] = "en"
    for path, text in ((reverse("payments:standards"), "Standard change reviews"),
                       (reverse("payments:standard", args=[c.pk]), "Approve and create the back-pay run"),
                       (reverse("payments:adjust"), "Create back-pay run")):  # fmt: skip
        page = client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert text in page, path
        for zh in ("调标差额", "补发", "测算", "价格临时补贴", "审核通过"):
            assert zh not in page, (path, zh)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises writers: no race to test")
def test_racing_approvals_and_back_pay_pay_each_month_once(personas):
    """Two reviews of the same change approved at the same moment by two officers, and back-pay asked by several
    officers at once: each difference and each month is live once (PostgreSQL, threads with their own connections)."""
    from jiuzhu.cases.tests.test_concurrency import race
    from jiuzhu.testing.fixtures import make_user

    cw = personas.caseworker_a
    three, two = paid_january_and_february(personas)
    late = family(cw, wage="0.00")
    decide(late, start=JAN)  # decided after the January and February payrolls
    sync()
    raise_rural_standard(personas.policy_admin)
    a = standards.preview_standard_change(TOWN_A, JAN, cw, through=FEB)
    b = standards.preview_standard_change(TOWN_A, JAN, cw, through=FEB)
    officers = [make_user(f"chk_{i}", "caseworker", TOWN_A) for i in range(4)]
    results = race(lambda: standards.approve_standard_change(a, officers[0]),
                   lambda: standards.approve_standard_change(b, officers[1]),
                   *[(lambda o=o: adjustments.backpay(TOWN_A, o, through=FEB)) for o in officers[2:]])  # fmt: skip
    assert not [r for r in results if isinstance(r, Exception)], results
    # each household's January and February add up to the new amount once (652.35 × 3 − 301.37 = 1655.68;
    # 652.35 × 2 = 1304.70; the late household of three without income 652.35 × 3 = 1957.05)
    for h, amount in ((three, "1655.68"), (two, "1304.70"), (late, "1957.05")):
        for m in (JAN, FEB):
            live = PayrollLine.objects.filter(household=h, month=m, status__in=PayrollLine.LIVE)
            assert sum(ln.amount for ln in live) == Decimal(amount), (h.pk, m)
    assert paid_twice() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="the worker thread needs a database other connections see")
def test_the_page_runs_the_comparison_in_a_worker_thread(client, personas):
    import time

    paid_january_and_february(personas)
    raise_rural_standard(personas.policy_admin)
    client.force_login(personas.caseworker_a)
    r = client.post(reverse("payments:standard_new"), {"area": TOWN_A, "effective_month": "2026-01", "through": "2026-02"})
    c = StandardChange.objects.get()
    assert r.status_code == 302
    until = time.monotonic() + 60
    while c.status == "previewing" and time.monotonic() < until:
        time.sleep(0.2)
        c.refresh_from_db()
    assert c.status == "previewed" and c.backpay_total == Decimal("423.50")
