"""动态管理 at the service level (issue 6, acceptance 6): the review schedule by class, a review that finds income
above the line putting a 低保 household into 渐退 for the area's months and then stopping it (the payroll of the
following months, the notice), a death mid-month (next month's payroll evaluates the household without the
person, the recipient changes, a re-assessment due within 3 months), three refused job offers, and a 特困
termination with its publicity.

Age thresholds need nothing from dynamic management: ``jiuzhu/payments/tests/test_generate.py::
test_a_birthday_changes_the_month_without_editing_the_case`` proves the payroll pays the 高龄补贴 from the month
after the 70th birthday without anyone editing the case."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jiuzhu.cases import dynamic
from jiuzhu.cases.documents import build_review_notice
from jiuzhu.cases.models import Publicity, Review
from jiuzhu.cases.tests.kit import registered_household
from jiuzhu.core.models import AuditEvent
from jiuzhu.core.months import same_day_months_later
from jiuzhu.core.pdf import render
from jiuzhu.payments import services as pay
from jiuzhu.payments.evaluation import evaluate_households
from jiuzhu.payments.models import Entitlement
from jiuzhu.payments.tests.kit import MONTH, granted, sync
from jiuzhu.registry.models import Household, Person, PersonEconomy
from jiuzhu.registry.policy_input import household_inputs
from jiuzhu.testing.fixtures import TOWN_A, villages
from jiuzhu.testing.pdftext import text_of
from jiuzhu.verification.tests.test_run import feed

pytestmark = pytest.mark.django_db
ON = dt.date(2026, 3, 13)
APRIL = dt.date(2026, 4, 1)


def engine_amount(h: Household, month: dt.date, programme: str = "dibao") -> Decimal | None:
    qs = Household.objects.filter(pk=h.pk)
    inputs = {h.pk: household_inputs(qs, on=month)[0]}
    o = evaluate_households(inputs, month, programme)[h.pk]
    return o.amount if o.status == "ok" else None


def line(month: dt.date, h: Household, actor, programme: str = "dibao"):
    run = pay.generate(area_code=TOWN_A, month=month, programme=programme, actor=actor)
    assert run.status == "generated"
    return run.lines.filter(household=h).first()


def test_schedule_by_class_is_idempotent(personas):
    cw = personas.caseworker_a
    vs = villages(TOWN_A)
    unstable = granted(cw, vs[0])  # a working-age head with a wage
    stable = granted(cw, vs[0], wage="0")
    tekun = granted(cw, vs[0], programme="tekun", size=1)
    granted(cw, vs[0], programme="elderly")  # not reviewed on a schedule
    Person.objects.filter(household=unstable, relation="02").update(
        birth_date=dt.date(1985, 6, 1)
    )  # working age
    sync()
    counts = dynamic.schedule_reviews(TOWN_A, ON, cw)
    assert counts["created"] == 3
    reviews = {r.household_id: r for r in Review.objects.all()}
    assert (reviews[unstable.pk].interval_months, reviews[unstable.pk].due_on) == (6, dt.date(2026, 7, 1))
    assert "半年" in reviews[unstable.pk].interval_rule
    assert (reviews[stable.pk].interval_months, reviews[stable.pk].due_on) == (12, dt.date(2027, 1, 1))
    assert (reviews[tekun.pk].interval_months, reviews[tekun.pk].kind) == (12, "scheduled")
    assert dynamic.schedule_reviews(TOWN_A, ON, cw)["created"] == 0  # idempotent
    assert Review.objects.count() == 3
    # the queue: due within 30 days or overdue, in the user's area only
    assert list(dynamic.queue(cw, dt.date(2026, 6, 15))) == [reviews[unstable.pk]]
    assert not dynamic.queue(personas.caseworker_b, dt.date(2027, 6, 1)).exists()


def test_acceptance_6_review_income_above_the_line_gradual_exit_then_stop(personas):
    cw = personas.caseworker_a
    h = granted(cw, villages(TOWN_A)[0], amount="500.00")
    sync()
    e = Entitlement.objects.get(household=h)
    dynamic.schedule_reviews(TOWN_A, ON, cw)
    review = Review.objects.get(household=h)
    before = line(MONTH, h, cw)  # January: paid as 低保
    assert before is not None and before.amount > 0
    head = h.members.order_by("pk").first()
    feed(head, "tax", "wage", amount=Decimal("3000.00"))  # a new job found by the 税务 records

    done = dynamic.complete_review(review, actor=cw, on=ON, reasons="户主已在县城就业")
    assert (done.status, done.outcome) == ("done", "gradual_exit")
    # Shaanxi's dibao.gradual_exit_months (12, M) from the parameter pack, resolved for the household's village
    assert done.exit_months == 12 and done.engine["parameter"]["scope"] == "610000"
    assert done.effective_month == APRIL and done.last_paid_month == dt.date(2027, 3, 1)
    # the exit keeps paying what the household was paid (the engine's January amount, not the decided 500.00)
    assert done.amount_before == before.amount != Decimal("500.00")
    assert (
        done.verification_run.purpose == "review"
        and done.verification_run.findings.filter(kind="wage").exists()
    )
    assert "户主已在县城就业" in done.reasons and "渐退" in done.reasons
    e.refresh_from_db()
    assert (e.status, e.end_month) == ("stopped", dt.date(2027, 3, 1))
    # the payroll of the following months: the same amount during the exit, then nothing
    for month in (APRIL, dt.date(2026, 9, 1), dt.date(2027, 3, 1)):
        got = line(month, h, cw)
        assert got is not None and got.amount == before.amount == done.amount_after, month
    assert line(dt.date(2027, 4, 1), h, cw) is None
    assert not pay.in_scope(TOWN_A, dt.date(2027, 4, 1), "dibao").filter(pk=e.pk).exists()
    # the notice: 渐退 months, the last month paid, the parameter's source
    text = text_of(render(build_review_notice(done), compress=False)).replace("\n", "")
    assert "低保渐退通知书" in text and "12个月" in text and "2027年3月" in text and "陕民发" in text
    # and the 停发通知书 when the exit ends: 低保 stops from April 2027
    from jiuzhu.cases.documents import build_exit_end_notice

    end = text_of(render(build_exit_end_notice(done, on=dt.date(2027, 3, 10)), compress=False)).replace("\n", "")
    assert "最低生活保障停发通知书" in end and "自2027年4月起停止发放低保金" in end and "2027年3月" in end
    assert AuditEvent.objects.filter(action="review.completed").exists()
    assert AuditEvent.objects.filter(action="entitlement.gradual_exit").exists()
    # no new scheduled cycle for a household already leaving; the old one is done
    assert dynamic.schedule_reviews(TOWN_A, dt.date(2026, 8, 1), cw)["created"] == 0
    # a review cannot be done twice
    with pytest.raises(dynamic.Refused):
        dynamic.complete_review(done, actor=cw, on=ON)


def test_review_stop_lists_other_programmes_and_refuses_other_areas(personas):
    cw = personas.caseworker_a
    h = granted(cw, villages(TOWN_A)[0])
    sync()
    dynamic.schedule_reviews(TOWN_A, ON, cw)
    review = Review.objects.get(household=h)
    head = h.members.order_by("pk").first()
    with pytest.raises(dynamic.Forbidden):
        dynamic.complete_review(review, actor=personas.caseworker_b, on=ON)
    feed(head, "vehicle", "vehicle", category="car", amount=Decimal("120000"))  # a car: assets fail, no 渐退
    done = dynamic.complete_review(review, actor=cw, on=ON)
    assert done.outcome == "stop" and done.last_paid_month == dt.date(2026, 3, 1)
    assert isinstance(done.other_programmes, list)  # what else the engine finds (may be none with a car)
    e = Entitlement.objects.get(household=h)
    assert (e.status, e.end_month) == ("stopped", dt.date(2026, 3, 1))
    assert line(APRIL, h, cw) is None
    text = text_of(render(build_review_notice(done), compress=False)).replace("\n", "")
    assert "停发通知书" in text and "2026年4月" in text and "行政复议" in text


def test_no_change_keeps_the_amount(personas):
    cw = personas.caseworker_a
    h = granted(cw, villages(TOWN_A)[0])
    sync()
    e = Entitlement.objects.get(household=h)
    e.amount = engine_amount(h, APRIL)
    e.save()
    dynamic.schedule_reviews(TOWN_A, ON, cw)
    done = dynamic.complete_review(Review.objects.get(household=h), actor=cw, on=ON)
    assert done.outcome == "no_change" and done.amount_after == e.amount
    e.refresh_from_db()
    assert e.status == "active" and e.end_month is None
    assert "救助金变更通知书" in text_of(render(build_review_notice(done), compress=False))


def test_a_death_mid_month_stops_the_persons_benefit_from_next_month(personas):
    cw = personas.caseworker_a
    h = granted(cw, villages(TOWN_A)[0], size=3)
    sync()
    e = Entitlement.objects.get(household=h)
    head, spouse, _child = list(h.members.order_by("pk"))
    march = line(dt.date(2026, 3, 1), h, cw)
    assert march is not None and march.amount == engine_amount(h, dt.date(2026, 3, 1))
    # a member dies on 13 March
    reviews = dynamic.record_death(spouse, ON, actor=cw)
    assert len(reviews) == 1
    r = reviews[0]
    assert (r.kind, r.trigger, r.person_id, r.due_on) == ("event", "death", spouse.pk, dt.date(2026, 6, 13))
    assert r.due_on <= same_day_months_later(ON, 3) and r.status == "open"
    e.refresh_from_db()
    assert e.status == "active" and e.recipient_id == head.pk
    # April's payroll evaluates the household with two members (the engine on 1 April): less than March
    inputs = household_inputs(Household.objects.filter(pk=h.pk), on=APRIL)[0]
    assert [m["id"] for m in inputs["members"]] == [str(head.pk), str(_child.pk)] or len(
        inputs["members"]
    ) == 2
    april = line(APRIL, h, cw)
    assert april is not None and april.amount == engine_amount(h, APRIL) < march.amount
    # idempotent: recording again or scanning the registry adds no second task
    dynamic.record_death(spouse, ON, actor=cw)
    dynamic.scan_deaths(TOWN_A, ON, cw)
    assert Review.objects.filter(trigger="death").count() == 1
    # the recipient (the head) dies too: the household's payments go to the living member from next month
    dynamic.record_death(head, dt.date(2026, 4, 20), actor=cw)
    e.refresh_from_db()
    assert e.status == "active" and e.recipient_id == _child.pk
    assert Review.objects.get(person=head).due_on == dt.date(2026, 7, 20)


def test_a_death_in_the_registry_or_a_funeral_record_is_picked_up(personas):
    cw = personas.caseworker_a
    vs = villages(TOWN_A)
    h = granted(cw, vs[0], size=2)
    alone = granted(cw, vs[0], programme="tekun", size=1)
    sync()
    # the registry marks a death (an import, the township's edit): the schedule picks it up
    other = h.members.order_by("pk").last()
    Person.objects.filter(pk=other.pk).update(death_date=dt.date(2026, 3, 2))
    counts = dynamic.schedule_reviews(TOWN_A, ON, cw)
    assert counts["deaths"] == 1
    assert Review.objects.get(trigger="death").due_on == dt.date(2026, 6, 2)
    # a 殡葬 record found by a review's verification: the 特困 person's support stops from next month
    dynamic.schedule_reviews(TOWN_A, ON, cw)
    review = Review.objects.get(household=alone, kind="scheduled")
    person = alone.members.get()
    feed(person, "funeral", "death", event_date=dt.date(2026, 3, 5), period=dt.date(2026, 3, 5))
    done = dynamic.complete_review(review, actor=cw, on=ON)  # the review's run finds the death
    assert done.status == "closed" and done.verification_run.findings.filter(kind="death").exists()
    dynamic.deaths_from_run(done.verification_run, actor=cw)  # again: nothing new
    assert Review.objects.filter(household=alone).count() == 1
    person.refresh_from_db()
    assert person.death_date == dt.date(2026, 3, 5)
    e = Entitlement.objects.get(household=alone)
    assert (e.status, e.end_month) == ("stopped", dt.date(2026, 3, 1))
    assert line(APRIL, alone, cw, "tekun") is None
    assert review not in dynamic.queue(cw, dt.date(2027, 6, 1))
    # an open review whose support ended otherwise is closed by the schedule
    other = granted(cw, vs[0], programme="tekun", size=1)
    sync()
    dynamic.schedule_reviews(TOWN_A, ON, cw)
    r2 = Review.objects.get(household=other, kind="scheduled")
    dynamic.record_death(other.members.get(), dt.date(2026, 3, 20), actor=cw)
    assert dynamic.schedule_reviews(TOWN_A, APRIL, cw)["closed"] == 1
    r2.refresh_from_db()
    assert r2.status == "closed"


def test_three_refused_job_offers_take_out_the_persons_own_share(personas):
    cw = personas.caseworker_a
    h = granted(cw, villages(TOWN_A)[0], size=3)
    sync()
    e = Entitlement.objects.get(household=h)
    e.amount = engine_amount(h, APRIL)
    e.save()
    son = h.members.order_by("pk")[1]
    Person.objects.filter(pk=son.pk).update(birth_date=dt.date(1998, 5, 1))
    days = [dt.date(2026, 1, 10), dt.date(2026, 2, 10), dt.date(2026, 2, 20), dt.date(2026, 3, 1)]
    _r, review = dynamic.record_job_refusal(person=son, offered_on=days[0], job="保洁", actor=cw)
    assert review is None
    dynamic.record_job_refusal(
        person=son, offered_on=days[1], job="保安", actor=cw, good_reason=True, reason="患病"
    )
    for d in days[2:]:
        _r, review = dynamic.record_job_refusal(person=son, offered_on=d, job="装配工", actor=cw)
        assert review is None  # the run was broken by a refusal with good reason
    _r, review = dynamic.record_job_refusal(person=son, offered_on=dt.date(2026, 3, 5), job="司机", actor=cw)
    assert review is not None and review.trigger == "job_refusal" and review.person_id == son.pk
    done = dynamic.complete_review(review, actor=cw, on=ON)
    assert done.outcome in ("decrease", "stop") and done.amount_after < done.amount_before
    e.refresh_from_db()
    assert e.amount == done.amount_after


def test_tekun_termination_goes_to_publicity_first(personas):
    cw = personas.caseworker_a
    h = granted(cw, villages(TOWN_A)[0], programme="tekun", size=1, wage="2500")  # working age, a wage
    Person.objects.filter(household=h).update(birth_date=dt.date(1985, 6, 1))
    sync()
    dynamic.schedule_reviews(TOWN_A, ON, cw)
    review = Review.objects.get(household=h)
    done = dynamic.complete_review(review, actor=cw, on=ON)
    assert (done.status, done.outcome) == ("publicity", "stop")
    pub = Publicity.objects.get(pk=done.publicity_id)
    assert (pub.kind, pub.starts_on, pub.ends_on) == ("publicity", ON, dt.date(2026, 3, 19))
    e = Entitlement.objects.get(household=h)
    assert e.status == "active"  # nothing stops during the publicity
    with pytest.raises(dynamic.Refused):
        dynamic.finish_termination(done, actor=cw, on=dt.date(2026, 3, 18))
    done = dynamic.finish_termination(done, actor=cw, on=dt.date(2026, 3, 20))
    e.refresh_from_db()
    assert done.status == "done" and (e.status, e.end_month) == ("stopped", dt.date(2026, 3, 1))
    assert "特困人员终止救助供养通知书" in text_of(render(build_review_notice(done), compress=False))


def test_income_unstable_rule(personas):
    cw = personas.caseworker_a
    h = registered_household(cw, villages(TOWN_A)[0], wage="0")
    Person.objects.filter(household=h, relation="02").update(birth_date=dt.date(1985, 6, 1))
    assert dynamic.unstable_income(h, ON)[0] is False
    PersonEconomy.objects.filter(person__household=h).update(business=Decimal("300"))
    assert dynamic.unstable_income(h, ON)[0] is True


def test_pages_queue_review_outcome_and_notice(personas):
    from django.test import Client

    cw = personas.caseworker_a
    h = granted(cw, villages(TOWN_A)[0], amount="500.00")
    sync()
    c = Client()
    c.force_login(cw)
    r = c.post("/cases/reviews/schedule/")
    assert r.status_code == 302 and Review.objects.filter(household=h).exists()
    review = Review.objects.get(household=h)
    Review.objects.filter(pk=review.pk).update(due_on=dt.date.today())
    page = c.get("/cases/reviews/").content.decode()
    assert h.household_no in page and "动态管理" in page
    feed(h.members.order_by("pk").first(), "tax", "wage", amount=Decimal("3000.00"), period=dt.date.today().replace(day=1))
    assert c.post(f"/cases/reviews/{review.pk}/", {"action": "verify"}).status_code == 302
    page = c.get(f"/cases/reviews/{review.pk}/").content.decode()
    assert 'data-testid="review-verification"' in page and "核对结论" in page
    assert "3,222" not in page and "3000" not in page  # the township sees the conclusion, not the records
    assert 'data-testid="review-proposed">渐退' in page
    r = c.post(f"/cases/reviews/{review.pk}/", {"action": "complete", "outcome": "stop", "reasons": "x"})
    assert r.status_code == 302 and Review.objects.get(pk=review.pk).status == "open"  # not the engine's outcome
    r = c.post(f"/cases/reviews/{review.pk}/", {"action": "complete", "outcome": "gradual_exit", "reasons": "户主就业"})
    assert r.status_code == 302
    done = Review.objects.get(pk=review.pk)
    assert (done.status, done.outcome, done.exit_months) == ("done", "gradual_exit", 12)
    pdf = c.get(f"/cases/reviews/{review.pk}/notice.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "低保渐退通知书" in text_of(pdf.content)
    end = c.get(f"/cases/reviews/{review.pk}/exit-end.pdf")
    assert end.status_code == 200 and "停发通知书" in text_of(end.content)
    # another township's caseworker and the supervisor get the 404 of a missing review
    for other in (personas.caseworker_b, personas.supervisor):
        o = Client()
        o.force_login(other)
        assert o.get(f"/cases/reviews/{review.pk}/").status_code == 404
        assert o.get(f"/cases/reviews/{review.pk}/notice.pdf").status_code == 404
    assert Client().get("/cases/reviews/").status_code == 302  # login first


def test_reviews_schedule_command(personas):
    import json
    from io import StringIO

    from django.core.management import CommandError, call_command

    granted(personas.caseworker_a, villages(TOWN_A)[0])
    sync()
    out = StringIO()
    call_command("reviews_schedule", "--area", TOWN_A, "--date", "2026-03-13", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"area": TOWN_A, "date": "2026-03-13", "created": 1, "open": 0, "deaths": 0,
                                              "closed": 0}
    out = StringIO()
    call_command("reviews_schedule", "--area", TOWN_A, "--date", "2026-03-13", stdout=out)
    assert "0 new review(s), 1 still open" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("reviews_schedule", "--area", "61x")


def test_pages_in_english(personas):
    from django.test import Client

    cw = personas.caseworker_a
    h = granted(cw, villages(TOWN_A)[0])
    sync()
    dynamic.schedule_reviews(TOWN_A, dt.date.today(), cw)
    review = Review.objects.get(household=h)
    Review.objects.filter(pk=review.pk).update(due_on=dt.date.today())
    c = Client()
    c.force_login(cw)
    c.cookies["django_language"] = "en"
    page = c.get("/cases/reviews/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Generate review tasks" in page and "Scheduled review" in page
    assert "生成复核任务" not in page and "定期复核" not in page and "动态管理复核" not in page
    c.post(f"/cases/reviews/{review.pk}/", {"action": "verify"}, HTTP_ACCEPT_LANGUAGE="en")
    page = c.get(f"/cases/reviews/{review.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Proposed outcome" in page and "Complete the review" in page and "Review verification" in page
    assert "建议复核结果" not in page and "办结复核" not in page and "复核核对" not in page
