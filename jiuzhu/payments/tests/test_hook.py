"""The decision hook: a 低保 case approved through the workflow (cases.services, the county's 确认) creates the
household's entitlement in the same transaction, from the decision's start month; a refusal creates none."""

from __future__ import annotations

import datetime as dt

import pytest

from jiuzhu.cases import services as cases
from jiuzhu.cases.tests.kit import act, head_id, registered_household, signed
from jiuzhu.payments.models import Entitlement
from jiuzhu.testing.fixtures import TOWN_A, villages

pytestmark = pytest.mark.django_db
D = dt.date


def _to_county(personas):
    cw = personas.caseworker_a
    h = registered_household(cw, villages(TOWN_A)[0])
    case, _code = cases.intake(actor=None, programme="dibao", channel="portal", area_code=villages(TOWN_A)[0],
                               applicant_name="王大山", applicant_id=head_id(h), household_size=2,
                               received_on=D(2026, 3, 2), signatures=signed())  # fmt: skip
    act(cw, case, "accept", D(2026, 3, 3))
    act(cw, case, "start_investigation", D(2026, 3, 4))
    act(cw, case, "record_investigation", D(2026, 3, 5), investigators="李四、赵五", signed=True, housing="砖房")
    act(cw, case, "request_verification", D(2026, 3, 5))
    act(personas.verifier, case, "run_verification", D(2026, 3, 6))
    act(cw, case, "propose", D(2026, 3, 9), opinion="拟同意")
    act(cw, case, "submit_to_county", D(2026, 3, 17))
    return h, case


def test_approving_a_dibao_case_creates_its_entitlement(personas):
    h, case = _to_county(personas)
    assert not Entitlement.objects.exists()
    act(personas.reviewer, case, "confirm", D(2026, 3, 18))
    case.refresh_from_db()
    assert case.state == "approved"
    e = Entitlement.objects.get()
    d = case.decisions.get()
    assert (e.household_id, e.case_id, e.decision_id, e.origin) == (h.pk, case.pk, d.pk, "decision")
    assert (e.programme, e.amount, e.start_month, e.status) == ("dibao", case.amount, D(2026, 4, 1), "active")
    assert e.recipient.household_id == h.pk and e.recipient.relation == "02"


def test_a_refusal_creates_no_entitlement(personas):
    _h, case = _to_county(personas)
    act(personas.reviewer, case, "reject", D(2026, 3, 18), reason="家庭收入超过标准")
    assert not Entitlement.objects.exists()
