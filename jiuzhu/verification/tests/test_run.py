"""A verification run on real rows: the departments' records are compared with the declaration; a hidden car, a
hidden salary and a death are caught and explained, a clean household passes; no authorisation → no query;
the detail is for the 核对 role only (others refused and audited); every query is logged with the
authorisation it relied on."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.test import Client

from jiuzhu.cases import services as cases
from jiuzhu.cases.models import Signature
from jiuzhu.cases.tests.kit import act, head_id, registered_household, signed
from jiuzhu.core.models import AuditEvent
from jiuzhu.testing.fixtures import TOWN_A, villages
from jiuzhu.testing.pdftext import text_of
from jiuzhu.verification import services
from jiuzhu.verification.models import FeedRecord, SourceQuery, VerificationRun
from jiuzhu.verification.sources import SOURCES

pytestmark = pytest.mark.django_db
ON = dt.date(2026, 3, 13)


def feed(person, source: str, kind: str, *, period=dt.date(2026, 2, 1), amount=None, quantity=None, category="",
         event_date=None) -> FeedRecord:  # fmt: skip
    key = hashlib.sha256(f"{source}|{kind}|{person.id_number_bi}|{period}|{amount}|{category}|{event_date}".encode()).hexdigest()
    return FeedRecord.objects.create(source=source, kind=kind, person_bi=person.id_number_bi, area_code=person.area_code,
                                     amount=amount, quantity=quantity, category=category, event_date=event_date,
                                     period=period, natural_key=key)  # fmt: skip


def _case(personas, **kw):
    cw = personas.caseworker_a
    h = registered_household(cw, villages(TOWN_A)[0], size=2, **kw)
    case, _ = cases.intake(actor=cw, programme="dibao", channel="window", area_code=h.area_code, applicant_name="王大山",
                           applicant_id=head_id(h), received_on=dt.date(2026, 3, 2), signatures=signed())  # fmt: skip
    act(cw, case, "accept", dt.date(2026, 3, 2))
    act(cw, case, "start_investigation", dt.date(2026, 3, 3))
    act(cw, case, "request_verification", dt.date(2026, 3, 3))
    return h, case


def test_clean_household_passes_and_every_query_is_logged(personas):
    h, case = _case(personas)
    head = h.members.order_by("pk").first()
    feed(head, "hrss", "wage", amount=Decimal("200.00"))  # as declared
    feed(head, "vehicle", "vehicle", category="motorcycle", amount=Decimal("3000"))  # exempt
    act(personas.verifier, case, "run_verification", ON)
    run = VerificationRun.objects.get(case=case)
    assert run.status == "complete" and run.conclusion == "meets" and run.findings.count() == 0
    assert SourceQuery.objects.filter(run=run).count() == len(SOURCES)
    auth = case.signatures.get(kind=Signature.Kind.AUTHORISATION)
    assert set(SourceQuery.objects.filter(run=run).values_list("authorisation_ref", flat=True)) == {f"signature:{auth.pk}"}
    v = case.verifications.get()
    assert v.conclusion == "meets" and not v.is_stub and v.run == run


def test_hidden_car_and_salary_are_caught_and_explained(personas):
    h, case = _case(personas)
    head, other = list(h.members.order_by("pk"))
    feed(other, "hrss", "wage", amount=Decimal("3800.00"))
    feed(other, "tax", "wage", amount=Decimal("3600.00"))
    feed(head, "vehicle", "vehicle", category="car", amount=Decimal("68000"))
    act(personas.verifier, case, "run_verification", ON)
    run = VerificationRun.objects.get(case=case)
    kinds = {f.kind: f for f in run.findings.all()}
    assert set(kinds) == {"wage", "vehicle"}
    # 税务's taxed salary is the wage (人社's contribution base only approximates it), compared net: 3,600 minus
    # 10.5 % employee contributions (378.00), below the tax threshold
    assert "人力资源和社会保障、税务记录显示在职" in kinds["wage"].text and "3,600.00 元/月（税前）" in kinds["wage"].text
    assert "约 3,222.00 元/月" in kinds["wage"].text and kinds["wage"].found == Decimal("3222.00")
    assert "车辆登记显示 1 辆" in kinds["vehicle"].text
    assert run.conclusion == "fails"  # the assessed picture (wage 3,222, a car) does not meet 低保
    assert run.assessment["assessed_input"]["assets"]["vehicles"] == 1
    summary = case.verifications.get().summary
    assert "不符合" in summary and "2 处" in summary and "3,600" not in summary  # the township sees no detail
    # the printed report: which authorisation covered each query, what was found per member, net and gross
    c = Client()
    c.force_login(personas.verifier)
    text = text_of(c.get(f"/verification/runs/{run.pk}.pdf").content)
    auth = case.signatures.get(kind=Signature.Kind.AUTHORISATION)
    assert "依据授权" in text and text.count(f"signature:{auth.pk}") == len(SOURCES)
    flat = text.replace("\n", "")  # (table cells wrap)
    assert "成员核对情况" in flat and "3222.00 /3600.00" in flat and "车辆登记显示 1 辆" in flat


def test_a_death_is_found_and_the_member_not_counted(personas):
    h, case = _case(personas)
    other = h.members.order_by("pk").last()
    feed(other, "funeral", "death", event_date=dt.date(2026, 2, 10), period=dt.date(2026, 2, 10))
    act(personas.verifier, case, "run_verification", ON)
    run = VerificationRun.objects.get(case=case)
    assert run.findings.get().kind == "death"
    assert str(other.pk) not in run.assessment["assessed_input"]["members_counted"]


def test_stopped_salary_needs_investigation(personas):
    h, case = _case(personas, wage="1500")
    head = h.members.order_by("pk").first()
    feed(head, "hrss", "wage", amount=Decimal("1500"), period=dt.date(2025, 9, 1))  # last contribution 6 months ago
    act(personas.verifier, case, "run_verification", ON)
    run = VerificationRun.objects.get(case=case)
    assert run.findings.get().severity == "lower" and run.conclusion == "investigate"


def test_no_authorisation_no_query(personas):
    cw = personas.caseworker_a
    h = registered_household(cw, villages(TOWN_A)[0])
    case, _ = cases.intake(actor=cw, programme="dibao", channel="window", area_code=h.area_code, applicant_name="王大山",
                           applicant_id=head_id(h), signatures=[("commitment", "王大山")])  # fmt: skip
    with pytest.raises(services.NotAuthorised):
        services.run_for_case(case=case, actor=personas.verifier, on=ON)
    assert not VerificationRun.objects.exists() and not SourceQuery.objects.exists()
    assert AuditEvent.objects.filter(action="verification.refused").exists()


def test_report_detail_is_for_the_verification_role_only(personas):
    h, case = _case(personas)
    feed(h.members.order_by("pk").first(), "vehicle", "vehicle", category="car", amount=Decimal("50000"))
    act(personas.verifier, case, "run_verification", ON)
    run = VerificationRun.objects.get(case=case)
    vf = Client()
    vf.force_login(personas.verifier)
    page = vf.get(f"/verification/runs/{run.pk}/")
    assert page.status_code == 200 and "车辆登记显示 1 辆" in page.content.decode()
    assert vf.get(f"/verification/runs/{run.pk}.pdf").content[:5] == b"%PDF-"
    assert vf.get(f"/verification/runs/{run.pk}/records/vehicle/").status_code == 200
    for user in (personas.caseworker_a, personas.reviewer, personas.supervisor):
        c = Client()
        c.force_login(user)
        for url in (f"/verification/runs/{run.pk}/", f"/verification/runs/{run.pk}/records/vehicle/",
                    f"/verification/runs/{run.pk}.pdf"):  # fmt: skip
            r = c.get(url)
            assert r.status_code == 403 and "车辆登记显示" not in r.content.decode(), (user.username, url)
    assert AuditEvent.objects.filter(action="verification.detail_denied", result="denied").count() == 9
    other = Client()
    other.force_login(personas.caseworker_b)
    assert other.get(f"/verification/runs/{run.pk}/").status_code == 404
    # the township's case page shows the conclusion, not the detail
    cw = Client()
    cw.force_login(personas.caseworker_a)
    body = cw.get(f"/cases/{case.pk}/").content.decode()
    assert "不符合" in body and "车辆登记显示" not in body and "verification-report" not in body


def test_objection_upheld_sets_the_finding_aside_in_the_next_run(personas):
    from jiuzhu.verification.models import VerificationObjection

    cw = personas.caseworker_a
    h, case = _case(personas)
    feed(h.members.order_by("pk").first(), "vehicle", "vehicle", category="car", amount=Decimal("50000"),
         period=dt.date(2025, 6, 1))  # fmt: skip
    act(personas.verifier, case, "run_verification", ON)
    first = VerificationRun.objects.get(case=case)
    finding = first.findings.get(kind="vehicle")
    act(cw, case, "contest_verification", ON, finding=str(finding.pk), content="该车已于2025年10月转让，有转让合同")
    o = VerificationObjection.objects.get()
    assert o.status == "open" and o.finding == finding
    with pytest.raises(cases.Refused):
        act(cw, case, "recheck_verification", ON, objection=str(o.pk), outcome="maybe", result="x")
    act(cw, case, "recheck_verification", ON, objection=str(o.pk), outcome="upheld", result="经核实转让合同和过户记录，异议成立")
    assert case.verifications.filter(completed_on__isnull=True).count() == 1  # the centre is asked to run again
    act(personas.verifier, case, "run_verification", dt.date(2026, 3, 16))
    second = VerificationRun.objects.filter(case=case).latest("pk")
    assert second.pk != first.pk and not second.findings.filter(kind="vehicle").exists()
    assert first.findings.filter(kind="vehicle").exists()  # the history is kept
    assert case.verifications.latest("pk").conclusion == "meets"
