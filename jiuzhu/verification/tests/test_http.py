"""The HTTP adapter against a real (fake) departmental service on 127.0.0.1: records come back, are stored once and
are returned; a slow service times out within the budget; 5xx and connection errors are retried, 4xx not; the
circuit breaker opens after three failures, then refuses at once and lets one trial through after the cooldown;
a bad response is refused as a whole and nothing is stored; no plaintext ID number is ever sent; TLS is verified;
and a run with one slow HTTP source ends "incomplete" keeping the other sources' findings."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import socket
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from jiuzhu.cases import services as cases
from jiuzhu.cases.tests.kit import head_id, registered_household, signed
from jiuzhu.core import crypto
from jiuzhu.testing.fixtures import TOWN_A, make_household, villages
from jiuzhu.verification import http, ingest, services
from jiuzhu.verification.adapters import SourceUnavailable, adapter_for
from jiuzhu.verification.assess import Record
from jiuzhu.verification.models import FeedRecord, SourceQuery, VerificationRun
from jiuzhu.verification.sources import SOURCES

from .fakedept import NOT_ASKED, FakeDept, self_signed

pytestmark = pytest.mark.django_db
ON = dt.date(2026, 3, 13)
CONTEXT = {"run": 7, "case": "DB2026-0001", "authorisation": "signature:3"}
ID_RE = re.compile(rb"(?<!\d)\d{17}[\dXx](?!\d)")


@pytest.fixture(autouse=True)
def fresh_breakers(monkeypatch):
    monkeypatch.setattr(http, "BACKOFF", 0.01)
    http.reset_breakers()
    yield
    http.reset_breakers()


@pytest.fixture
def dept():
    with FakeDept() as d:
        yield d


@pytest.fixture
def people(personas):
    h = make_household(personas.caseworker_a, villages(TOWN_A)[0], size=3)
    return list(h.members.order_by("pk"))


def source(dept: FakeDept, **conf: Any) -> http.HttpSource:
    return http.HttpSource("hrss", {"kind": "http", "url": dept.url, "timeout": 1, **conf})


def unavailable(src: http.HttpSource, persons: list[str]) -> SourceUnavailable:
    with pytest.raises(SourceUnavailable) as e:
        src.fetch(persons, ON, context=CONTEXT)
    return e.value


def test_records_come_back_are_stored_once_and_returned(dept, people):
    head, other = people[0], people[1]
    dept.records = {
        head.id_number_bi: [{"kind": "wage", "period": "2026-02", "amount": "2300.00", "ref": "SB-1"},
                            {"kind": "pension", "period": "2026-02-01", "amount": 1100, "category": "basic"}],
        other.id_number_bi: [{"kind": "unemployment", "period": "2026-01-01", "amount": 850.5}],
    }  # fmt: skip
    bis = [p.id_number_bi for p in people]
    got = source(dept).fetch(bis, ON, context=CONTEXT)
    assert sorted(got, key=lambda r: r.kind) == [
        Record("hrss", "pension", head.id_number_bi, dt.date(2026, 2, 1), Decimal("1100.00"), None, "basic"),
        Record("hrss", "unemployment", other.id_number_bi, dt.date(2026, 1, 1), Decimal("850.50")),
        Record("hrss", "wage", head.id_number_bi, dt.date(2026, 2, 1), Decimal("2300.00"), ref="SB-1"),
    ]
    rows = {r.kind: r for r in FeedRecord.objects.all()}
    assert set(rows) == {"wage", "pension", "unemployment"}
    wage = rows["wage"]
    assert wage.feed is None and wage.source == "hrss" and wage.area_code == head.area_code and wage.ref == "SB-1"
    assert wage.natural_key == ingest.natural_key("hrss", head.id_number_bi, ("wage", "", Decimal("2300.00"), None, None,
                                                                             dt.date(2026, 2, 1), "SB-1"))  # fmt: skip
    raw = json.loads(crypto.decrypt(wage.raw_enc, context="feed:hrss"))
    assert raw["person"] == head.id_number_bi and raw["amount"] == "2300.00"
    # what was asked
    q = dept.requests[0].json()
    assert q["persons"] == bis and q["source"] == "hrss" and q["as_of"] == "2026-03-13"
    assert q["purpose"] == "家庭经济状况核对" and q["case"] == "DB2026-0001" and q["authorisation"] == "signature:3"
    assert re.fullmatch(r"[0-9a-f]{32}", q["request_id"])
    assert "Authorization" not in dept.requests[0].headers
    # the same query again stores nothing new, and returns the same records
    again = source(dept).fetch(bis, ON, context=CONTEXT)
    assert sorted(again, key=lambda r: r.kind) == sorted(got, key=lambda r: r.kind)
    assert FeedRecord.objects.count() == 3 and dept.hits == 2


def test_a_record_already_loaded_from_a_file_drop_is_not_stored_again(dept, people):
    head = people[0]
    key = ingest.natural_key("hrss", head.id_number_bi, ("wage", "", Decimal("2300.00"), None, None, dt.date(2026, 2, 1), ""))
    FeedRecord.objects.create(source="hrss", kind="wage", person_bi=head.id_number_bi, area_code=head.area_code,
                              amount=Decimal("2300.00"), period=dt.date(2026, 2, 1), natural_key=key)  # fmt: skip
    dept.records = {head.id_number_bi: [{"kind": "wage", "period": "2026-02-01", "amount": "2300"}]}
    assert len(source(dept).fetch([head.id_number_bi], ON, context=CONTEXT)) == 1
    assert FeedRecord.objects.count() == 1


def test_the_request_never_carries_a_plaintext_id_number(dept, people, caplog):
    dept.records = {people[0].id_number_bi: [{"kind": "wage", "period": "2026-02-01", "amount": "2300.00"}]}
    ids = [crypto.decrypt(p.id_number_enc, context="person.id_number") for p in people]
    assert all(len(i) == 18 for i in ids)
    with caplog.at_level(logging.INFO, logger="jiuzhu.verification.http"):
        source(dept).fetch([p.id_number_bi for p in people], ON, context=CONTEXT)
    sent = dept.requests[0]
    wire = sent.body + json.dumps(sent.headers).encode() + sent.path.encode()
    assert not ID_RE.search(wire)
    for i in ids:
        assert i.encode() not in wire and i[:-1].encode() not in wire
    # the log line says who asked what of whom by request id only: no ID number, no blind index
    assert len(caplog.records) == 1 and "request_id=" in caplog.text and "ms=" in caplog.text
    assert not ID_RE.search(caplog.text.encode())
    assert not any(p.id_number_bi in caplog.text for p in people)
    stored = FeedRecord.objects.get()
    assert not any(i in crypto.decrypt(stored.raw_enc, context="feed:hrss") for i in ids)


def test_a_slow_department_times_out_within_the_budget_and_is_not_retried(dept, people):
    dept.mode, dept.delay = "slow", 5
    t0 = time.monotonic()
    e = unavailable(source(dept, timeout=0.5, retries=2), [people[0].id_number_bi])
    took = time.monotonic() - t0
    assert e.status == "timeout" and took < 0.5 + 0.3, took
    assert dept.hits == 1
    assert not FeedRecord.objects.exists()


def test_a_dripping_answer_is_cut_at_the_deadline(dept, people):
    dept.records = {people[0].id_number_bi: [{"kind": "wage", "period": "2026-02-01", "amount": "2300.00"}]}
    dept.mode, dept.delay = "drip", 0.1  # each byte within the socket timeout, the whole far beyond the budget
    t0 = time.monotonic()
    e = unavailable(source(dept, timeout=0.6, retries=0), [people[0].id_number_bi])
    took = time.monotonic() - t0
    assert e.status == "timeout" and took < 0.6 + 0.3, took


def test_500_is_retried_then_given_up(dept, people, caplog):
    dept.mode = "500"
    with caplog.at_level(logging.INFO, logger="jiuzhu.verification.http"):
        e = unavailable(source(dept, retries=2), [people[0].id_number_bi])
    assert e.status == "error" and "500" in e.message
    assert dept.hits == 3
    assert len({r.json()["request_id"] for r in dept.requests}) == 1  # one query, three attempts
    assert [r.getMessage().split("status=")[1].split()[0] for r in caplog.records] == ["500", "500", "500"]
    assert not FeedRecord.objects.exists()


def test_4xx_is_not_retried_and_does_not_open_the_breaker(dept, people):
    dept.mode = "400"
    src = source(dept, retries=2)
    for n in range(1, 5):
        assert unavailable(src, [people[0].id_number_bi]).status == "error"
        assert dept.hits == n


def test_a_connection_error_is_retried(people, caplog):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    src = http.HttpSource("hrss", {"kind": "http", "url": f"http://127.0.0.1:{port}/q", "retries": 2})
    with caplog.at_level(logging.INFO, logger="jiuzhu.verification.http"):
        e = unavailable(src, [people[0].id_number_bi])
    assert e.status == "error"
    assert [r.getMessage().split("status=")[1].split()[0] for r in caplog.records] == ["connection_error:ConnectionRefusedError"] * 3


def test_the_breaker_opens_after_three_failures_refuses_instantly_and_half_opens(dept, people):
    bi = [people[0].id_number_bi]
    dept.mode = "500"
    src = source(dept, retries=0, cooldown=0.3)
    for _ in range(3):
        assert unavailable(src, bi).status == "error"
    assert dept.hits == 3
    t0 = time.monotonic()
    e = unavailable(src, bi)
    assert e.status == "open" and time.monotonic() - t0 < 0.05
    assert dept.hits == 3  # not called
    # shared by the threads of the process, and by every adapter of the source (a run makes a new one)
    seen: list[str] = []
    t = threading.Thread(target=lambda: seen.append(unavailable(source(dept), bi).status))
    t.start()
    t.join()
    assert seen == ["open"] and dept.hits == 3
    time.sleep(0.35)
    dept.mode = "normal"
    assert src.fetch(bi, ON, context=CONTEXT) == [] and dept.hits == 4  # the trial succeeded: closed
    assert src.fetch(bi, ON, context=CONTEXT) == [] and dept.hits == 5


def test_timeouts_open_the_breaker_too_and_a_failed_trial_opens_it_again(dept, people):
    bi = [people[0].id_number_bi]
    dept.mode, dept.delay = "slow", 5
    src = source(dept, timeout=0.2, retries=2, cooldown=0.2)
    for _ in range(3):
        assert unavailable(src, bi).status == "timeout"
    assert unavailable(src, bi).status == "open" and dept.hits == 3
    time.sleep(0.25)
    dept.mode = "500"
    assert unavailable(src, bi).status == "error"
    assert dept.hits == 4  # the trial is a single attempt, retries or not
    assert unavailable(src, bi).status == "open" and dept.hits == 4


def test_only_one_trial_while_half_open(dept, people):
    bi = [people[0].id_number_bi]
    dept.mode = "500"
    src = source(dept, retries=0, cooldown=0.1, timeout=3)
    for _ in range(3):
        unavailable(src, bi)
    time.sleep(0.15)
    dept.mode, dept.delay = "slow", 0.5  # the trial takes a while, and succeeds
    results: list[Any] = []
    trial = threading.Thread(target=lambda: results.append(src.fetch(bi, ON, context=CONTEXT)))
    trial.start()
    deadline = time.monotonic() + 2
    while dept.hits < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert dept.hits == 4
    assert unavailable(src, bi).status == "open"  # the trial is in flight: nobody else goes
    trial.join()
    assert results == [[]]
    dept.mode = "normal"
    assert src.fetch(bi, ON, context=CONTEXT) == [] and dept.hits == 5


GOOD = {"kind": "wage", "period": "2026-02-01", "amount": "2300.00"}


@pytest.mark.parametrize("mode, bad", [
    ("malformed", None),
    ("unknown_person", None),
    ("wrong_kind", None),
    ("normal", {"kind": "wage", "period": "2026-13-01", "amount": "1"}),
    ("normal", {"kind": "wage", "period": "2026/02/01", "amount": "1"}),
    ("normal", {"kind": "wage", "amount": "1"}),
    ("normal", {"kind": "wage", "period": "1850-02-01", "amount": "1"}),
    ("normal", {"kind": "wage", "period": "2026-02-01", "amount": "abc"}),
    ("normal", {"kind": "wage", "period": "2026-02-01", "amount": -5}),
    ("normal", {"kind": "wage", "period": "2026-02-01", "amount": 1.234}),
    ("normal", {"kind": "wage", "period": "2026-02-01", "amount": True}),
    ("normal", {"kind": "wage", "period": "2026-02-01", "amount": float("nan")}),
    ("normal", {"kind": "wage", "period": "2026-02-01", "amount": "1e13"}),
    ("normal", {"kind": "wage", "period": "2026-02-01"}),
    ("normal", {"kind": "wage", "period": "2026-02-01", "amount": "1", "id_number": "x"}),
    ("normal", {"kind": "pension", "period": "2026-02-01", "amount": "1", "category": "gold"}),
    ("normal", {"kind": "wage", "period": "2026-02-01", "amount": "1", "event_date": "yesterday"}),
    ("normal", {"kind": "wage", "period": "2026-02-01", "amount": "1", "ref": "x" * 65}),
    ("normal", {"kind": "vehicle", "period": "2026-02-01", "amount": "1"}),
])  # fmt: skip
def test_a_bad_response_is_refused_as_a_whole_and_nothing_is_stored(dept, people, mode, bad):
    head, other = people[0], people[1]
    dept.mode = mode
    dept.records = {head.id_number_bi: [GOOD], other.id_number_bi: [bad] if bad else []}
    e = unavailable(source(dept), [head.id_number_bi, other.id_number_bi])
    assert e.status == "error" and "整个响应未采用" in e.message
    assert not ID_RE.search(e.message.encode()) and NOT_ASKED not in e.message
    assert not FeedRecord.objects.exists()
    dept.mode, dept.records = "normal", {head.id_number_bi: [GOOD]}
    assert len(source(dept).fetch([head.id_number_bi], ON, context=CONTEXT)) == 1  # not counted against the breaker


def test_a_death_needs_its_date_and_an_id_number_in_a_reference_is_masked(dept, people):
    head = people[0]
    dept.records = {head.id_number_bi: [{"kind": "death", "period": "2026-02-01"}]}
    assert unavailable(http.HttpSource("hukou", {"url": dept.url}), [head.id_number_bi]).status == "error"
    plain = crypto.decrypt(head.id_number_enc, context="person.id_number")
    dept.records = {head.id_number_bi: [{"kind": "death", "period": "2026-02-01", "event_date": "2026-02-03",
                                         "ref": f"注销{plain}"}]}  # fmt: skip
    (got,) = http.HttpSource("hukou", {"url": dept.url}).fetch([head.id_number_bi], ON, context=CONTEXT)
    assert got.event_date == dt.date(2026, 2, 3)
    row = FeedRecord.objects.get()
    assert plain not in row.ref and row.ref.startswith("注销") and plain not in crypto.decrypt(row.raw_enc, context="feed:hukou")


def test_the_response_must_answer_this_request():
    with pytest.raises(SourceUnavailable, match="request_id"):
        http.parse_response("hrss", b'{"request_id": "other", "records": []}', set(), "mine")
    with pytest.raises(SourceUnavailable, match="records"):
        http.parse_response("hrss", b'{"items": []}', set(), "mine")
    with pytest.raises(SourceUnavailable):
        http.parse_response("hrss", b'{"records": [], "records": []}', set(), "mine")
    assert http.parse_response("hrss", b'{"records": []}', set(), "mine") == []


def test_a_bearer_token_from_the_environment(dept, people, monkeypatch):
    bi = [people[0].id_number_bi]
    src = source(dept, token_env="JIUZHU_TEST_HRSS_TOKEN")
    monkeypatch.delenv("JIUZHU_TEST_HRSS_TOKEN", raising=False)
    e = unavailable(src, bi)
    assert e.status == "error" and "JIUZHU_TEST_HRSS_TOKEN" in e.message and dept.hits == 0
    monkeypatch.setenv("JIUZHU_TEST_HRSS_TOKEN", "s3cret-token")
    src.fetch(bi, ON, context=CONTEXT)
    assert dept.requests[0].headers["Authorization"] == "Bearer s3cret-token"


def test_tls_is_verified(tmp_path, people):
    cert, key = self_signed(tmp_path)
    bi = people[0].id_number_bi
    with FakeDept(tls=(cert, key), records={bi: [GOOD]}) as dept:
        assert dept.url.startswith("https://127.0.0.1:")
        e = unavailable(http.HttpSource("hrss", {"url": dept.url, "retries": 2}), [bi])  # not a CA the system trusts
        assert e.status == "error" and "证书" in e.message and dept.hits == 0
        assert not FeedRecord.objects.exists()
        got = http.HttpSource("hrss", {"url": dept.url, "ca_file": cert}).fetch([bi], ON, context=CONTEXT)
        assert len(got) == 1 and dept.hits == 1


def test_configuration_is_checked(settings):
    for url in ("http://dept.example.org/q", "ftp://127.0.0.1/q", "", "https://"):
        with pytest.raises(ImproperlyConfigured):
            http.HttpSource("hrss", {"kind": "http", "url": url})
    with pytest.raises(ImproperlyConfigured):
        http.HttpSource("nonesuch", {"kind": "http", "url": "https://dept.example.org/q"})
    settings.VERIFICATION_SOURCES = {"hrss": {"kind": "http", "url": "https://dept.example.org/q", "timeout": 3}}
    a = adapter_for("hrss")
    assert isinstance(a, http.HttpSource) and a.timeout == 3 and a.retries == 2 and a.cooldown == 60
    assert not isinstance(adapter_for("tax"), http.HttpSource)
    assert http.HttpSource("hrss", {"url": "http://localhost:8080/q"}).port == 8080


def test_a_run_with_a_slow_http_source_is_incomplete_and_keeps_the_others(personas, settings):
    cw = personas.caseworker_a
    h = registered_household(cw, villages(TOWN_A)[0], size=2)
    case, _ = cases.intake(actor=cw, programme="dibao", channel="window", area_code=h.area_code, applicant_name="王大山",
                           applicant_id=head_id(h), received_on=dt.date(2026, 3, 2), signatures=signed())  # fmt: skip
    head = h.members.order_by("pk").first()
    FeedRecord.objects.create(source="vehicle", kind="vehicle", person_bi=head.id_number_bi, area_code=head.area_code,
                              category="car", amount=Decimal("68000"), period=dt.date(2026, 2, 1), natural_key="v1")  # fmt: skip
    FeedRecord.objects.create(source="hrss", kind="wage", person_bi=head.id_number_bi, area_code=head.area_code,
                              amount=Decimal("3800"), period=dt.date(2026, 2, 1), natural_key="w1")  # fmt: skip
    with FakeDept(mode="slow", delay=5) as dept:
        settings.VERIFICATION_SOURCES = {"hrss": {"kind": "http", "url": dept.url, "timeout": 0.5, "retries": 0}}
        t0 = time.monotonic()
        run = services.run_for_case(case=case, actor=personas.verifier, on=ON)
        assert time.monotonic() - t0 < 5
        assert dept.hits == 1 and dept.requests[0].json()["case"] == case.case_no
    run = VerificationRun.objects.get(pk=run.pk)
    assert run.status == "incomplete" and run.conclusion == "investigate"
    queries = {q.source: q for q in SourceQuery.objects.filter(run=run)}
    assert set(queries) == set(SOURCES)
    assert queries["hrss"].status == "timeout" and 400 <= queries["hrss"].ms < 1500
    assert queries["hrss"].authorisation_ref.startswith("signature:")
    assert all(q.status == "ok" for s, q in queries.items() if s != "hrss")
    assert queries["vehicle"].records == 1
    # the vehicle source's finding is kept; the stored hrss wage was not read (the department did not answer)
    assert set(run.findings.values_list("kind", flat=True)) == {"vehicle"}
    assert run.assessment["assessed_input"]["assets"]["vehicles"] == 1
    assert "人力资源和社会保障" in services.summary(run)
