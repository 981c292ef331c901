"""The procedures through the one service: each step's conditions, deadlines, the pause while materials are
supplied, delegation, stale versions, the reserve fund — on real rows, with the policy engine deciding amounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jiuzhu.accounts.roles import Role
from jiuzhu.cases import services
from jiuzhu.cases.models import Deadline, ProcedureSetting, Publicity, ReserveEntry, StaffRelative
from jiuzhu.core import crypto
from jiuzhu.core.models import AuditEvent
from jiuzhu.testing.fixtures import COUNTY, TOWN_A, make_user, villages

from .kit import act, head_id, registered_household, signed

pytestmark = pytest.mark.django_db
D = dt.date


def _dibao_case(personas, **kw):
    h = registered_household(personas.caseworker_a, villages(TOWN_A)[0], **kw)
    case, code = services.intake(actor=None, programme="dibao", channel="portal", area_code=villages(TOWN_A)[0],
                                 applicant_name="王大山", applicant_id=head_id(h), household_size=2,
                                 received_on=D(2026, 3, 2), signatures=signed())  # fmt: skip
    return h, case, code


def _deadline(case, key):
    return Deadline.objects.get(case=case, key=key)


def test_dibao_from_application_to_publication(personas):
    cw, rv = personas.caseworker_a, personas.reviewer
    h, case, code = _dibao_case(personas)
    assert case.household_id == h.pk and case.area_code == h.area_code and len(code) == 8
    assert case.tracking_hash == services.tracking_hash(case.case_no, code.lower())
    # acceptance with a deficiency notice: T0 = 3-03, the clock pauses until the materials arrive on 3-10
    act(cw, case, "request_materials", D(2026, 3, 3), items=["income_statement", "medical_bills"])
    case.refresh_from_db()
    assert case.state == "awaiting_materials" and case.accepted_on == D(2026, 3, 3)
    assert _deadline(case, "overall").due_on is None  # paused
    act(cw, case, "supply_materials", D(2026, 3, 10))
    # 30 working days after 3-03, not counting 3-03..3-09 (5 working days 3-03..3-09 paused: 3-04,05,06,09 + 3-03
    # itself is the start): counted from 3-10 → worked out by hand: 3-10..4-03 = 19 wd (4-04..06 清明), 4-07..4-17 = 9,
    # total 28 by 4-17, 4-20 = 29, 4-21 = 30.
    assert _deadline(case, "overall").due_on == D(2026, 4, 21)
    with pytest.raises(services.Refused):  # nothing to investigate before the investigation starts
        act(cw, case, "propose", D(2026, 3, 11), opinion="同意")
    act(cw, case, "start_investigation", D(2026, 3, 11))
    with pytest.raises(services.Refused, match="2名以上"):
        act(cw, case, "record_investigation", D(2026, 3, 12), investigators="李四", signed=True)
    act(cw, case, "record_investigation", D(2026, 3, 12), investigators="李四、赵五", signed=True, housing="土坯房")
    act(cw, case, "request_verification", D(2026, 3, 12))
    for who in (cw, rv):  # the township and the approver cannot run the 核对 centre's verification
        with pytest.raises(services.Forbidden):
            act(who, case, "run_verification", D(2026, 3, 13))
    act(personas.verifier, case, "run_verification", D(2026, 3, 13))
    v = case.verifications.get()
    assert not v.is_stub and v.run is not None and v.conclusion == "meets" and "未发现与申报不一致" in v.summary
    act(cw, case, "propose", D(2026, 3, 16), opinion="家庭人均收入低于当地低保标准，拟同意")
    pub = Publicity.objects.get(case=case, kind="publicity")
    assert pub.ends_on == D(2026, 3, 23) and pub.masked_name != "王大山" and pub.amount > 0
    act(cw, case, "record_objection", D(2026, 3, 18), content="邻居反映其子在外务工收入较高")
    pub.refresh_from_db()
    assert pub.withdrawn_on is None  # the notice stays up for its 7 days: others may object too
    with pytest.raises(services.Refused, match="民主评议"):
        act(cw, case, "submit_to_county", D(2026, 3, 19))
    act(cw, case, "democratic_review", D(2026, 3, 20), participants="村民代表9人", minutes="经评议，其子已分户另居", votes_for=8, votes_against=1)
    act(cw, case, "submit_to_county", D(2026, 3, 23))
    case.refresh_from_db()
    assert case.state == "county_review"
    assert _deadline(case, "county_review").due_on == D(2026, 4, 7)  # 10 wd: 3-24..3-27 (4), 3-30..4-3 (5), 4-07 (清明 4-4..6)
    act(rv, case, "confirm", D(2026, 3, 25))
    case.refresh_from_db()
    assert case.state == "approved" and case.amount > 0 and case.start_month == D(2026, 4, 1)
    d = case.decisions.get()
    assert d.explanation["eligible"] and d.explanation["parameters"]
    pub2 = Publicity.objects.get(case=case, kind="publication")
    assert pub2.amount == case.amount and pub2.ends_on is None
    assert _deadline(case, "overall").met_on == D(2026, 3, 25)
    actions = list(case.transitions.values_list("action", flat=True))
    assert actions[0] == "create" and actions[-1] == "confirm"
    assert AuditEvent.objects.filter(object_id=str(case.pk), action="case.confirm").exists()


def test_stale_version_is_refused_and_nothing_written(personas):
    cw = personas.caseworker_a
    _h, case, _ = _dibao_case(personas)
    v = case.version
    services.perform(actor=cw, case_id=case.pk, action="accept", version=v, data={})
    other = make_user("cw_a2", Role.CASEWORKER, TOWN_A)
    n = case.transitions.count()
    with pytest.raises(services.Stale, match="已被他人更新"):
        services.perform(actor=other, case_id=case.pk, action="start_investigation", version=v, data={})
    assert case.transitions.count() == n


def test_other_township_and_wrong_role_cannot_act(personas):
    _h, case, _ = _dibao_case(personas)
    for actor in (personas.caseworker_b, personas.supervisor, personas.auditor, personas.reviewer):
        with pytest.raises(services.Forbidden):
            act(actor, case, "accept")
    case.refresh_from_db()
    assert case.state == "received"


def test_delegation_lets_the_township_confirm_in_20_working_days(personas):
    ProcedureSetting.objects.create(area_code=COUNTY, delegated=True)
    cw = personas.caseworker_a
    _h, case, _ = _dibao_case(personas)
    act(cw, case, "accept", D(2026, 1, 5))
    # 20 working days after 2026-01-05 → 2-02 (1-06..1-30: 19 wd; 2-02 the 20th)
    assert _deadline(case, "overall").due_on == D(2026, 2, 2)
    act(cw, case, "start_investigation", D(2026, 1, 6))
    act(cw, case, "record_investigation", D(2026, 1, 6), investigators="甲,乙", signed=True)
    act(cw, case, "request_verification", D(2026, 1, 6))
    act(personas.verifier, case, "run_verification", D(2026, 1, 7))
    act(cw, case, "propose", D(2026, 1, 7), opinion="拟同意")
    act(cw, case, "submit_to_county", D(2026, 1, 15))
    with pytest.raises(services.Forbidden):
        act(personas.reviewer, case, "confirm", D(2026, 1, 16))
    act(cw, case, "confirm", D(2026, 1, 16))
    assert case.decisions.get().level == "township"


def test_conflict_of_interest_forces_a_county_home_visit(personas):
    h = registered_household(personas.caseworker_a, villages(TOWN_A)[0])
    idn = head_id(h)
    StaffRelative.objects.create(area_code=TOWN_A, declarant_name="村主任", declarant_post="村委会主任",
                                 relative_name="王大山", relation="兄弟",
                                 relative_id_bi=crypto.blind_index(idn, purpose="id_number"),
                                 relative_id_masked="x", declared_on=D(2026, 1, 1))  # fmt: skip
    cw, rv = personas.caseworker_a, personas.reviewer
    case, _ = services.intake(actor=cw, programme="dibao", channel="window", area_code=h.area_code,
                              applicant_name="王大山", applicant_id=idn, received_on=D(2026, 3, 2), signatures=signed())  # fmt: skip
    act(cw, case, "accept", D(2026, 3, 2))
    case.refresh_from_db()
    assert case.conflict_flag
    act(cw, case, "start_investigation", D(2026, 3, 3))
    act(cw, case, "record_investigation", D(2026, 3, 3), investigators="甲,乙", signed=True)
    act(cw, case, "request_verification", D(2026, 3, 3))
    act(personas.verifier, case, "run_verification", D(2026, 3, 4))
    act(cw, case, "propose", D(2026, 3, 4), opinion="拟同意")
    act(cw, case, "submit_to_county", D(2026, 3, 12))
    with pytest.raises(services.Refused, match="近亲属备案"):
        act(rv, case, "confirm", D(2026, 3, 13))
    act(rv, case, "record_investigation", D(2026, 3, 13), investigators="县甲,县乙", signed=True)
    act(rv, case, "confirm", D(2026, 3, 13))


def test_emergency_advance_payment_from_the_reserve_fund(personas):
    cw = personas.caseworker_a
    h = registered_household(cw, villages(TOWN_A)[0])
    case, _ = services.intake(actor=cw, programme="temporary", channel="window", area_code=h.area_code,
                              applicant_name="王大山", applicant_id=head_id(h), temp_type="emergency", temp_tier=1,
                              received_on=D(2026, 9, 28))  # fmt: skip
    with pytest.raises(services.Refused, match="余额不足"):
        act(cw, case, "advance_pay", D(2026, 9, 28), amount="500.00")
    services.reserve_append(township=TOWN_A, kind="topup", amount=Decimal("20000.00"), on=D(2026, 9, 1), actor=personas.reviewer)
    act(cw, case, "advance_pay", D(2026, 9, 28), amount="500.00")
    case.refresh_from_db()
    assert case.state == "advance_paid" and services.reserve_balance(TOWN_A) == Decimal("19500.00")
    # paperwork within 5 working days after 9-28: 9-29, 9-30, then National Day 10-01..10-07 (10-08 holiday in 2026?)
    due = _deadline(case, "paperwork").due_on
    assert due is not None and due > D(2026, 10, 7)
    act(cw, case, "sign", D(2026, 10, 9), kind="commitment", signer_name="王大山")
    act(cw, case, "record_investigation", D(2026, 10, 9), investigators="甲,乙", signed=True, mode="remote", reason="火灾当晚电话核实")
    act(cw, case, "complete_paperwork", D(2026, 10, 9), reason="火灾致房屋损毁，已核实")
    case.refresh_from_db()
    assert case.state == "approved" and case.amount == Decimal("500.00")
    assert ReserveEntry.objects.filter(case=case).count() == 1


def test_tekun_with_self_care_assessment_and_random_check(personas):
    from jiuzhu.registry.models import Person

    cw, rv = personas.caseworker_a, personas.reviewer
    h = registered_household(cw, villages(TOWN_A)[0], size=1, wage="0", financial="500")
    Person.objects.filter(household=h).update(birth_date=D(1948, 3, 1), labour_capacity="none")
    case, _ = services.intake(actor=cw, programme="tekun", channel="window", area_code=h.area_code,
                              applicant_name="王大山", applicant_id=head_id(h), received_on=D(2026, 3, 2),
                              signatures=signed())  # fmt: skip
    act(cw, case, "accept", D(2026, 3, 2))
    assert _deadline(case, "opinion").due_on == D(2026, 3, 23)  # 15 wd after 3-02: 3-03..3-06 (4), 3-09..13 (9), 3-16..20 (14), 3-23
    act(cw, case, "start_investigation", D(2026, 3, 3))
    act(cw, case, "record_investigation", D(2026, 3, 3), investigators="甲,乙", signed=True)
    act(cw, case, "request_verification", D(2026, 3, 3))
    act(personas.verifier, case, "run_verification", D(2026, 3, 4))
    act(cw, case, "propose", D(2026, 3, 4), opinion="无劳动能力、无生活来源、无法定赡养人，拟同意")
    act(cw, case, "submit_to_county", D(2026, 3, 12))
    case.refresh_from_db()
    assert case.random_check  # the first 特困 case of the county this year is always checked (≥ 30 %)
    with pytest.raises(services.Refused) as e:
        act(rv, case, "confirm", D(2026, 3, 13))
    assert "抽查" in str(e.value) and "自理" in str(e.value)
    act(rv, case, "record_investigation", D(2026, 3, 13), investigators="县甲,县乙", signed=True)
    person = h.members.get()
    act(rv, case, "assess_self_care", D(2026, 3, 13), person=str(person.pk), eating=True, dressing=True, transfer=False,
        toileting=False, walking=True, bathing=False, assessor="县民政局评估组")  # fmt: skip
    person.refresh_from_db()
    assert person.self_care == "partial" and person.economy.self_care_failed == 3
    act(rv, case, "confirm", D(2026, 3, 13))
    case.refresh_from_db()
    assert case.state == "approved" and case.amount > 0 and case.start_month == D(2026, 4, 1)


def test_temporary_above_the_township_limit_needs_the_county(personas):
    cw, rv = personas.caseworker_a, personas.reviewer
    h = registered_household(cw, villages(TOWN_A)[0], size=4, wage="0", financial="500")
    case, _ = services.intake(actor=cw, programme="temporary", channel="window", area_code=h.area_code,
                              applicant_name="王大山", applicant_id=head_id(h), temp_type="expenditure", temp_tier=3,
                              received_on=D(2026, 3, 2), signatures=signed())  # fmt: skip
    act(cw, case, "accept", D(2026, 3, 2))
    act(cw, case, "start_investigation", D(2026, 3, 3))
    act(cw, case, "record_investigation", D(2026, 3, 3), investigators="甲,乙", signed=True)
    act(cw, case, "propose", D(2026, 3, 4), opinion="因病支出过大，拟救助")
    level = services.assess.run(case, D(2026, 3, 12))["temporary"].details["approval_level"]
    assert level in ("county", "case_conference")
    with pytest.raises(services.Refused, match="报县级审批|超过乡镇"):
        act(cw, case, "township_approve", D(2026, 3, 12))
    act(cw, case, "submit_to_county", D(2026, 3, 12))
    if level == "county":
        act(rv, case, "confirm", D(2026, 3, 13))
    else:
        with pytest.raises(services.Refused, match="一事一议"):
            act(rv, case, "confirm", D(2026, 3, 13))
        act(rv, case, "refer_conference", D(2026, 3, 13), reason="超过县级审批额度")
        act(rv, case, "conference_decide", D(2026, 3, 20), participants="民政、卫健、医保", minutes="一事一议", amount="20000.00")
    case.refresh_from_db()
    assert case.state == "approved" and case.decisions.get().level in ("county", "conference")


def test_privacy_exclusion_takes_the_notice_down_and_complaints_force_a_county_visit(personas):
    cw, rv = personas.caseworker_a, personas.reviewer
    _h, case, _ = _dibao_case(personas)
    for action, on, data in (("accept", 2, {}), ("start_investigation", 3, {}),
                             ("record_investigation", 3, {"investigators": "甲,乙", "signed": True}),
                             ("request_verification", 3, {})):  # fmt: skip
        act(cw, case, action, D(2026, 3, on), **data)
    act(personas.verifier, case, "run_verification", D(2026, 3, 4))
    act(cw, case, "propose", D(2026, 3, 4), opinion="拟同意")
    assert Publicity.objects.filter(case=case, withdrawn_on__isnull=True).count() == 1
    with pytest.raises(services.Refused):
        act(cw, case, "exclude_publicity", D(2026, 3, 5), exclusion="nonsense")
    act(cw, case, "exclude_publicity", D(2026, 3, 5), exclusion="privacy", reason="重大疾病")
    assert Publicity.objects.filter(case=case, withdrawn_on__isnull=True).count() == 0
    act(rv, case, "record_complaint", D(2026, 3, 5), reason="实名举报其隐瞒收入")
    case.refresh_from_db()
    assert case.no_publicity and case.complaint_flag
    act(cw, case, "submit_to_county", D(2026, 3, 12))
    with pytest.raises(services.Refused, match="投诉举报"):
        act(rv, case, "confirm", D(2026, 3, 13))
    act(rv, case, "record_investigation", D(2026, 3, 13), investigators="县甲,县乙", signed=True)
    act(rv, case, "confirm", D(2026, 3, 13))
    assert not Publicity.objects.filter(case=case, kind="publication").exists()


def test_a_minor_head_is_never_posted(personas):
    from jiuzhu.registry.models import Person

    cw = personas.caseworker_a
    h, case, _ = _dibao_case(personas)
    Person.objects.filter(household=h, relation="02").update(birth_date=D(2010, 5, 1))
    for action, on, data in (("accept", 2, {}), ("start_investigation", 3, {}),
                             ("record_investigation", 3, {"investigators": "甲,乙", "signed": True}),
                             ("request_verification", 3, {})):  # fmt: skip
        act(cw, case, action, D(2026, 3, on), **data)
    act(personas.verifier, case, "run_verification", D(2026, 3, 4))
    act(cw, case, "propose", D(2026, 3, 4), opinion="拟同意")
    assert not Publicity.objects.filter(case=case).exists()


def test_transfer_links_the_household_of_the_receiving_township(personas):
    from jiuzhu.testing.fixtures import TOWN_B

    cw = personas.caseworker_a
    h_b = registered_household(personas.caseworker_b, villages(TOWN_B)[0])
    case, _ = services.intake(actor=cw, programme="dibao", channel="window", area_code=villages(TOWN_A)[0],
                              applicant_name="王大山", applicant_id=head_id(h_b), signatures=signed())  # fmt: skip
    assert case.household_id is None  # registered in 张滩镇, applied in 关庙镇
    act(cw, case, "transfer", to_area=TOWN_B, reason="户籍在张滩镇")
    case.refresh_from_db()
    assert case.township_code == TOWN_B and case.household_id == h_b.pk and case.area_code == h_b.area_code
    assert services.may(personas.caseworker_b, case, services.procedure("dibao").actions["accept"])
    assert not services.may(cw, case, services.procedure("dibao").actions["accept"])


def test_duplicate_open_application_is_pointed_out(personas):
    h, case, _ = _dibao_case(personas)
    other, _ = services.intake(actor=personas.caseworker_a, programme="dibao", channel="window", area_code=h.area_code,
                               applicant_name="王大山", applicant_id=head_id(h), signatures=signed())  # fmt: skip
    assert services.duplicates_of(other) == [case]


def test_materials_supplied_needs_the_declarations(personas):
    cw = personas.caseworker_a
    h = registered_household(cw, villages(TOWN_A)[0])
    case, _ = services.intake(actor=cw, programme="dibao", channel="window", area_code=h.area_code,
                              applicant_name="王大山", applicant_id=head_id(h), received_on=D(2026, 3, 2))  # fmt: skip
    act(cw, case, "request_materials", D(2026, 3, 2), items=["income_statement"])
    with pytest.raises(services.Refused, match="承诺书"):
        act(cw, case, "supply_materials", D(2026, 3, 5))
    act(cw, case, "supply_materials", D(2026, 3, 5), signer_name="王大山", signed_commitment=True, signed_authorisation=True)
    case.refresh_from_db()
    assert case.state == "accepted" and case.signatures.count() == 2


def test_advance_payment_within_the_township_limit(personas):
    cw = personas.caseworker_a
    h = registered_household(cw, villages(TOWN_A)[0])
    services.reserve_append(township=TOWN_A, kind="topup", amount=Decimal("50000.00"), on=D(2026, 9, 1), actor=personas.reviewer)
    case, _ = services.intake(actor=cw, programme="temporary", channel="window", area_code=h.area_code,
                              applicant_name="王大山", applicant_id=head_id(h), temp_type="emergency", temp_tier=1,
                              received_on=D(2026, 9, 28))  # fmt: skip
    limit = services.township_limit(case, D(2026, 9, 28))
    assert limit is not None  # temp.township_limit (an L value in the national pack)
    with pytest.raises(services.Refused, match="乡镇审批额度"):
        act(cw, case, "advance_pay", D(2026, 9, 28), amount=str(limit + 1))
    assert services.reserve_balance(TOWN_A) == Decimal("50000.00")
    act(cw, case, "advance_pay", D(2026, 9, 28), amount=str(limit))
