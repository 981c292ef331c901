"""``jiuzhu generate-payroll`` (SECURITY PAY-CRASH's command): generates as the named user, prints the run, and is
idempotent — a rerun gives the same run and writes nothing; refusals and bad input are a non-zero exit with a
message saying why."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from jiuzhu.cli import main as jiuzhu_main
from jiuzhu.core.models import AuditEvent
from jiuzhu.payments import services
from jiuzhu.payments.models import PayrollLine, PayrollRun, PayrollSkip
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, villages

from .kit import MONTH, granted, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(personas):
    vs = villages(TOWN_A)
    hs = [granted(personas.caseworker_a, vs[i % 2]) for i in range(3)]
    rich = granted(personas.caseworker_a, vs[0], wage="9000")  # not eligible in the month: a skip
    sync()
    return hs, rich


def run_cmd(*args: str) -> str:
    out = io.StringIO()
    call_command("generate_payroll", *args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, int, int, int]:
    return PayrollRun.objects.count(), PayrollLine.objects.count(), PayrollSkip.objects.count(), AuditEvent.objects.count()


def test_generates_prints_and_a_rerun_is_the_same_run(personas, world):
    args = ("--area", TOWN_A, "--month", "2026-01", "--programme", "dibao", "--user", "cw_a")
    text = run_cmd(*args)
    run = PayrollRun.objects.get()
    assert (run.status, run.line_count, run.made_by_id) == ("generated", 3, personas.caseworker_a.pk)
    assert f"run {run.pk}: {TOWN_A} 2026-01 dibao" in text
    assert "status generated" in text and f"lines 3, total {run.total_amount:.2f}" in text
    assert "skipped not_eligible" in text and ": 1" in text
    before = counts()
    assert run_cmd(*args) == text
    assert counts() == before
    data = json.loads(run_cmd(*args, "--json"))
    assert data == {"run": run.pk, "area": TOWN_A, "month": "2026-01", "programme": "dibao", "status": "generated",
                    "version": run.version, "lines": 3, "total": f"{run.total_amount:.2f}",
                    "skipped": {"not_eligible": 1}, "price_subsidy_run": None}  # fmt: skip
    assert counts() == before


def test_the_jiuzhu_entry_point_takes_the_hyphenated_name(personas, world, capsys):
    jiuzhu_main(["generate-payroll", "--area", TOWN_A, "--month", "2026-01", "--user", "cw_a", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["programme"] == "all" and data["status"] == "generated" and data["lines"] == 3
    assert data["price_subsidy_run"] is None  # no CPI figure entered: no subsidy


def test_idempotency_key_same_request_same_run_other_request_refused(personas, world):
    args = ("--area", TOWN_A, "--month", "2026-01", "--user", "cw_a", "--idempotency-key", "job-42", "--json")
    first = json.loads(run_cmd(*args))
    assert json.loads(run_cmd(*args)) == first
    before = counts()
    with pytest.raises(CommandError, match="idempotency key conflict") as e:
        run_cmd("--area", TOWN_A, "--month", "2026-02", "--user", "cw_a", "--idempotency-key", "job-42")
    assert e.value.returncode == 1 and "该幂等键已用于另一发放请求" in str(e.value)
    assert counts() == before


def test_resumes_a_run_left_generating(personas, world):
    class Boom(Exception):
        pass

    def die(run, n):
        raise Boom

    with pytest.raises(Boom):
        services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a,
                          chunk_size=1, after_chunk=die)  # fmt: skip
    run = PayrollRun.objects.get()
    assert run.status == "generating" and run.lines.count() + run.skips.count() == 1
    data = json.loads(run_cmd("--area", TOWN_A, "--month", "2026-01", "--programme", "dibao", "--user", "cw_a", "--json"))
    assert data["run"] == run.pk and data["status"] == "generated" and data["lines"] == 3
    assert PayrollLine.objects.count() == 3


@pytest.mark.parametrize(("args", "code", "message"), [
    (("--area", "61090", "--month", "2026-01", "--user", "cw_a"), 2, "unknown division code"),
    (("--area", "610902100999", "--month", "2026-01", "--user", "cw_a"), 2, "unknown division code"),
    (("--area", TOWN_A, "--month", "2026-13", "--user", "cw_a"), 2, "expected YYYY-MM"),
    (("--area", TOWN_A, "--month", "2026/01", "--user", "cw_a"), 2, "expected YYYY-MM"),
    (("--area", TOWN_A, "--month", "2026-01", "--user", "nobody"), 2, "no such user"),
    (("--area", TOWN_A, "--month", "2026-01", "--user", "cw_a", "--programme", "temporary"), 0, "invalid choice"),
    (("--area", TOWN_A, "--month", "2026-01", "--user", "cw_a", "--idempotency-key", "a b"), 2, "visible ASCII"),
    (("--area", TOWN_A, "--month", "2026-01", "--user", "cw_b"), 1, "forbidden"),  # another township's officer
    (("--area", TOWN_B, "--month", "2026-01", "--user", "va_a"), 1, "forbidden"),  # no payment permission
    (("--area", TOWN_A, "--month", "2026-01", "--user", "sv"), 1, "forbidden"),
])  # fmt: skip
def test_bad_input_and_refusals_exit_non_zero(personas, world, args, code, message):
    with pytest.raises(CommandError, match=message) as e:
        run_cmd(*args)
    assert e.value.returncode == code or (code == 0 and e.value.returncode)  # argparse's own: 1 here, 2 from a shell
    assert not PayrollRun.objects.exists()


def test_forbidden_says_why_in_chinese(personas, world):
    with pytest.raises(CommandError) as e:
        run_cmd("--area", TOWN_A, "--month", "2026-01", "--user", "cw_b")
    assert "无权办理该区域的资金发放" in str(e.value)


def test_a_disabled_user_is_refused(personas, world):
    personas.caseworker_a.is_active = False
    personas.caseworker_a.save()
    with pytest.raises(CommandError, match="disabled") as e:
        run_cmd("--area", TOWN_A, "--month", "2026-01", "--user", "cw_a")
    assert e.value.returncode == 1 and not PayrollRun.objects.exists()


def test_a_rerun_after_approval_reports_the_same_run(personas, world):
    run_cmd("--area", TOWN_A, "--month", "2026-01", "--programme", "dibao", "--user", "cw_a")
    run = PayrollRun.objects.get()
    services.approve(run, personas.reviewer)
    # an approved run is still the same run: the rerun reports it and writes nothing
    text = run_cmd("--area", TOWN_A, "--month", "2026-01", "--programme", "dibao", "--user", "cw_a")
    assert "status approved" in text and PayrollRun.objects.count() == 1
