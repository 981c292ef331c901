"""``jiuzhu deadlines``: the daily overdue / due-soon list by township and officer — the same selection as the
办理时限 page (``selectors.due_items``), masked applicant names, one JSON document with ``--json``."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from jiuzhu.cases import selectors, services
from jiuzhu.cases.models import Deadline
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, villages

from .kit import act, signed

pytestmark = pytest.mark.django_db
D = dt.date
TODAY = D(2026, 3, 10)
RECEIVED = D(2026, 3, 2)


def _case(actor, town, name, programme="dibao", received=RECEIVED):
    case, _code = services.intake(actor=actor, programme=programme, channel="window", area_code=villages(town)[0],
                                  applicant_name=name, received_on=received, signatures=signed(name))  # fmt: skip
    return case


@pytest.fixture
def work(personas):
    cw_a, cw_b = personas.caseworker_a, personas.caseworker_b
    cw_a.full_name = "李经办"
    cw_a.save(update_fields=["full_name"])
    late = _case(cw_a, TOWN_A, "王大山")
    act(cw_a, late, "accept", D(2026, 3, 2))  # 启动调查 due 3-05: overdue on 3-10
    soon = _case(cw_a, TOWN_A, "赵小红")
    act(cw_a, soon, "accept", D(2026, 3, 9))  # due 3-12: in 2 days
    later = _case(cw_a, TOWN_A, "钱多多")
    act(cw_a, later, "accept", D(2026, 3, 10))  # due 3-13: beyond 2 days, within 3
    portal = _case(None, TOWN_A, "孙无主", programme="help")  # nobody holds it: triage due 3-05
    other = _case(cw_b, TOWN_B, "周远方")
    act(cw_b, other, "accept", D(2026, 3, 3))  # due 3-06: overdue
    done = _case(cw_a, TOWN_A, "吴已撤")
    act(cw_a, done, "accept", D(2026, 3, 2))
    act(cw_a, done, "withdraw", D(2026, 3, 3))  # closed: never listed
    return {"late": late, "soon": soon, "later": later, "portal": portal, "other": other, "done": done}


def run(*args: str) -> str:
    out = StringIO()
    call_command("deadlines", *args, stdout=out)
    return out.getvalue()


def test_json_groups_by_township_then_officer(personas, work):
    doc = json.loads(run("--date", "2026-03-10", "--days", "2", "--json"))
    assert doc["date"] == "2026-03-10" and doc["soon_days"] == 2 and doc["area"] is None
    assert (doc["overdue"], doc["due_soon"], doc["total"]) == (3, 1, 4) and not doc["truncated"]
    assert [t["code"] for t in doc["townships"]] == [TOWN_A, TOWN_B]
    a, b = doc["townships"]
    assert a["name"] and (a["overdue"], a["due_soon"]) == (2, 1) and (b["overdue"], b["due_soon"]) == (1, 0)
    # the officer holding the case first, the unassigned request last
    assert [(g["username"], g["overdue"], g["due_soon"]) for g in a["officers"]] == [("cw_a", 1, 1), (None, 1, 0)]
    items = a["officers"][0]["items"]
    assert [i["case_no"] for i in items] == [work["late"].case_no, work["soon"].case_no]
    first = items[0]
    assert first["deadline"] == "investigation_start" and first["due_on"] == "2026-03-05"
    assert first["status"] == "overdue" and first["days_left"] == -5 and first["applicant"] == "王*山"
    assert items[1]["status"] == "due_soon" and items[1]["days_left"] == 2
    assert a["officers"][1]["items"][0]["case_no"] == work["portal"].case_no
    text = json.dumps(doc, ensure_ascii=False)
    for full in ("王大山", "赵小红", "孙无主", "周远方", "李经办"):  # no personal names, applicants' or officers'
        assert full not in text
    assert work["later"].case_no not in text and work["done"].case_no not in text


def test_area_and_days(personas, work):
    doc = json.loads(run("--date", "2026-03-10", "--area", TOWN_B, "--json"))
    assert doc["area"] == TOWN_B and [t["code"] for t in doc["townships"]] == [TOWN_B]
    assert doc["townships"][0]["officers"][0]["items"][0]["case_no"] == work["other"].case_no
    three = json.loads(run("--date", "2026-03-10", "--days", "3", "--area", TOWN_A, "--json"))
    assert work["later"].case_no in json.dumps(three) and three["due_soon"] == 2
    # on 3-04 nothing is overdue yet; 0 days: only what falls due today
    assert json.loads(run("--date", "2026-03-04", "--days", "0", "--json"))["total"] == 0
    assert json.loads(run("--date", "2026-03-05", "--days", "0", "--json"))["due_soon"] == 2  # late, portal
    assert json.loads(run("--area", "440106", "--json"))["total"] == 0


def test_text_for_people(personas, work):
    text = run("--date", "2026-03-10", "--days", "2")
    assert text.startswith("办理时限日报 2026-03-10")
    assert "合计：超期 3 件，即将到期 1 件" in text
    assert "李经办（cw_a）：超期 1，即将到期 1" in text and "（未分配）：超期 1" in text
    assert f"[超期5天] {work['late'].case_no} 王*山 最低生活保障 启动调查" in text
    assert f"[2天后到期] {work['soon'].case_no} 赵*红" in text
    assert "王大山" not in text and text.index(TOWN_A) < text.index(TOWN_B)
    assert "没有超期或即将到期的事项" in run("--date", "2026-03-01", "--days", "0")


@pytest.mark.parametrize("args", [["--date", "2026-3-1"], ["--date", "2026-02-30"], ["--days", "31"],
                                  ["--days", "-1"], ["--days", "x"], ["--area", "12345"], ["--area", "619999"]])  # fmt: skip
def test_bad_input_is_exit_2(personas, args):
    with pytest.raises(CommandError) as e:
        run(*args)
    assert e.value.returncode == 2


def test_the_page_lists_the_same_items(personas, work, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: TODAY)
    rows = selectors.due_items(Deadline.objects.restrict(personas.caseworker_a, "view"), TODAY, 2)
    assert [r["case"].case_no for r in rows] == [work["late"].case_no, work["portal"].case_no, work["soon"].case_no]
    assert [r["status"] for r in rows] == ["overdue", "overdue", "due_soon"]
    # the status follows the horizon asked for (the page used to call everything beyond 3 days "open")
    wide = selectors.due_items(Deadline.objects.all(), D(2026, 3, 4), 10)
    assert {r["status"] for r in wide} == {"due_soon"}
    c = Client()
    c.force_login(personas.caseworker_a)
    body = c.get("/cases/deadlines/", {"days": "2"}).content.decode()
    for r in rows:
        assert r["case"].case_no in body
    assert work["other"].case_no not in body
    assert c.get("/cases/deadlines/", {"days": "x²"}).status_code == 200
