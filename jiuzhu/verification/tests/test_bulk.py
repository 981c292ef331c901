"""Bulk re-verification (``verification.bulk``): the SQL core against ``assess.py``, the job against the
interactive run (``services._run``) household by household, the job's progress and scope, the command."""

from __future__ import annotations

import copy
import datetime as dt
import io
import itertools
import json
import random
from collections import Counter
from decimal import Decimal

import pyarrow as pa
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from jiuzhu.batch.models import JobRun
from jiuzhu.cases import services as case_services
from jiuzhu.cases.models import Signature
from jiuzhu.cases.tests.kit import head_id, registered_household, signed
from jiuzhu.registry.models import HouseholdEconomy
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, villages
from jiuzhu.verification import assess, bulk, services
from jiuzhu.verification.models import FeedRecord, Finding, VerificationObjection, VerificationRun
from jiuzhu.verification.sources import SOURCES

ON = dt.date(2025, 12, 15)
D = dt.date
_key = itertools.count()


# --- the core alone: random worlds, compute() against assess.py (no database) --------------------------------

KINDS = [("hrss", "wage"), ("tax", "wage"), ("housing_fund", "wage"), ("hrss", "pension"), ("hrss", "unemployment"),
         ("real_estate", "house"), ("vehicle", "vehicle"), ("bank", "deposit"), ("bank", "securities"),
         ("bank", "insurance"), ("market", "business"), ("funeral", "death"), ("hukou", "death"),
         ("hukou", "registration"), ("housing_fund", "fund_balance")]  # fmt: skip


def _world(seed: int, households: int = 30):
    rng = random.Random(seed)
    data, bis, recs = {}, {}, []
    for h in range(households):
        hh = 100 + h
        bis[hh], members = {}, []
        for p in range(rng.randint(1, 4)):
            mid, bi = str(hh * 10 + p), f"{rng.getrandbits(128):032x}"
            bis[hh][mid] = bi
            m = {"id": mid, "relation": "applicant" if p == 0 else "child", "birth_date": "1970-01-01",
                 "income": {"wage": f"{rng.choice([0, 0, 1500, 2000.5, 3000]):.2f}",
                            "other_pension": f"{rng.choice([0, 0, 1000, 2500]):.2f}",
                            "basic_pension": f"{rng.choice([0, 180, 200]):.2f}",
                            "business": f"{rng.choice([0, 0, 0, 500]):.2f}"}}  # fmt: skip
            if p == 1 and rng.random() < 0.5:
                m["obligor_for"] = str(hh * 10)
            members.append(m)
            for _ in range(rng.choice([0, 0, 1, 3, 6, 10, 16])):
                source, kind = rng.choice(KINDS)
                # few distinct months, so that records of one month (two employers, a correction, a
                # deregistration dated like the snapshot) meet
                period = min(D(rng.choice([1965, 2024, 2025, 2025, 2025, 2026]), rng.choice([1, 6, 9, 10, 11, 12]), 1),
                             D(2026, 2, 1))
                amount = None if rng.random() < 0.05 else Decimal(rng.choice([150, 180, 220, 1500, 2100, 2999.99, 5000,
                                                                             9000, 21000, 80000]))  # fmt: skip
                recs.append({
                    "id": len(recs) + 1, "source": source, "kind": kind, "person_bi": bi, "period": period,
                    "amount": amount.quantize(Decimal("0.01")) if amount is not None else None,
                    "quantity": Decimal(rng.choice(["40", "75.50", "120"])) if kind == "house" and rng.random() < 0.9 else None,
                    "category": {"pension": rng.choice(["basic", "employee", ""]),
                                 "vehicle": rng.choice(["car", "truck", "motorcycle", "tricycle", "adapted", "", "ended"]),
                                 "house": rng.choice(["", "", "ended"]),
                                 "business": rng.choice(["active", "closed", ""]),
                                 "registration": rng.choice(["normal", "normal", "moved_out", "cancelled"])}.get(kind, ""),
                    "event_date": D(rng.choice([1958, 2019, 2025, 2026]), rng.randint(1, 12), rng.randint(1, 28))
                    if kind in ("death", "registration") and rng.random() < 0.9 else None,
                    "ref": rng.choice(["", "甲单位", "乙单位"]) if kind == "wage"
                    else rng.choice(["", "U1", "U2"]) if kind in ("house", "vehicle", "business", "deposit", "securities",
                                                              "insurance") else "",
                })  # fmt: skip
        data[hh] = {"id": f"H{hh}", "area": "610902100001", "urban_rural": "rural", "members": members,
                    "assets": {"financial": f"{rng.choice([0, 1000, 50000]):.2f}", "houses": rng.choice([0, 1, 2]),
                               "housing_area_m2": "60.00", "vehicles": rng.choice([0, 0, 1])}}  # fmt: skip
    for _ in range(10):  # records of persons outside the registry
        recs.append({"id": len(recs) + 1, "source": "tax", "kind": "wage", "person_bi": f"{rng.getrandbits(128):032x}",
                     "period": D(2025, 11, 1), "amount": Decimal("100.00"), "quantity": None, "category": "",
                     "event_date": None, "ref": ""})  # fmt: skip
    return data, bis, pa.Table.from_pylist(recs, schema=bulk.RECORDS_SCHEMA)


def _view(o: bulk.Outcome):
    return ([(d.member_id, d.source, d.kind, d.severity, d.declared, d.found, d.text) for d in o.diffs],
            json.dumps(o.assessed, sort_keys=True), o.found)  # fmt: skip


def test_sql_core_matches_assess_on_random_worlds():
    seen: Counter[tuple[str, str]] = Counter()
    for seed in range(12):
        data, bis, records = _world(seed)
        names = {mid: f"成员{mid}" for hh in bis for mid in bis[hh]}
        ref = bulk._outcomes_python(copy.deepcopy(data), bis, names, records, ON)
        members, households = bulk._declared_tables(data, bis)
        comp = bulk.compute(members, households, records, ON)
        got = bulk._outcomes_sql(copy.deepcopy(data), names, members, comp)
        assert set(got) == set(ref)
        for hh in data:
            assert _view(got[hh]) == _view(ref[hh]), (seed, hh)
            seen.update((d.kind, d.severity) for d in ref[hh].diffs)
        counts = {r["hh"]: r for r in comp.households.to_pylist()}
        for hh, o in ref.items():  # the summary columns agree with the differences
            assert counts[hh]["findings"] == len(o.diffs)
            assert counts[hh]["needs_look"] == assess.needs_look(o.diffs)
    assert set(seen) == set(bulk.FINDING_KINDS)  # every kind of difference was exercised


def test_compute_takes_duckdb_relations():
    import duckdb

    data, bis, records = _world(3, households=5)
    members, households = bulk._declared_tables(data, bis)
    con = duckdb.connect()
    a = bulk.compute(con.from_arrow(members), con.from_arrow(households), con.from_arrow(records), ON, con=con)
    b = bulk.compute(members, households, records, ON)
    assert a.households.sort_by("hh").equals(b.households.sort_by("hh"))
    assert a.diffs.sort_by([("hh", "ascending"), ("ord", "ascending")]).equals(b.diffs.sort_by([("hh", "ascending"), ("ord", "ascending")]))
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'jz_%'").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name LIKE 'jz_%'").fetchone() == (0,)


# --- the job against the interactive run ---------------------------------------------------------------------


def _rec(person, source, kind, period, amount=None, *, quantity=None, category="", event_date=None) -> FeedRecord:
    return FeedRecord(source=source, kind=kind, person_bi=person.id_number_bi, area_code=person.area_code,
                      amount=Decimal(amount) if amount is not None else None,
                      quantity=Decimal(quantity) if quantity is not None else None, category=category,
                      event_date=event_date, period=period, natural_key=f"t{next(_key)}")  # fmt: skip


def _dibao(h) -> None:
    HouseholdEconomy.objects.filter(household=h).update(current_dibao=True, current_dibao_amount=Decimal("300"))


@pytest.fixture
def world(personas):
    cw = personas.caseworker_a
    va, vb = villages(TOWN_A)[:2]
    made = {}
    # wages: a stopped wage (declared 200, last hrss month 2025-06), an undeclared current one, a later record
    # (after the day) and one older than the lookback, both ignored
    h = made["wages"] = registered_household(cw, va, size=3, wage="200", name="王工资")
    head, second, third = h.members.order_by("pk")
    recs = [_rec(head, "hrss", "wage", D(2025, 6, 1), "1800"), _rec(head, "hrss", "wage", D(2025, 4, 1), "1700"),
            _rec(second, "tax", "wage", D(2025, 11, 1), "2800"), _rec(second, "hrss", "wage", D(2025, 10, 1), "2600"),
            _rec(second, "tax", "wage", D(2026, 2, 1), "9000"), _rec(third, "hrss", "wage", D(2024, 6, 1), "5000"),
            _rec(third, "housing_fund", "wage", D(2025, 12, 1), "230")]  # fmt: skip
    _dibao(h)
    # assets: a car and an exempt motorcycle (declared 0), two houses (declared 1), deposits and insurance
    h = made["assets"] = registered_household(cw, va, size=2, wage="200", financial="1000", name="李资产")
    head, second = h.members.order_by("pk")
    recs += [_rec(head, "vehicle", "vehicle", D(2023, 5, 1), "60000", category="car"),
             _rec(second, "vehicle", "vehicle", D(2024, 5, 1), "3000", category="motorcycle"),
             _rec(head, "real_estate", "house", D(2015, 1, 1), "200000", quantity="80.5"),
             _rec(second, "real_estate", "house", D(2020, 3, 1), "150000", quantity="45"),
             _rec(head, "bank", "deposit", D(2025, 11, 30), "42000.5"),
             _rec(second, "bank", "insurance", D(2025, 11, 30), "3000")]  # fmt: skip
    _dibao(h)
    # a death before the day (the dead member's house still counted, by compare and by the assessment),
    # pensions, an active business and a closed one
    h = made["death"] = registered_household(cw, vb, size=3, wage="0", name="赵养老")
    head, second, third = h.members.order_by("pk")
    recs += [_rec(second, "funeral", "death", D(2025, 9, 1), event_date=D(2025, 8, 28)),
             _rec(second, "hukou", "death", D(2025, 9, 15), event_date=D(2025, 8, 28)),
             _rec(second, "real_estate", "house", D(2010, 1, 1), quantity="100"),
             _rec(head, "real_estate", "house", D(2012, 1, 1), quantity="60"),
             _rec(head, "hrss", "pension", D(2025, 11, 1), "180", category="basic"),
             _rec(head, "hrss", "pension", D(2025, 11, 1), "2500", category="employee"),
             _rec(head, "hrss", "unemployment", D(2025, 10, 1), "900"),
             _rec(third, "market", "business", D(2022, 1, 1), "50000", category="active"),
             _rec(head, "market", "business", D(2022, 1, 1), "50000", category="closed"),
             _rec(third, "funeral", "death", D(2026, 1, 10), event_date=D(2026, 1, 5))]  # fmt: skip
    _dibao(h)
    # nothing found: the engine decides alone
    made["clean"] = registered_household(cw, vb, size=2, wage="200", name="孙清白")
    _dibao(made["clean"])
    # an open application with the family's authorisation (not a recipient)
    h = made["applicant"] = registered_household(cw, va, size=2, wage="100", name="周申请")
    case_services.intake(actor=cw, programme="dibao", channel="window", area_code=va, applicant_name="周申请",
                         applicant_id=head_id(h), household_size=2, received_on=D(2025, 12, 1), signatures=signed("周申请"))  # fmt: skip
    recs.append(_rec(h.members.order_by("pk").first(), "tax", "wage", D(2025, 11, 1), "4000"))
    # an open application without an authorisation: refused, nothing read
    h = made["unsigned"] = registered_household(cw, va, size=1, name="吴未签")
    case_services.intake(actor=cw, programme="dibao", channel="window", area_code=va, applicant_name="吴未签",
                         applicant_id=head_id(h), household_size=1, received_on=D(2025, 12, 1),
                         signatures=[("commitment", "吴未签")])  # fmt: skip
    # out of scope: not a recipient, no case; a recipient in another township
    made["idle"] = registered_household(cw, va, size=1, name="郑无关")
    made["outside"] = registered_household(personas.caseworker_b, villages(TOWN_B)[0], size=1, name="冯外乡")
    _dibao(made["outside"])
    for h in (made["idle"], made["outside"]):
        recs.append(_rec(h.members.first(), "tax", "wage", D(2025, 11, 1), "5000"))
    FeedRecord.objects.bulk_create(recs)
    # objections the township upheld after an earlier run: the third member's salary (a person's finding) and
    # the vehicles of the assets household (the household's): those records are not used again
    for key, kind, who in (("wages", "wage", made["wages"].members.order_by("pk")[2]), ("assets", "vehicle", None)):
        earlier = services._run(household=made[key], case=None, actor=None, on=D(2025, 12, 1), auth=None,
                                programme="dibao", sources=list(SOURCES), purpose="application")  # fmt: skip
        VerificationObjection.objects.create(run=earlier, finding=earlier.findings.get(kind=kind, person=who),
                                             content="工资已停发", submitted_on=D(2025, 12, 5), status="upheld")  # fmt: skip
    return made


def _findings(run: VerificationRun):
    return sorted((f.person_id or 0, f.source, f.kind, f.severity, f.declared, f.found, f.text) for f in run.findings.all())


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_bulk_matches_the_interactive_run(world, personas, engine):
    steps: list[tuple[int, int]] = []
    counts = bulk.run_bulk(area_code=TOWN_A, on=ON, engine=engine, progress=lambda d, t: steps.append((d, t)))
    runs = {r.household_id: r for r in VerificationRun.objects.filter(purpose="review")}
    verified = ("wages", "assets", "death", "clean", "applicant")
    assert set(runs) == {world[k].pk for k in (*verified, "unsigned")}
    for key in verified:
        h = world[key]
        ref = services._run(household=h, case=None, actor=None, on=ON, auth=None, programme="dibao",
                            sources=list(SOURCES), purpose="application")  # fmt: skip
        got = runs[h.pk]
        assert got.status == VerificationRun.Status.COMPLETE
        assert _findings(got) == _findings(ref), key
        assert got.conclusion == ref.conclusion, key
        assert got.assessment["assessed_input"] == ref.assessment["assessed_input"], key
        engine_ref = ref.assessment["engine"]
        assert engine_ref is not None or key == "death"
        assert got.assessment["engine"] == (engine_ref and {k: engine_ref[k] for k in ("eligible", "amount")}), key
        assert got.assessment["differences"] == ref.assessment["differences"]
        assert got.assessment["members"] == {m: {k: f[k] for k in bulk.FOUND_KEYS}
                                             for m, f in ref.assessment["members"].items() if f}, key  # fmt: skip
    # what the world was built to show
    kinds = {k: Counter((f.kind, f.severity) for f in runs[world[k].pk].findings.all()) for k in verified}
    assert kinds["wages"] == {("wage", "lower"): 1, ("wage", "undeclared"): 1}  # the third's: set aside
    assert kinds["assets"] == {("house", "undeclared"): 1, ("financial", "higher"): 1}  # the car: set aside
    assert kinds["death"] == {("death", "event"): 1, ("pension", "undeclared"): 2, ("business", "undeclared"): 1,
                              ("house", "undeclared"): 1}  # fmt: skip
    assert kinds["clean"] == {} and runs[world["clean"].pk].conclusion in ("meets", "fails")
    death = runs[world["death"].pk]
    assert death.conclusion == "investigate" and len(death.assessment["assessed_input"]["members_counted"]) == 2
    assert death.assessment["assessed_input"]["assets"]["houses"] == 2  # the dead member's house too: an estate
    assert death.findings.get(kind="death").text.startswith("张一：公安户籍记录于 2025-08-28 死亡")  # hukou first
    assert runs[world["wages"].pk].findings.get(severity="lower").text.endswith("自 2025年06月 后中断，需核实是否已失业")
    # authorisation: the family's signature on the application, else the recipient under management
    sig = Signature.objects.get(case__household=world["applicant"], kind="authorisation")
    assert runs[world["applicant"].pk].authorisation_id == sig.pk
    assert runs[world["applicant"].pk].assessment["authorisation"] == f"signature:{sig.pk}"
    assert runs[world["wages"].pk].authorisation is None
    assert runs[world["wages"].pk].assessment["authorisation"] == bulk.UNDER_MANAGEMENT
    unsigned = runs[world["unsigned"].pk]
    assert unsigned.status == VerificationRun.Status.REFUSED and not unsigned.findings.exists()
    # counts, the job and its progress
    assert counts["households"] == 6 and counts["verified"] == 5 and counts["refused"] == 1
    assert counts["with_authorisation"] == 1 and counts["under_management"] == 4
    # records: not two dated after the day, two out of scope, four set aside
    assert counts["persons"] == 12 and counts["records"] == 18
    assert counts["findings"] == {"business": 1, "death": 1, "financial": 1, "house": 2, "pension": 2, "wage": 3}
    assert Finding.objects.get(run=runs[world["applicant"].pk]).severity == "higher"
    assert sum(counts["conclusions"].values()) == 5
    job = JobRun.objects.get(kind=bulk.KIND)
    assert job.status == JobRun.Status.SUCCEEDED and job.done == job.total == 6 and job.counts == counts
    assert steps[0] == (0, 6) and steps[-1] == (6, 6) and all(r.job_id == job.pk for r in runs.values())
    # outside the area, or out of scope: untouched
    assert not VerificationRun.objects.filter(household__in=[world["idle"], world["outside"]]).exists()


def test_job_in_background_form_and_scope(world, personas, settings):
    settings.JIUZHU_JOBS_INLINE = True
    verifier = personas.reviewer  # a county reviewer may not verify
    with pytest.raises(PermissionDenied):
        bulk.bulk_prepare(actor=verifier, area_code=TOWN_A, on=ON)
    verifier.role = "verifier"
    verifier.save()
    job = bulk.bulk_prepare(actor=verifier, area_code=TOWN_A, on=ON)
    assert job.status == JobRun.Status.PENDING
    bulk.bulk_start(job)
    job.refresh_from_db()
    assert job.status == JobRun.Status.SUCCEEDED and job.done == job.total == 6 and job.percent == 100
    assert VerificationRun.objects.filter(job=job, requested_by=verifier).count() == 6
    with pytest.raises(PermissionDenied):  # another township's caseworker, another county's area
        bulk.run_bulk(area_code="610921", on=ON, actor=verifier)


def test_failed_job_is_marked(world, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("engine down")

    monkeypatch.setattr(bulk, "evaluate_all", boom)
    with pytest.raises(RuntimeError):
        bulk.run_bulk(area_code=TOWN_A, on=ON)
    job = JobRun.objects.get(kind=bulk.KIND)
    assert job.status == JobRun.Status.FAILED and job.finished_at is not None
    assert not VerificationRun.objects.filter(purpose="review").exists()


def test_command_prints_counts_and_progress(world):
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_bulk", "--area", TOWN_A, "--date", ON.isoformat(), stdout=out, stderr=err)
    counts = json.loads(out.getvalue())
    assert counts["households"] == 6 and counts["verified"] == 5
    assert "6/6 户" in err.getvalue() and "100%" in err.getvalue()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("verify_bulk", "--area", "999999", stdout=out, stderr=err)
    with pytest.raises(CommandError):
        call_command("verify_bulk", "--area", TOWN_A, "--date", "2025-13-01", stdout=out, stderr=err)
