"""Entitlements from decisions and payroll generation: idempotent, evaluated by the engine for the month,
reserve-fund advances not paid again, crash-safe (a failure at any chunk, then a rerun: no duplicate, no missing
line, totals exact to the 分)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jiuzhu.cases.models import ReserveEntry
from jiuzhu.payments import services
from jiuzhu.payments.evaluation import evaluate_households
from jiuzhu.payments.models import Entitlement, PayrollLine, PayrollRun, PayrollSkip
from jiuzhu.registry.models import Household, HouseholdEconomy, PersonEconomy
from jiuzhu.registry.policy_input import household_inputs
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, villages

from .kit import MONTH, decide, entitlement_of, granted, sync

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def expected(households: list[Household], month: dt.date = MONTH, programme: str = "dibao") -> dict[int, Decimal]:
    """The engine's amount per household (eligible ones only), evaluated independently of the payroll."""
    qs = Household.objects.filter(pk__in=[h.pk for h in households])
    pk_of = dict(qs.values_list("household_no", "pk"))
    inputs = {pk_of[d["id"]]: d for d in household_inputs(qs, on=month)}
    out = evaluate_households(inputs, month, programme)
    return {pk: o.amount for pk, o in out.items() if o.status == "ok"}


def test_entitlements_from_decisions_is_idempotent_and_a_new_decision_supersedes(personas):
    v = villages(TOWN_A)[0]
    h = granted(personas.caseworker_a, v)
    assert sync() == {"created": 1}
    assert sync() == {}
    e = entitlement_of(h)
    assert (e.start_month, e.amount, e.status) == (MONTH, Decimal("500.00"), "active")
    assert e.recipient.relation == "02" and e.area_code == h.area_code
    decide(h, start=dt.date(2026, 4, 1), amount="520.00")  # a later decision (review after a change)
    assert sync() == {"created": 1, "superseded": 1}
    e.refresh_from_db()
    assert (e.status, e.end_month) == ("stopped", dt.date(2026, 3, 1))
    assert entitlement_of(h).amount == Decimal("520.00")
    # one paying entitlement per month: the old one until March, the new one from April
    assert list(services.in_scope(TOWN_A, dt.date(2026, 3, 1), "dibao")) == [e]
    assert list(services.in_scope(TOWN_A, dt.date(2026, 4, 1), "dibao")) == [entitlement_of(h)]


def test_temporary_and_rejected_decisions_make_no_entitlement(personas):
    h = granted(personas.caseworker_a, villages(TOWN_A)[0], programme="temporary")
    d = decide(h)
    d.approved = False
    d.save()
    assert sync() == {}
    assert not Entitlement.objects.exists()


def test_generate_is_idempotent_and_uses_the_engine_for_the_month(personas):
    vs = villages(TOWN_A)
    hs = [granted(personas.caseworker_a, vs[i % len(vs)]) for i in range(5)]
    sync()
    run = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a)
    assert run.status == "generated"
    want = expected(hs)
    assert len(want) == 5
    lines = {ln.household_id: ln for ln in run.lines.all()}
    assert {k: v.amount for k, v in lines.items()} == want
    assert run.line_count == 5 and run.total_amount == sum(want.values())
    assert run.snapshot["month"] == "2026-01" and run.snapshot["parameters"]
    assert all(ln.explanation_ref.startswith(f"dibao@2026-01/{ln.household.household_no}/") for ln in lines.values())
    assert all(ln.bank_account_masked.endswith("0018") and ln.bank_account_enc for ln in lines.values())
    # the same request, by anyone allowed, any number of times: the same run and nothing new
    again = services.generate(area_code=TOWN_A, month=dt.date(2026, 1, 17), programme="dibao", actor=personas.reviewer)
    assert again.pk == run.pk and PayrollLine.objects.count() == 5 and PayrollRun.objects.count() == 1


def test_idempotency_key_replays_and_refuses_another_request(personas):
    granted(personas.caseworker_a, villages(TOWN_A)[0])
    sync()
    a = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a,
                          idempotency_key="k-1")  # fmt: skip
    assert services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a,
                             idempotency_key="k-1").pk == a.pk  # fmt: skip
    with pytest.raises(services.Conflict):
        services.generate(area_code=TOWN_A, month=dt.date(2026, 2, 1), programme="dibao", actor=personas.caseworker_a,
                          idempotency_key="k-1")  # fmt: skip
    assert PayrollRun.objects.count() == 1


def test_outside_the_area_or_without_permission_is_forbidden(personas):
    with pytest.raises(services.Forbidden):
        services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_b)
    with pytest.raises(services.Forbidden):
        services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.supervisor)
    with pytest.raises(services.Refused):
        services.generate(area_code=TOWN_A, month=MONTH, programme="temporary", actor=personas.caseworker_a)


def test_households_not_paid_are_reported(personas):
    vs = villages(TOWN_A)
    ok = granted(personas.caseworker_a, vs[0])
    rich = granted(personas.caseworker_a, vs[0])
    no_facts = granted(personas.caseworker_a, vs[1])
    no_account = granted(personas.caseworker_a, vs[1])
    closed = granted(personas.caseworker_a, vs[2])
    sync()
    # after the decision: a wage rise, incomes deleted, no account any more, household archived
    PersonEconomy.objects.filter(person__household=rich).update(wage=Decimal("9000"))
    HouseholdEconomy.objects.filter(household=no_facts).delete()
    Household.objects.filter(pk=no_account.pk).update(bank_account_enc="", bank_account_bi="", bank_account_masked="")
    Household.objects.filter(pk=closed.pk).update(status="archived")
    run = services.generate(area_code=TOWN_A, month=MONTH, programme="all", actor=personas.caseworker_a)
    assert [ln.household_id for ln in run.lines.all()] == [ok.pk]
    reasons = {s.entitlement.household_id: s.reason for s in run.skips.select_related("entitlement")}
    assert reasons == {rich.pk: "not_eligible", no_facts.pk: "not_evaluable", no_account.pk: "no_account",
                       closed.pk: "household_closed"}  # fmt: skip
    assert run.counts["entitlements"] == 5 and run.counts["lines"] == 1
    assert run.counts["skipped"] == {"not_eligible": 1, "not_evaluable": 1, "no_account": 1, "household_closed": 1}


def test_not_started_or_ended_entitlements_are_not_in_the_month(personas):
    v = villages(TOWN_A)[0]
    later = granted(personas.caseworker_a, v, start=dt.date(2026, 2, 1))
    now = granted(personas.caseworker_a, v)
    sync()
    Entitlement.objects.filter(household=now).update(status="suspended")
    run = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a)
    assert run.line_count == 0 and run.counts["entitlements"] == 0
    feb = services.generate(area_code=TOWN_A, month=dt.date(2026, 2, 1), programme="dibao", actor=personas.caseworker_a)
    assert [ln.household_id for ln in feb.lines.all()] == [later.pk]


def test_month_advanced_from_the_reserve_fund_is_not_paid_again(personas):
    v = villages(TOWN_A)[0]
    full, part, other_month = (granted(personas.caseworker_a, v) for _ in range(3))
    sync()
    want = expected([full, part, other_month])
    balance = Decimal("10000.00")
    ReserveEntry.objects.create(township_code=TOWN_A, area_code=TOWN_A, seq=1, kind="topup", amount=balance,
                                balance=balance, on=dt.date(2025, 12, 1))  # fmt: skip
    for seq, (h, amount, on) in enumerate([(full, want[full.pk], dt.date(2026, 1, 3)), (part, Decimal("100.00"), dt.date(2026, 1, 5)),
                                           (other_month, Decimal("80.00"), dt.date(2025, 12, 20))], start=2):  # fmt: skip
        balance -= amount
        ReserveEntry.objects.create(township_code=TOWN_A, area_code=TOWN_A, seq=seq, kind="payment", amount=-amount,
                                    balance=balance, on=on, case=entitlement_of(h).case)  # fmt: skip
    run = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a)
    lines = {ln.household_id: ln for ln in run.lines.all()}
    assert full.pk not in lines
    assert run.skips.get().reason == "advance_paid" and "2" in run.skips.get().detail
    assert (lines[part.pk].amount, lines[part.pk].advance_deducted) == (want[part.pk] - 100, Decimal("100.00"))
    assert lines[other_month.pk].amount == want[other_month.pk]
    assert run.total_amount == want[part.pk] - 100 + want[other_month.pk]


def test_a_household_can_be_paid_in_one_run_only(personas):
    """An area's run and its township's run overlap: the month is paid once, the second run reports it."""
    h = granted(personas.caseworker_a, villages(TOWN_A)[0])
    sync()
    county = services.generate(area_code=TOWN_A[:6], month=MONTH, programme="all", actor=personas.reviewer)
    town = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a)
    assert county.line_count == 1 and town.line_count == 0
    skip = town.skips.get()
    assert skip.reason == "already_paid" and county.lines.get().reference in skip.detail
    assert PayrollLine.objects.filter(household=h).count() == 1


@pytest.mark.parametrize("crash_after", [1, 2, 3])
def test_crash_between_chunks_then_rerun_is_exact(personas, crash_after):
    hs_a = [granted(personas.caseworker_a, v) for v in villages(TOWN_A) for _ in range(2)]  # 8 or more
    [granted(personas.caseworker_b, v) for v in villages(TOWN_B)[:2]]  # another township: not in the run
    sync()

    def failpoint(run, written):
        if written == crash_after:
            raise Boom

    with pytest.raises(Boom):
        services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a,
                          chunk_size=2, after_chunk=failpoint)  # fmt: skip
    run = PayrollRun.objects.get()
    assert run.status == "generating" and run.line_count == 0  # never "generated" while incomplete
    assert run.lines.count() == 2 * crash_after
    run = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a, chunk_size=2)
    assert run.status == "generated"
    want = expected(hs_a)
    got = list(run.lines.values_list("household_id", "amount"))
    assert len(got) == len({h for h, _ in got}) == len(hs_a)  # no duplicate, none missing
    assert dict(got) == want
    assert run.total_amount == sum(want.values()) and run.line_count == len(hs_a)
    assert run.job.status == "succeeded" and run.job.done == len(hs_a)


def test_crash_inside_a_chunk_leaves_nothing_of_it(personas, monkeypatch):
    vs = villages(TOWN_A)
    hs = [granted(personas.caseworker_a, vs[i % len(vs)]) for i in range(5)]
    sync()
    real = PayrollSkip.objects.bulk_create
    calls = {"n": 0}

    def fail_second(objs, **kw):
        calls["n"] += 1
        if calls["n"] == 2:  # the second chunk's lines are inserted, then the process dies
            raise Boom
        return real(objs, **kw)

    monkeypatch.setattr(PayrollSkip.objects, "bulk_create", fail_second)
    with pytest.raises(Boom):
        services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a, chunk_size=2)
    assert PayrollLine.objects.count() == 2  # the first chunk only: the second rolled back whole
    monkeypatch.setattr(PayrollSkip.objects, "bulk_create", real)
    run = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a, chunk_size=2)
    want = expected(hs)
    assert dict(run.lines.values_list("household_id", "amount")) == want
    assert run.total_amount == sum(want.values())


def test_resume_refused_when_parameters_changed(personas):
    """A crashed run resumes only under the parameters it froze (here the frozen snapshot stands for a 调标 made
    between the crash and the rerun)."""
    granted(personas.caseworker_a, villages(TOWN_A)[0])
    granted(personas.caseworker_a, villages(TOWN_A)[0])
    sync()

    def failpoint(run, written):
        raise Boom

    with pytest.raises(Boom):
        services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a,
                          chunk_size=1, after_chunk=failpoint)  # fmt: skip
    run = PayrollRun.objects.get()
    run.snapshot["parameters"][0]["values"]["dibao.standard.rural"] = {"value": "1"}
    run.snapshot["parameter_change_id"] = -1
    run.save()
    with pytest.raises(services.Refused):
        services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a)


def test_a_birthday_changes_the_month_without_editing_the_case(personas):
    """高龄补贴 (rural Shaanxi from 70): the head turns 70 on 15 January 2026. Evaluated on the first day of each
    month, January pays nothing (reported), February pays; nobody touched the case or the entitlement."""
    from jiuzhu.registry.models import Person

    h = granted(personas.caseworker_a, villages(TOWN_A)[0], programme="elderly", amount="50.00")
    Person.objects.filter(household=h, relation="02").update(birth_date=dt.date(1956, 1, 15))
    sync()
    jan = services.generate(area_code=TOWN_A, month=MONTH, programme="elderly", actor=personas.caseworker_a)
    feb = services.generate(area_code=TOWN_A, month=dt.date(2026, 2, 1), programme="elderly", actor=personas.caseworker_a)
    assert jan.line_count == 0 and jan.skips.get().reason == "not_eligible"
    want = expected([h], dt.date(2026, 2, 1), "elderly")
    assert want[h.pk] > 0 and feb.lines.get().amount == want[h.pk] == feb.total_amount
