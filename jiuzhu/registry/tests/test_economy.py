"""Economic facts (PersonEconomy, HouseholdEconomy) and the policy-engine input built from them
(registry.policy_input, docs/policy-input.md)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from jiuzhu.registry.models import Household, HouseholdEconomy, Person, PersonEconomy
from jiuzhu.registry.policy_input import household_input, household_inputs
from jiuzhu.registry.services import person_leave
from jiuzhu.synth import generator as G
from jiuzhu.synth.economy import synth_economy
from jiuzhu.synth.load import generate
from jiuzhu.testing.fixtures import COUNTY, TOWN_A, make_household, villages

ON = dt.date(2026, 1, 1)


def _members(h: Household) -> list[Person]:
    return list(h.members.order_by("relation", "birth_date", "pk"))


def _person_economy(p: Person, **kw) -> PersonEconomy:
    return PersonEconomy.objects.create(person=p, area_code=p.area_code, as_of=ON, source="declared", **kw)


def _household_economy(h: Household, **kw) -> HouseholdEconomy:
    return HouseholdEconomy.objects.create(household=h, area_code=h.area_code, as_of=ON, source="verified", **kw)


# --- the database keeps the facts sane ---------------------------------------------------------------------


@pytest.mark.parametrize("field", ["wage", "support", "excluded", "rigid_deduction"])
def test_no_negative_income(personas, field):
    head = _members(make_household(personas.caseworker_a, villages(TOWN_A)[0], size=1))[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        _person_economy(head, **{field: Decimal("-0.01")})
    assert not PersonEconomy.objects.exists()


@pytest.mark.parametrize("field", ["financial", "housing_area_m2", "rigid_medical", "rigid_other", "current_dibao_amount"])
def test_no_negative_household_amount(personas, field):
    h = make_household(personas.caseworker_a, villages(TOWN_A)[0], size=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        _household_economy(h, **{field: Decimal("-1")})
    assert not HouseholdEconomy.objects.exists()


def test_self_care_count_and_one_row_each(personas):
    h = make_household(personas.caseworker_a, villages(TOWN_A)[0], size=1)
    head = _members(h)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        _person_economy(head, self_care_failed=7)
    with pytest.raises(IntegrityError), transaction.atomic():
        _person_economy(head, version=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        _household_economy(h, houses=-1)
    _person_economy(head, self_care_failed=6, wage=Decimal("1234.56"))
    with pytest.raises(IntegrityError), transaction.atomic():
        _person_economy(head)  # one row per person
    _household_economy(h)
    with pytest.raises(IntegrityError), transaction.atomic():
        _household_economy(h)
    head.refresh_from_db()
    assert head.economy.wage == Decimal("1234.56") and head.economy.lives_together and head.economy.parent1_status == "ok"
    assert PersonEconomy.objects.restrict(personas.caseworker_a).count() == 1
    assert PersonEconomy.objects.restrict(personas.caseworker_b).count() == 0  # scoped by area like the registry


# --- the adapter -------------------------------------------------------------------------------------------


def _family(personas) -> tuple[Household, list[Person]]:
    """A head with a wage, a spouse with a disability and pension, a school-age daughter; all facts known."""
    h = make_household(personas.caseworker_a, villages(TOWN_A)[0], size=3)
    head, spouse, daughter = _members(h)
    # births pinned: the factory's follow a counter shared by the whole run, and a head born after 2008 would be
    # a minor on ON (the same order-dependence as fa36c2c's)
    Person.objects.filter(pk=head.pk).update(birth_date=dt.date(1980, 3, 1))
    Person.objects.filter(pk=spouse.pk).update(disability_category="4", disability_grade=2, self_care="partial",
                                               labour_capacity="none", serious_illness=True,
                                               birth_date=dt.date(1982, 7, 1))  # fmt: skip
    head.refresh_from_db()
    spouse.refresh_from_db()
    Person.objects.filter(pk=daughter.pk).update(birth_date=dt.date(2012, 5, 1), schooling="junior",
                                                 labour_capacity="none")  # fmt: skip
    _person_economy(head, wage=Decimal("2100.50"), employment_cost=Decimal("150"), property=Decimal("12.3"))
    _person_economy(spouse, basic_pension=Decimal("180"), excluded=Decimal("80"), rigid_deduction=Decimal("300"),
                    self_care_failed=3, dibao_recipient=True, obligor_for=head)  # fmt: skip
    _person_economy(daughter, parent2_status="serious_illness", lives_together=True, chose_child_allowance=False)
    _household_economy(h, financial=Decimal("12000"), houses=1, housing_area_m2=Decimal("80.5"), vehicles=0,
                       rigid_medical=Decimal("30000"), rigid_living=Decimal("9000.99"), current_dibao=True,
                       current_dibao_amount=Decimal("523"), gradual_exit_months_used=2)  # fmt: skip
    return h, [head, spouse, daughter]


def _zero_income(**kw: str) -> dict[str, str]:
    out = dict.fromkeys(("wage", "business", "property", "transfer", "support", "basic_pension", "other_pension",
                         "elderly_allowance", "excluded", "employment_cost", "rigid_deduction"), "0.00")  # fmt: skip
    out.update(kw)
    return out


def _flags(**kw) -> dict:
    out = {"clergy_apart_years": 0, **dict.fromkeys(("detained", "missing", "single_parent", "nursing",
           "tekun_recipient", "dibao_recipient", "no_civil_capacity", "work_injury_care", "chose_child_allowance"),
           False)}  # fmt: skip
    out.update(kw)
    return out


def test_household_input_is_the_contract_shape(personas):
    h, (head, spouse, daughter) = _family(personas)
    got = household_input(h, ON)
    assert got == {
        "id": h.household_no,
        "area": h.area_code,
        "urban_rural": "rural",
        "assets": {"financial": "12000.00", "houses": 1, "housing_area_m2": "80.50", "vehicles": 0},
        "rigid_expenditure_12m": {"medical": "30000.00", "education": "0.00", "rehabilitation": "0.00",
                                  "living": "9000.99", "other": "0.00"},  # fmt: skip
        "current": {"dibao": True, "dibao_amount": "523.00", "gradual_exit_months_used": 2},
        "members": [
            {"id": str(head.pk), "relation": "applicant", "birth_date": head.birth_date.isoformat(), "sex": head.sex,
             "lives_together": True, "dependent": False, "schooling": "none", "serious_illness": False,
             "self_care_failed": 0, "labour_capacity": "full", "flags": _flags(),
             "income": _zero_income(wage="2100.50", property="12.30", employment_cost="150.00")},
            {"id": str(spouse.pk), "relation": "spouse", "birth_date": spouse.birth_date.isoformat(), "sex": spouse.sex,
             "lives_together": True, "dependent": False, "schooling": "none",
             "disability": {"category": "limb", "grade": 2}, "serious_illness": True, "self_care_failed": 3,
             "labour_capacity": "none", "flags": _flags(dibao_recipient=True),
             "income": _zero_income(basic_pension="180.00", excluded="80.00", rigid_deduction="300.00"),
             "obligor_for": str(head.pk)},
            {"id": str(daughter.pk), "relation": "child", "birth_date": "2012-05-01", "sex": daughter.sex,
             "lives_together": True, "dependent": False, "schooling": "junior", "serious_illness": False,
             "self_care_failed": 0, "labour_capacity": "none", "flags": _flags(), "parents": ["ok", "serious_illness"],
             "income": _zero_income()},
        ],
    }  # fmt: skip
    json.dumps(got)  # plain JSON types only
    assert household_inputs(Household.objects.filter(pk=h.pk), on=ON) == [got]


def test_only_current_members_and_missing_facts_are_said(personas):
    h, (head, spouse, daughter) = _family(personas)
    bare = make_household(personas.caseworker_a, villages(TOWN_A)[1], size=2, name="李四")
    bare_head, bare_spouse = _members(bare)
    Person.objects.filter(pk=bare_spouse.pk).update(self_care="none", disability_category="6", disability_grade=1)
    # the spouse died before the date, the daughter moved out
    Person.objects.filter(pk=spouse.pk).update(death_date=ON - dt.timedelta(days=1))
    person_leave(actor=personas.caseworker_a, person=daughter, left_on=timezone.localdate(), reason="迁出")
    out = household_inputs(Household.objects.filter(pk__in=[h.pk, bare.pk]).order_by("-household_no"), on=ON)
    assert [o["id"] for o in out] == sorted([h.household_no, bare.household_no], reverse=True)
    got = {o["id"]: o for o in out}
    full, missing = got[h.household_no], got[bare.household_no]
    assert [m["id"] for m in full["members"]] == [str(head.pk)] and "facts" not in full
    # someone who dies on the date is still a member that day
    Person.objects.filter(pk=spouse.pk).update(death_date=ON)
    assert [m["id"] for m in household_input(h, ON)["members"]] == [str(head.pk), str(spouse.pk)]
    # no economy rows: zeros, the registry's self-care level, and a marker
    assert missing["facts"] == "missing"
    assert missing["assets"] == {"financial": "0.00", "houses": 0, "housing_area_m2": "0.00", "vehicles": 0}
    assert set(missing["rigid_expenditure_12m"].values()) == {"0.00"}
    assert missing["current"] == {"dibao": False, "dibao_amount": "0.00", "gradual_exit_months_used": 0}
    by_id = {m["id"]: m for m in missing["members"]}
    assert by_id[str(bare_head.pk)]["self_care_failed"] == 0 and by_id[str(bare_spouse.pk)]["self_care_failed"] == 5
    assert by_id[str(bare_spouse.pk)]["disability"] == {"category": "mental", "grade": 1}
    assert all(m["income"] == _zero_income() and m["flags"] == _flags() and m["lives_together"] for m in by_id.values())
    # one member without facts is enough to say so
    _household_economy(bare)
    _person_economy(bare_head)
    assert household_input(bare, ON)["facts"] == "missing"
    _person_economy(bare_spouse)
    assert "facts" not in household_input(bare, ON)


def test_obligor_outside_the_household_is_not_named(personas):
    h, (head, spouse, _) = _family(personas)
    other = _members(make_household(personas.caseworker_a, villages(TOWN_A)[0], size=1, name="王五"))[0]
    PersonEconomy.objects.filter(person=spouse).update(obligor_for=other)
    assert "obligor_for" not in household_input(h, ON)["members"][1]


def test_constant_number_of_queries(personas, django_assert_max_num_queries):
    village = villages(TOWN_A)[0]
    _family(personas)
    with django_assert_max_num_queries(2):
        assert len(household_inputs(Household.objects.all(), on=ON)) == 1
    for i in range(6):
        make_household(personas.caseworker_a, village, size=1 + i % 3, name=f"赵{'一二三四五六'[i]}")
    with django_assert_max_num_queries(2):
        out = household_inputs(Household.objects.all(), on=ON)
    assert len(out) == 7 and sum(len(o["members"]) for o in out) == Person.objects.count()
    one = Household.objects.first()
    with django_assert_max_num_queries(2):
        household_input(one, ON)


def test_the_engine_accepts_it(personas):
    """The engine's own input parser takes the adapter's output (skipped while the engine has no parser)."""
    inputs = pytest.importorskip("jiuzhu.policy.inputs")
    if not hasattr(inputs, "columns_from_json"):
        pytest.skip("the policy engine has no JSON parser yet")
    _family(personas)
    cols = inputs.columns_from_json(household_inputs(Household.objects.all(), on=ON), ON)
    assert cols.n_households == 1 and cols.n_persons == 3


# --- synthetic households get them -------------------------------------------------------------------------


def test_synth_fills_the_economy_of_every_household(tree):
    res = generate(county=COUNTY, households=150, seed=3)
    assert HouseholdEconomy.objects.count() == 150 and PersonEconomy.objects.count() == res.persons
    assert set(HouseholdEconomy.objects.values_list("source", "as_of", "version").distinct()) == {("synthetic", G.AS_OF, 1)}
    assert not PersonEconomy.objects.exclude(area_code=F("person__area_code")).exists()
    # stored as the model computes it from the stored persons (so it can be recomputed from the database)
    for h in Household.objects.select_related("economy").order_by("?")[:40]:
        persons = list(h.members.select_related("economy").order_by("pk"))
        e = synth_economy(seed=3, household_no=h.household_no, urban_rural=h.urban_rural, members=persons, as_of=G.AS_OF)
        assert h.economy.financial == Decimal(e.household.financial) and h.economy.houses == e.household.houses
        assert h.economy.rigid_living == Decimal(e.household.rigid_living)
        for p, f in zip(persons, e.persons, strict=True):
            assert isinstance(p.economy.wage, Decimal) and p.economy.wage == Decimal(f.wage)
            assert (p.economy.basic_pension, p.economy.support) == (Decimal(f.basic_pension), Decimal(f.support))
            assert p.economy.self_care_failed == f.self_care_failed and p.economy.lives_together == f.lives_together
            assert p.economy.obligor_for_id == (None if f.obligor_for is None else persons[f.obligor_for].pk)
    out = household_inputs(Household.objects.all(), on=G.AS_OF)
    assert len(out) == 150 and not [o for o in out if "facts" in o]
    assert sum(o["current"]["dibao"] for o in out) > 10
