"""``registry.columns`` gives the engine exactly the columns the JSON path gives (``household_inputs`` then
``columns_from_json``), on a synthetic county with the awkward cases added by hand."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from jiuzhu.policy import inputs as pin
from jiuzhu.registry.columns import registry_columns
from jiuzhu.registry.models import Household, HouseholdEconomy, Person, PersonEconomy
from jiuzhu.registry.policy_input import household_inputs
from jiuzhu.synth import generator as G
from jiuzhu.synth.load import generate
from jiuzhu.testing.fixtures import COUNTY

ON = dt.date(2026, 3, 1)


def _json_path(pks: list[int], on: dt.date) -> tuple[pin.Columns | None, dict[str, list[int]]]:
    """What evaluate_households does before the engine: the classes of households and the columns of the rest."""
    data = household_inputs(Household.objects.filter(pk__in=pks).order_by("pk"), on=on)
    by_no = dict(Household.objects.filter(pk__in=pks).values_list("household_no", "pk"))
    classes: dict[str, list[int]] = {"missing": [], "empty": [], "invalid": []}
    ready = []
    for d in data:
        if d.get("facts") == "missing":
            classes["missing"].append(by_no[d["id"]])
        elif not d["members"]:
            classes["empty"].append(by_no[d["id"]])
        else:
            ready.append(d)
    skipped: dict[int, list[tuple[str, str]]] = {}
    cols = pin.columns_from_json(ready, on, prefix="households", skipped=skipped) if ready else None
    classes["invalid"] = [by_no[ready[i]["id"]] for i in skipped]
    classes["ok"] = [by_no[d["id"]] for i, d in enumerate(ready) if i not in skipped]
    return cols, classes


def _awkward() -> dict[str, int]:
    """Households the fast path must not get wrong, by what is odd about them."""
    hs = list(Household.objects.order_by("pk")[:60])
    members = {h.pk: list(h.members.order_by("relation", "birth_date", "pk")) for h in hs}
    big = [h for h in hs if len(members[h.pk]) >= 3]
    out: dict[str, int] = {}
    h = big[0]
    PersonEconomy.objects.filter(person=members[h.pk][1]).delete()
    out["member_without_economy"] = h.pk
    h = hs[1] if hs[1] not in big[:1] else hs[2]
    HouseholdEconomy.objects.filter(household=h).delete()
    out["household_without_economy"] = h.pk
    h = big[1]
    Person.objects.filter(pk=members[h.pk][1].pk).update(relation="02")
    out["two_heads"] = h.pk
    h = big[2]
    Person.objects.filter(pk=members[h.pk][0].pk).update(disability_category="4", disability_grade=None)
    out["disability_without_grade"] = h.pk
    h = big[3]
    p = members[h.pk][2]
    PersonEconomy.objects.filter(person=p).update(obligor_for=p)
    out["own_supporter"] = h.pk
    h = big[4]
    a, b = members[h.pk][0], members[h.pk][2]
    PersonEconomy.objects.filter(person=a).update(obligor_for=b)
    Person.objects.filter(pk=members[h.pk][1].pk).update(death_date=ON - dt.timedelta(days=3))
    Person.objects.filter(pk=members[h.pk][1].pk).update(disability_category="2", disability_grade=3)
    out["supporter_and_dead"] = h.pk
    h = big[5]
    Person.objects.filter(pk=members[h.pk][1].pk).update(birth_date=ON + dt.timedelta(days=10))
    PersonEconomy.objects.filter(person=members[h.pk][0]).update(obligor_for=members[h.pk][1])  # born later
    out["born_after"] = h.pk
    h = big[6]
    Person.objects.filter(pk=members[h.pk][0].pk).update(schooling="bogus")
    out["unknown_choice"] = h.pk
    h = big[7]
    Person.objects.filter(household=h).update(death_date=ON - dt.timedelta(days=40))
    out["all_dead"] = h.pk
    h = big[8]
    Person.objects.filter(pk=members[h.pk][0].pk).update(
        disability_category="", disability_grade=2, self_care="none"
    )
    PersonEconomy.objects.filter(person=members[h.pk][1]).update(parent1_status="dead", wage="1234.56")
    out["grade_without_category"] = h.pk
    h = big[9]
    assert members[h.pk][0].relation == "02"
    Person.objects.filter(pk=members[h.pk][0].pk).update(death_date=ON - dt.timedelta(days=20))
    out["head_dead"] = h.pk
    return out


@pytest.mark.django_db(transaction=False)
def test_same_columns_as_the_json_path(tree):
    generate(county=COUNTY, households=260, seed=11, as_of=G.AS_OF)
    awkward = _awkward()
    pks = list(Household.objects.values_list("pk", flat=True))
    random.Random(5).shuffle(pks)  # any order in
    for on in (dt.date(2025, 7, 1), ON):  # ON last: the awkward cases below are read on it
        fast = registry_columns(pks + [pks[0]], on)  # duplicates do no harm
        cols, classes = _json_path(pks, on)
        assert sorted(fast.missing_facts) == sorted(classes["missing"])
        assert sorted(fast.no_members) == sorted(classes["empty"])
        assert sorted(fast.fallback) == sorted(classes["invalid"])
        assert fast.households.tolist() == sorted(classes["ok"])
        assert cols is not None and fast.columns.n_households == cols.n_households > 200
        assert fast.columns.n_persons == cols.n_persons
        assert fast.columns.household_of.tolist() == cols.household_of.tolist()
        assert fast.columns.area.tolist() == cols.area.tolist()
        for name, col in cols.person.items():
            assert fast.columns.person[name].dtype == col.dtype, name
            assert np.array_equal(fast.columns.person[name], col), name
        for name, col in cols.household.items():
            assert fast.columns.household[name].dtype == col.dtype, name
            assert np.array_equal(fast.columns.household[name], col), name
    # the awkward ones landed where the JSON path puts them
    assert awkward["member_without_economy"] in fast.missing_facts
    assert awkward["household_without_economy"] in fast.missing_facts
    assert awkward["all_dead"] in fast.no_members
    for k in ("two_heads", "disability_without_grade", "own_supporter", "unknown_choice"):
        assert awkward[k] in fast.fallback, k
    for k in ("supporter_and_dead", "born_after", "grade_without_category", "head_dead"):
        assert awkward[k] in fast.households, k
    # the head died: the spouse stands in as the applicant, so the household is still evaluated
    row = fast.households.tolist().index(awkward["head_dead"])
    persons = np.flatnonzero(fast.columns.household_of == row)
    assert fast.columns.person["relation"][persons].tolist()[0] == 0
    assert (fast.columns.person["relation"][persons] == 0).sum() == 1
    # a supporter kept, pointing at the right row
    assert (fast.columns.person["obligor_for"] >= 0).sum() == (cols.person["obligor_for"] >= 0).sum() > 0
