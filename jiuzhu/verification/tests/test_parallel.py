"""A run asks its HTTP sources at the same time (``services._ask_sources``): three departments that each take about a
second answer in about a second together; one that times out is marked and the others are kept; the records, the
``SourceQuery`` rows and so the findings come in the order of the sources whatever order the answers arrive in;
answers are stored and every row written in the calling thread (worker threads never touch the ORM — in these
tests they could not even see the test's transaction); the circuit breaker still opens."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from typing import Any

import pytest

from jiuzhu.cases import services as cases
from jiuzhu.cases.tests.kit import head_id, registered_household, signed
from jiuzhu.testing.fixtures import TOWN_A, villages
from jiuzhu.verification import http, services
from jiuzhu.verification.assess import Record
from jiuzhu.verification.models import FeedRecord, SourceQuery, VerificationRun
from jiuzhu.verification.sources import SOURCES

from .fakedept import FakeDept

pytestmark = pytest.mark.django_db
ON = dt.date(2026, 3, 13)
WAGE_SOURCES = ("hrss", "tax", "housing_fund")  # three departments that report a wage


@pytest.fixture(autouse=True)
def fresh_breakers(monkeypatch):
    monkeypatch.setattr(http, "BACKOFF", 0.01)
    http.reset_breakers()
    yield
    http.reset_breakers()


@pytest.fixture
def depts() -> Iterator[dict[str, FakeDept]]:
    with ExitStack() as stack:
        yield {s: stack.enter_context(FakeDept(mode="slow", delay=1.0)) for s in WAGE_SOURCES}


@pytest.fixture
def case(personas):
    cw = personas.caseworker_a
    h = registered_household(cw, villages(TOWN_A)[0], size=2)
    c, _ = cases.intake(actor=cw, programme="dibao", channel="window", area_code=h.area_code, applicant_name="王大山",
                        applicant_id=head_id(h), received_on=dt.date(2026, 3, 2), signatures=signed())  # fmt: skip
    return c


def configure(settings: Any, depts: dict[str, FakeDept], **conf: Any) -> None:
    settings.VERIFICATION_SOURCES = {s: {"kind": "http", "url": d.url, "timeout": 3, "retries": 0, **conf}
                                     for s, d in depts.items()}  # fmt: skip


def wages(depts: dict[str, FakeDept], bi: str) -> None:
    """Each department reports a different wage for the head, so the order of the records can be seen."""
    for i, d in enumerate(depts.values()):
        d.records = {bi: [{"kind": "wage", "period": "2026-02", "amount": f"{3800 + i}.00", "ref": f"R{i}"}]}


def head_bi(case: Any) -> str:
    return case.household.members.order_by("pk").first().id_number_bi


def warm_up(case: Any, personas: Any) -> None:
    """One run without HTTP sources first, so the timed run does not pay the one-time loads (policy parameters)."""
    services.run_for_case(case=case, actor=personas.verifier, on=ON, sources=["vehicle"])


def test_three_slow_departments_are_asked_at_the_same_time(case, personas, settings, depts):
    configure(settings, depts)
    bi = head_bi(case)
    wages(depts, bi)
    warm_up(case, personas)
    t0 = time.monotonic()
    run = services.run_for_case(case=case, actor=personas.verifier, on=ON)
    took = time.monotonic() - t0
    assert took < 2.5, f"three sources of ~1 s each took {took:.2f} s: asked one after the other (3 s)?"
    assert all(d.hits == 1 for d in depts.values())
    run = VerificationRun.objects.get(pk=run.pk)
    assert run.status == "complete"
    queries = {q.source: q for q in run.queries.all()}
    assert set(queries) == set(SOURCES)
    for s in WAGE_SOURCES:  # each its own time, not the time it waited behind the others
        assert queries[s].status == "ok" and queries[s].records == 1 and 900 <= queries[s].ms < 2500, queries[s].ms
        assert queries[s].authorisation_ref == f"signature:{run.authorisation_id}"
    # stored by the calling thread: visible inside the test's transaction
    assert FeedRecord.objects.filter(person_bi=bi, source__in=WAGE_SOURCES, feed__isnull=True).count() == 3
    assert run.findings.filter(kind="wage").exists()


def test_a_timeout_is_marked_and_the_others_are_kept(case, personas, settings, depts):
    configure(settings, depts)
    settings.VERIFICATION_SOURCES["tax"]["timeout"] = 0.5
    depts["tax"].delay = 5
    bi = head_bi(case)
    wages(depts, bi)
    head = case.household.members.order_by("pk").first()
    FeedRecord.objects.create(source="vehicle", kind="vehicle", person_bi=bi, area_code=head.area_code, category="car",
                              amount=Decimal("68000"), period=dt.date(2026, 2, 1), natural_key="v1")  # fmt: skip
    warm_up(case, personas)
    t0 = time.monotonic()
    run = services.run_for_case(case=case, actor=personas.verifier, on=ON)
    assert time.monotonic() - t0 < 2.5
    run = VerificationRun.objects.get(pk=run.pk)
    assert run.status == "incomplete" and run.conclusion == "investigate"
    queries = {q.source: q for q in run.queries.all()}
    assert queries["tax"].status == "timeout" and 400 <= queries["tax"].ms < 1500 and queries["tax"].records == 0
    assert all(q.status == "ok" for s, q in queries.items() if s != "tax")
    assert queries["hrss"].records == queries["housing_fund"].records == queries["vehicle"].records == 1
    assert set(run.findings.values_list("kind", flat=True)) == {"wage", "vehicle"}
    assert run.assessment["assessed_input"]["assets"]["vehicles"] == 1
    assert "税务" in services.summary(run)


def test_records_and_rows_follow_the_order_of_the_sources_not_of_the_answers(case, personas, settings, depts):
    configure(settings, depts)
    bi = head_bi(case)
    wages(depts, bi)
    for d, delay in zip(depts.values(), (0.6, 0.3, 0.0), strict=True):  # the first source answers last
        d.delay = delay
    head = case.household.members.order_by("pk").first()
    FeedRecord.objects.create(source="vehicle", kind="vehicle", person_bi=bi, area_code=head.area_code, category="car",
                              amount=Decimal("68000"), period=dt.date(2026, 2, 1), natural_key="v1")  # fmt: skip
    order = ["tax", "vehicle", "hrss", "housing_fund"]
    context = {"run": 0, "case": case.case_no, "authorisation": "signature:1"}
    got = services._ask_sources(order, [bi], ON, context)
    assert [s for s, _, _ in got] == order
    records = [r for _, rs, _ in got if isinstance(rs, list) for r in rs]
    assert [(r.source, r.amount) for r in records] == [
        ("tax", Decimal("3801.00")), ("vehicle", Decimal("68000")), ("hrss", Decimal("3800.00")),
        ("housing_fund", Decimal("3802.00"))]  # fmt: skip
    assert all(isinstance(r, Record) for r in records)
    # the same through a run: the query rows are written in the order asked, the findings are the same each time
    runs = []
    for delays in ((0.6, 0.3, 0.0), (0.0, 0.3, 0.6)):
        for d, delay in zip(depts.values(), delays, strict=True):
            d.delay = delay
        run = services.run_for_case(case=case, actor=personas.verifier, on=ON, sources=order)
        assert list(run.queries.order_by("pk").values_list("source", flat=True)) == order
        runs.append(run)
    texts = [list(r.findings.order_by("pk").values_list("kind", "text")) for r in runs]
    assert texts[0] == texts[1] and texts[0]
    assert runs[0].assessment == runs[1].assessment


def test_workers_only_ask_and_the_calling_thread_stores(case, settings, depts, monkeypatch):
    configure(settings, depts)
    bi = head_bi(case)
    wages(depts, bi)
    for d in depts.values():
        d.mode = "normal"
    asked_in, stored_in = set(), set()
    ask, store = http.HttpSource.ask, http.store

    def spy_ask(self, *a, **kw):
        asked_in.add(threading.current_thread().name)
        return ask(self, *a, **kw)

    def spy_store(*a, **kw):
        stored_in.add(threading.current_thread().name)
        return store(*a, **kw)

    monkeypatch.setattr(http.HttpSource, "ask", spy_ask)
    monkeypatch.setattr(http, "store", spy_store)
    got = services._ask_sources(list(SOURCES), [bi], ON, {"run": 0})
    assert all(isinstance(rs, list) for _, rs, _ in got)
    assert asked_in and all(n.startswith("verification-source") for n in asked_in)
    assert stored_in == {threading.current_thread().name}


def test_a_failing_source_is_an_error_and_the_breaker_still_opens(case, personas, settings, depts):
    configure(settings, depts)
    bi = head_bi(case)
    wages(depts, bi)
    for d in depts.values():
        d.mode = "normal"
    depts["hrss"].mode = "500"
    settings.VERIFICATION_SOURCES["market"] = {"kind": "http", "url": "http://dept.example.org/q"}  # refused: not https
    statuses = []
    for _ in range(4):
        run = services.run_for_case(case=case, actor=personas.verifier, on=ON)
        q = {q.source: q for q in run.queries.all()}
        statuses.append(q["hrss"].status)
        assert run.status == "incomplete"
        assert q["market"].status == "error" and q["market"].message == "ImproperlyConfigured"
        assert q["tax"].status == q["housing_fund"].status == "ok" and q["tax"].records == 1
    assert statuses == ["error", "error", "error", "open"]
    assert depts["hrss"].hits == 3  # the open breaker refused without calling out
    assert "熔断" in SourceQuery.objects.filter(source="hrss", status="open").get().message
