from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from jiuzhu.core import crypto, idnumber, masking
from jiuzhu.core.audit import verify_chain
from jiuzhu.core.divisions import is_known_address_code
from jiuzhu.core.models import AuditEvent, Division
from jiuzhu.registry.models import Household, HouseholdEconomy, Membership, Person, PersonEconomy, Relation
from jiuzhu.synth import economy as ECON
from jiuzhu.synth import generator as G
from jiuzhu.synth.load import build_plan, generate, target_counties

from .scan import find_plaintext, registry_tables, scan_tables

COUNTY = "610902"


def _economy(obj: Household | Person) -> dict:
    """The economy row without its keys (the obligor as a person number within the household)."""
    e = obj.economy
    out = {f.attname: getattr(e, f.attname) for f in e._meta.concrete_fields
           if f.attname not in ("id", "person_id", "household_id", "obligor_for_id")}  # fmt: skip
    if isinstance(e, PersonEconomy):
        out["obligor"] = e.obligor_for.id_number_bi if e.obligor_for else None
    return out


def _snapshot() -> list[dict]:
    """Every synthetic household with its members, without ids, timestamps and ciphertexts (random nonces);
    ciphertexts are decrypted instead, so the comparison covers the protected values too."""
    out = []
    for h in Household.objects.filter(is_synthetic=True).order_by("household_no"):
        members = []
        for p in Person.objects.filter(household=h).order_by("id"):
            members.append({
                "name": p.name, "id": crypto.decrypt(p.id_number_enc, context="person.id_number"),
                "id_bi": p.id_number_bi, "id_masked": p.id_number_masked, "sex": p.sex, "birth": p.birth_date,
                "relation": p.relation, "phone": crypto.decrypt(p.phone_enc, context="person.phone") if p.phone_enc else "",
                "phone_bi": p.phone_bi, "phone_masked": p.phone_masked, "hukou": p.hukou_area_code,
                "residence": p.residence_area_code, "ur": p.urban_rural, "dis": (p.disability_category, p.disability_grade),
                "ill": p.serious_illness,
                "diag": crypto.decrypt(p.diagnosis_enc, context="person.diagnosis") if p.diagnosis_enc else "",
                "school": p.schooling, "labour": p.labour_capacity, "care": p.self_care, "synthetic": p.is_synthetic,
                "joined": list(p.memberships.values_list("household__household_no", "relation", "joined_on", "left_on")),
                "economy": _economy(p),
            })  # fmt: skip
        out.append({
            "no": h.household_no, "area": h.area_id, "address": h.address, "ur": h.urban_rural, "hukou": h.hukou_area_code,
            "head": h.head_name, "count": h.member_count, "bank": h.bank_name, "bank_bi": h.bank_account_bi,
            "account": crypto.decrypt(h.bank_account_enc, context="household.bank_account"),
            "account_masked": h.bank_account_masked, "status": h.status, "members": members, "economy": _economy(h),
        })  # fmt: skip
    return out


def _delete_synthetic() -> None:
    Membership.objects.filter(person__is_synthetic=True).delete()
    Person.objects.filter(is_synthetic=True).delete()
    Household.objects.filter(is_synthetic=True).delete()


# --- the pure model ----------------------------------------------------------------------------------------


def test_model_is_deterministic_by_seed(tree):
    plan, _ = build_plan([COUNTY], seed=1)
    a = [dataclasses.astuple(h) for h in G.PopulationModel(plan, seed=42).households(400)]
    b = [dataclasses.astuple(h) for h in G.PopulationModel(plan, seed=42).households(400)]
    c = [dataclasses.astuple(h) for h in G.PopulationModel(plan, seed=43).households(400)]
    assert repr(a).encode() == repr(b).encode()  # byte for byte
    assert a != c
    # the as-of date is part of the input, not today's date
    d = [dataclasses.astuple(h) for h in G.PopulationModel(plan, seed=42, as_of=dt.date(2020, 1, 1)).households(400)]
    assert d != a and all(p[3] < dt.date(2020, 1, 1) for h in d for p in h[8])


def test_model_rates_are_plausible(tree):
    plan, _ = build_plan([COUNTY], seed=1)
    hhs = list(G.PopulationModel(plan, seed=7).households(20000))
    persons = [p for h in hhs for p in h.members]
    n = len(persons)
    ages = {id(p): idnumber.age_on(p.birth_date, G.AS_OF) for p in persons}
    assert 2.3 < n / len(hhs) < 3.3  # mean household size
    kinds = collections.Counter(h.kind for h in hhs)
    assert set(kinds) == {k for k, _ in G.KINDS}
    assert 0.18 < kinds["single_elderly"] / len(hhs) < 0.26
    disabled = [p for p in persons if p.disability_category]
    assert 0.045 < len(disabled) / n < 0.075  # ~6 %
    assert all(p.disability_grade in (1, 2, 3, 4) for p in disabled)
    assert all(p.disability_grade is None for p in persons if not p.disability_category)
    grades = collections.Counter(p.disability_grade for p in disabled)
    assert (grades[3] + grades[4]) / len(disabled) > 0.6  # skewed to the milder grades
    assert 0.02 < sum(p.serious_illness for p in persons) / n < 0.045  # ~3 %
    assert all(bool(p.diagnosis) == p.serious_illness for p in persons)
    assert 0.45 < sum(p.sex == "1" for p in persons) / n < 0.55
    adults = [p for p in persons if 18 <= ages[id(p)] < 75]
    assert sum(bool(p.phone) for p in adults) / len(adults) > 0.85
    assert not any(p.phone for p in persons if ages[id(p)] < 16)
    assert all(G.PHONE_PREFIXES.count(p.phone[:3]) == 1 and len(p.phone) == 11 for p in persons if p.phone)
    # schooling and labour by age
    pupils = [p for p in persons if 7 <= ages[id(p)] <= 11]
    assert sum(p.schooling == "primary" for p in pupils) / len(pupils) > 0.9
    assert all(p.schooling == "none" for p in persons if ages[id(p)] < 3 or ages[id(p)] > 24)
    assert all(p.labour_capacity == "none" for p in persons if ages[id(p)] < 16)
    working = [p for p in persons if 20 <= ages[id(p)] < 60 and not p.disability_category and not p.serious_illness]
    assert sum(p.labour_capacity == "full" for p in working) / len(working) > 0.9
    severe = [p for p in persons if p.disability_grade == 1]
    assert sum(p.self_care != "full" for p in severe) / len(severe) > 0.6
    # retired address codes: only 612401 for 汉滨区, and more often the older the person
    old = [p for p in persons if p.id_number.startswith("612401")]
    assert {p.id_number[:6] for p in persons} == {"610902", "612401"}
    assert all(p.birth_date.year < 1999 for p in old)
    born_50s = [p for p in persons if p.birth_date.year < 1960]
    born_90s = [p for p in persons if 1990 <= p.birth_date.year < 1999]
    share = lambda ps: sum(p.id_number.startswith("612401") for p in ps) / len(ps)  # noqa: E731
    assert share(born_50s) > 0.6 > share(born_90s) > 0.05
    # names: common surnames lead, some compound surnames, a few minority names with ·
    surnames = collections.Counter(p.name[0] for p in persons if "·" not in p.name)
    assert {"王", "李", "张"} <= {s for s, _ in surnames.most_common(4)}
    compound = sum(p.name[:2] in masking.COMPOUND_SURNAMES for p in persons)
    assert 0.0005 < compound / n < 0.005
    assert 0 < sum("·" in p.name for p in persons) / n < 0.005
    assert all(2 <= len(p.name) <= 4 for p in persons if "·" not in p.name)
    # no two members of a household share a name; every household has exactly one head, at least 16 years old
    for h in hhs:
        assert len({p.name for p in h.members}) == len(h.members)
        heads = [p for p in h.members if p.relation == Relation.HEAD]
        assert len(heads) == 1 and ages[id(heads[0])] >= 16
        assert sum(p.relation == Relation.SPOUSE for p in h.members) <= 1
    # no birth date is over-used (a clamp would pile people up on one day)
    by_day = collections.Counter(p.birth_date for p in persons)
    assert by_day.most_common(1)[0][1] < 40
    # urban share follows the village classes (communities weigh less)
    urban = sum(h.urban_rural == "urban" for h in hhs) / len(hhs)
    assert 0.05 < urban < 0.5


def test_income_is_a_function_of_stored_facts(tree):
    plan, _ = build_plan([COUNTY], seed=1)
    hhs = list(G.PopulationModel(plan, seed=3).households(3000))
    totals = sorted(h.income.total for h in hhs)
    assert totals[len(totals) // 2] > 3000 and totals[-1] < 400_000
    assert all(v >= 0 for h in hhs for v in h.income.as_dict().values())
    assert sum(h.income.pension > 0 for h in hhs) > 0.3 * len(hhs)
    assert sum(h.income.wage > 0 for h in hhs) > 0.3 * len(hhs)
    for h in hhs[:200]:
        again = G.synth_income(seed=3, household_no=h.household_no, urban_rural=h.urban_rural, members=h.members)
        assert again == h.income
        # the annual summary is 12 × the monthly amounts of the same model
        assert h.income.wage == 12 * sum(p.wage for p in h.economy.persons)
        assert h.income.total == 12 * sum(p.counted() + p.excluded for p in h.economy.persons)


def test_economy_rates_are_plausible(tree):
    """Against the shaping standards (800 rural, 950 urban a person and month) about 30–50 % of households have a
    lower income, about 10 % are between 1 and 1.5 times it; some have savings of a year or more, or a car; some
    receive 低保 now (a few of them in 渐退); the values are whole yuan, never float."""
    plan, _ = build_plan([COUNTY], seed=1)
    hhs = list(G.PopulationModel(plan, seed=5).households(6000))
    n = len(hhs)
    below = band = savings = cars = dibao = exiting = 0
    for h in hhs:
        e = h.economy
        unit = [p for p in e.persons if p.lives_together]
        income = sum(p.counted() for p in unit)
        line = ECON.SHAPING_STANDARD[h.urban_rural] * max(1, len(unit))
        below += income < line
        band += line <= income < 1.5 * line
        savings += e.household.financial > 12 * income
        cars += e.household.vehicles > 0
        dibao += e.household.current_dibao
        exiting += e.household.gradual_exit_months_used > 0
        assert len(e.persons) == len(h.members)
        values = [getattr(x, f) for x in (*e.persons, e.household) for f in x.__slots__]
        assert not [v for v in values if isinstance(v, float)]
        assert all(v >= 0 for v in values if isinstance(v, int))
    assert 0.30 < below / n < 0.50 and 0.07 < band / n < 0.20
    assert 0.05 < savings / n < 0.35 and 0.02 < cars / n < 0.15
    assert 0.15 < dibao / n < 0.40 and exiting > 0
    persons = [(m, f) for h in hhs for m, f in zip(h.members, h.economy.persons, strict=True)]
    ages = {id(m): idnumber.age_on(m.birth_date, G.AS_OF) for m, _ in persons}
    assert all(f.self_care_failed == 0 for m, f in persons if m.self_care == "full")
    assert all(4 <= f.self_care_failed <= 6 for m, f in persons if m.self_care == "none")
    assert all(f.basic_pension or f.other_pension for m, f in persons if ages[id(m)] >= 60)
    assert not [f for m, f in persons if ages[id(m)] < 16 and f.wage]
    minors = [f for m, f in persons if ages[id(m)] < 18]
    assert 0.01 < sum(f.parent1_status != "ok" or f.parent2_status != "ok" for f in minors) / len(minors) < 0.3
    assert sum(f.tekun_recipient for _, f in persons) > 0 and sum(f.single_parent for _, f in persons) > 0
    obligors = [(h, f) for h in hhs for f in h.economy.persons if f.obligor_for is not None]
    assert obligors and all(not f.lives_together and h.members[f.obligor_for].relation == Relation.HEAD
                            for h, f in obligors)  # fmt: skip


# --- written to the database -------------------------------------------------------------------------------


def test_generate_writes_what_the_model_yields_and_is_deterministic(tree):
    res = generate(county=COUNTY, households=300, seed=11)
    assert (res.households, res.counties) == (300, [COUNTY])
    first = _snapshot()
    assert len(first) == 300 and sum(len(h["members"]) for h in first) == res.persons
    # the database holds exactly the model's records
    plan, _ = build_plan([COUNTY], seed=11)
    plan.start_seq = {}
    model = list(G.PopulationModel(plan, seed=11).households(300))
    by_no = {h.household_no: h for h in model}
    for row in first:
        h = by_no[row["no"]]
        assert (row["area"], row["address"], row["ur"], row["account"], row["bank"]) == (
            h.area_code, h.address, h.urban_rural, h.bank_account, h.bank_name)
        assert [(m["name"], m["id"], m["phone"], m["relation"]) for m in row["members"]] == [
            (p.name, p.id_number, p.phone, p.relation) for p in h.members]
        # incomes can be recomputed from the stored persons
        stored = Person.objects.filter(household__household_no=row["no"]).order_by("id")
        assert G.synth_income(seed=11, household_no=row["no"], urban_rural=row["ur"], members=list(stored)) == h.income
    # same seed again on an emptied registry: identical rows
    _delete_synthetic()
    generate(county=COUNTY, households=300, seed=11)
    assert _snapshot() == first
    # a second run into the same county appends: new numbers, no duplicate ID
    generate(county=COUNTY, households=100, seed=11)
    assert Household.objects.count() == 400
    assert Person.objects.values("id_number_bi").distinct().count() == Person.objects.count()
    nos = list(Household.objects.values_list("household_no", flat=True))
    assert len(set(nos)) == 400


def test_stored_exactly_as_services_store(tree):
    generate(county=COUNTY, households=200, seed=5)
    persons = list(Person.objects.all())
    assert persons and all(p.is_synthetic for p in persons)
    for p in persons:
        number = crypto.decrypt(p.id_number_enc, context="person.id_number")
        parsed = idnumber.parse(number, known_address=is_known_address_code)  # valid, known (incl. retired) code
        assert (parsed.birth_date, parsed.sex) == (p.birth_date, p.sex)
        assert p.id_number_bi == crypto.blind_index(number, purpose="id_number")
        assert p.id_number_masked == masking.mask_id(number)
        if p.phone_enc:
            phone = crypto.decrypt(p.phone_enc, context="person.phone")
            assert p.phone_bi == crypto.blind_index(phone, purpose="phone") and p.phone_masked == masking.mask_phone(phone)
        else:
            assert p.phone_bi == p.phone_masked == ""
        assert p.area_code == p.household.area_code and p.hukou_area_code == p.area_code
        m = p.memberships.get()
        assert (m.household_id, m.relation, m.area_code, m.left_on) == (p.household_id, p.relation, p.area_code, None)
        assert p.birth_date <= m.joined_on <= G.AS_OF
    for h in Household.objects.all():
        account = crypto.decrypt(h.bank_account_enc, context="household.bank_account")
        assert h.bank_account_bi == crypto.blind_index(account, purpose="bank_account")
        assert h.bank_account_masked == masking.mask_account(account)
        bank = next(b for b in G.BANKS if b[0] == h.bank_name)
        assert account.startswith(bank[1]) and len(account) == 19 and _luhn(account)
        assert h.household_no.startswith(f"H{h.area_id}") and len(h.household_no) == 18
        assert h.hukou_area_code == COUNTY and h.is_synthetic and h.version == 1
        members = list(h.members.all())
        assert h.member_count == len(members)
        assert h.head_name == next(p.name for p in members if p.relation == Relation.HEAD)
        village = Division.objects.get(code=h.area_id)
        assert h.urban_rural == ("urban" if village.urban_rural_class.startswith("1") else "rural")
    # one audit event with the counts and the seed; the chain stays intact
    ev = AuditEvent.objects.get(action="synth.generate")
    assert ev.detail["households"] == 200 and ev.detail["persons"] == len(persons) and ev.detail["seed"] == 5
    assert verify_chain() == []
    # a service can add to a synthetic village afterwards: the household number sequence continues
    from jiuzhu.registry.services import next_household_no

    last = Household.objects.order_by("-household_no").values_list("area_id", "household_no").first()
    assert next_household_no(last[0]) == f"H{last[0]}{int(last[1][-5:]) + 1:05d}"


def _luhn(number: str) -> bool:
    digits = [int(c) for c in number][::-1]
    return sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)) % 10 == 0


def test_no_plaintext_in_any_registry_column(tree):
    generate(county=COUNTY, households=300, seed=9)
    # the scanner finds what it should (so an empty result means something)
    sample = G.PopulationModel(build_plan([COUNTY], seed=9)[0], seed=9).household()
    text = f"{sample.members[0].id_number} {sample.bank_account} x{sample.address}"
    kinds = {k for k, _ in find_plaintext(text)}
    assert kinds == {"id_number", "bank_account"}
    assert find_plaintext("tel 13800138000;") == [("phone", "13800138000")]
    assert find_plaintext("0123456789abcdef0123456789abcdef") == []  # a digest
    tables = registry_tables()
    assert {"registry_household", "registry_person", "registry_membership"} <= set(tables)
    assert list(scan_tables(tables + ["core_auditevent"])) == []
    # and none of the actual values appears anywhere, as a substring of any column
    plaintexts = set()
    for p in Person.objects.all():
        plaintexts.add(crypto.decrypt(p.id_number_enc, context="person.id_number"))
        if p.phone_enc:
            plaintexts.add(crypto.decrypt(p.phone_enc, context="person.phone"))
    plaintexts |= {crypto.decrypt(h.bank_account_enc, context="household.bank_account") for h in Household.objects.all()}
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f"SELECT * FROM {qn(table)}")  # noqa: S608
            blob = "\n".join("\t".join("" if v is None else str(v) for v in row) for row in cur.fetchall())
            assert not [v for v in plaintexts if v in blob], table
    # planted plaintext is caught
    h = Household.objects.first()
    Household.objects.filter(pk=h.pk).update(address=f"住址 {sample.members[0].id_number}")
    assert [(t, c, k) for t, c, k, _ in scan_tables(["registry_household"])] == [
        ("registry_household", "address", "id_number")]


def test_retired_codes_and_villages_created_first(tree):
    """旬阳市 (610981) replaced 旬阳县 610928 in 2021, which had replaced 612429 in 2000; it has no villages yet."""
    assert not Division.objects.filter(level=5, code__startswith="610981").exists()
    res = generate(county="610981", households=1500, seed=2)
    assert res.villages_created > 0
    assert Division.objects.filter(level=5, code__startswith="610981", is_synthetic=True).count() == res.villages_created
    codes = collections.Counter()
    for p in Person.objects.filter(area_code__startswith="610981"):
        number = crypto.decrypt(p.id_number_enc, context="person.id_number")
        idnumber.parse(number, known_address=is_known_address_code)
        codes[number[:6]] += 1
        if number.startswith("610928"):
            assert p.birth_date.year < 2021
        if number.startswith("612429"):
            assert p.birth_date.year < 1999
    assert set(codes) == {"610981", "610928", "612429"}


def test_province_spreads_over_counties_and_pool_path(tree):
    counties = target_counties(province="61")
    assert len(counties) > 50 and "610902" in counties and "610928" not in counties  # current counties only
    res = generate(province="61", households=400, seed=4, workers=1)  # a spawn worker does the encryption
    assert res.workers == 1 and res.counties == counties
    used = set(Household.objects.values_list("area_code", flat=True))
    assert len({a[:6] for a in used}) > 40
    p = Person.objects.order_by("?").first()
    number = crypto.decrypt(p.id_number_enc, context="person.id_number")
    assert p.id_number_bi == crypto.blind_index(number, purpose="id_number")
    ev = AuditEvent.objects.get(action="synth.generate")
    assert ev.object_area == "61" and ev.detail["counties"] == counties


def test_bulk_mode_restores_every_index_and_constraint(tree):
    def catalogue() -> set:
        """Every index and constraint of the three tables: name, columns, kind, uniqueness, target."""
        with connection.cursor() as cur:
            return {
                (t, name, repr(sorted((k, v) for k, v in info.items())))
                for t in ("registry_household", "registry_person", "registry_membership", "registry_householdeconomy",
                      "registry_personeconomy")
                for name, info in connection.introspection.get_constraints(cur, t).items()
            }

    before = catalogue()
    res = generate(county=COUNTY, households=150, seed=6, bulk=True)
    assert catalogue() == before
    assert Household.objects.filter(is_synthetic=True).count() == 150 == res.households
    assert HouseholdEconomy.objects.count() == 150 and PersonEconomy.objects.count() == res.persons
    # the restored unique constraint still rejects a duplicate ID number
    from django.db import IntegrityError, transaction

    p = Person.objects.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(household=p.household, area_code=p.area_code, name="重复", id_number_enc="x",
                              id_number_bi=p.id_number_bi, id_number_masked="x", sex="1", birth_date=p.birth_date)


def test_synth_command(tree):
    out = io.StringIO()
    call_command("synth", "--county", COUNTY, "--households", "120", "--seed", "3", stdout=out)
    assert "120 households" in out.getvalue() and Household.objects.count() == 120
    with pytest.raises(CommandError, match="not in the division table"):
        call_command("synth", "--county", "999999", "--households", "5", stdout=io.StringIO())
    with pytest.raises(CommandError, match="retired"):
        call_command("synth", "--county", "610928", "--households", "5", stdout=io.StringIO())


# --- demo-setup --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_setup_is_idempotent():
    out = io.StringIO()
    call_command("demo_setup", "--households", "60", stdout=out)
    text = out.getvalue()
    assert "divisions: loaded" in text and "synthesized 60" in text and "demo accounts ready" in text
    assert Division.objects.filter(level=1).count() > 30
    counts = (Household.objects.count(), Person.objects.count(), Division.objects.count())
    assert counts[0] == 60 and Household.objects.filter(area_code__startswith="610902").count() == 60
    from jiuzhu.accounts.models import User

    assert User.objects.filter(is_demo=True, username="rv_hanbin", area_id="610902").exists()
    out = io.StringIO()
    call_command("demo_setup", "--households", "60", stdout=out)
    text = out.getvalue()
    assert "reused" in text and "synthesized" not in text and "loaded" not in text
    assert (Household.objects.count(), Person.objects.count(), Division.objects.count()) == counts
    assert AuditEvent.objects.filter(action="synth.generate").count() == 1


@pytest.mark.django_db
def test_demo_setup_refuses_outside_demo_mode():
    with override_settings(DEMO_MODE=False), pytest.raises(CommandError, match="demo mode"):
        call_command("demo_setup", "--households", "5", stdout=io.StringIO())
    assert Household.objects.count() == 0


def test_a_failed_run_leaves_nothing_behind(tree):
    """A clash with an ID number registered elsewhere (another county, so the generator cannot know it) makes
    the write fail — in the COPY thread on PostgreSQL — and the whole run rolls back."""
    from django.db import IntegrityError

    plan, _ = build_plan([COUNTY], seed=8)
    # the 300th household's head: the failure happens after several chunks have been written
    clash = list(G.PopulationModel(plan, seed=8).households(300))[-1].members[0].id_number
    other = Division.objects.filter(level=5, code__startswith="610921").values_list("code", flat=True).first()
    Person.objects.create(area_code=other, name="外县人", id_number_enc=crypto.encrypt(clash, context="person.id_number"),
                          id_number_bi=crypto.blind_index(clash, purpose="id_number"), id_number_masked=masking.mask_id(clash),
                          sex="1", birth_date=dt.date(1970, 1, 1))  # fmt: skip
    with pytest.raises(IntegrityError):
        generate(county=COUNTY, households=400, seed=8, batch=50)
    assert Household.objects.count() == 0 and Person.objects.count() == 1 and Membership.objects.count() == 0
    assert not HouseholdEconomy.objects.exists() and not PersonEconomy.objects.exists()
    assert not AuditEvent.objects.filter(action="synth.generate").exists()
