"""The payroll pages: generate (the same request lands on the same run), 双人复核 (the maker sees no approve
button and is refused), exports as downloads, cancel, bank returns (row/column errors refuse the file and apply
nothing; the same file again changes nothing), re-issue refused until the account is corrected, entitlements
filtered; another area's run is a 404 exactly like a missing one; roles without ``pay`` get 403."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from jiuzhu.payments.models import BankReturn, Entitlement, PayrollLine, PayrollRun
from jiuzhu.testing.fixtures import TOWN_A, villages

from .kit import MONTH, change_account, granted, return_csv, sync

pytestmark = pytest.mark.django_db
MISSING = 987654321


@pytest.fixture(autouse=True)
def inline(settings):
    settings.JIUZHU_JOBS_INLINE = True


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def world(personas):
    vs = villages(TOWN_A)
    hs = [granted(personas.caseworker_a, vs[i % len(vs)]) for i in range(3)]
    granted(personas.caseworker_a, vs[0], programme="elderly", amount="100.00")
    sync()
    return hs


def generate(c: Client, programme: str = "all", key: str = "k1"):
    return c.post("/payments/", {"area": TOWN_A, "month": MONTH.strftime("%Y-%m"), "programme": programme, "key": key})


def messages_of(r) -> str:
    return " ".join(str(m) for m in r.context["messages"]) if r.context else ""


def test_generate_is_idempotent_and_the_run_page_shows_totals(personas, world):
    cw = client(personas.caseworker_a)
    r = cw.get("/payments/")
    assert r.status_code == 200 and 'data-testid="nav-payments"' in r.content.decode()
    r = generate(cw)
    run = PayrollRun.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/payments/runs/{run.pk}/"
    assert run.status == "generated" and run.programme == "all" and run.made_by == personas.caseworker_a
    assert generate(cw)["Location"] == r["Location"]  # the same form twice
    assert generate(cw, key="k2")["Location"] == r["Location"]  # the same request from a new form
    assert PayrollRun.objects.count() == 1
    page = cw.get(r["Location"]).content.decode()
    assert f'data-testid="total-amount">{run.total_amount}<' in page
    assert 'data-testid="maker-note"' in page and 'data-testid="approve"' not in page
    line = run.lines.first()
    assert line.bank_account_masked in page and "6228480402564890018" not in page  # masked only
    # the form's key reused for another request: a message, no new run, no error page
    r = generate(cw, programme="dibao", key="k1")
    assert r.status_code == 200 and "幂等键" in messages_of(r) and PayrollRun.objects.count() == 1


def test_maker_cannot_approve_and_another_officer_can(personas, world):
    cw, rv = client(personas.caseworker_a), client(personas.reviewer)
    generate(cw)
    run = PayrollRun.objects.get()
    r = cw.post(f"/payments/runs/{run.pk}/approve/", follow=True)
    assert r.status_code == 200 and "不能审核本人生成的发放批次" in messages_of(r)
    run.refresh_from_db()
    assert run.status == "generated" and run.approved_by is None
    assert 'data-testid="approve"' in rv.get(f"/payments/runs/{run.pk}/").content.decode()
    assert cw.post(f"/payments/runs/{run.pk}/export/csv/").status_code == 302  # not approved: refused, redirected
    r = rv.post(f"/payments/runs/{run.pk}/approve/", follow=True)
    run.refresh_from_db()
    assert run.status == "approved" and run.approved_by == personas.reviewer
    assert rv.get(f"/payments/runs/{run.pk}/export/csv/").status_code == 405  # a POST only
    r = cw.post(f"/payments/runs/{run.pk}/export/csv/")
    assert r.status_code == 200 and r["Content-Disposition"].startswith('attachment; filename="payroll-')
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == run.line_count
    r = cw.post(f"/payments/runs/{run.pk}/export/xlsx/")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    run.refresh_from_db()
    assert run.status == "exported"
    r = cw.post(f"/payments/runs/{run.pk}/cancel/", {"reason": "错误"}, follow=True)
    assert "不能作废" in messages_of(r)


def test_another_areas_run_is_a_404_like_a_missing_one_and_other_roles_get_403(personas, world):
    generate(client(personas.caseworker_a))
    run = PayrollRun.objects.get()
    other = client(personas.caseworker_b)
    for suffix, method in (("", "get"), ("progress/", "get"), ("approve/", "post"), ("export/csv/", "post"),
                           ("reissue/", "post"), ("cancel/", "post")):  # fmt: skip
        r = getattr(other, method)(f"/payments/runs/{run.pk}/{suffix}")
        m = getattr(other, method)(f"/payments/runs/{MISSING}/{suffix}")
        assert r.status_code == 404 and (r.status_code, r.content) == (m.status_code, m.content), suffix
    run.refresh_from_db()
    assert run.status == "generated"
    vf = client(personas.verifier)  # in the county, no payment permission
    assert vf.get(f"/payments/runs/{run.pk}/").status_code == 403
    for path in ("/payments/", "/payments/entitlements/", "/payments/returns/"):
        assert vf.get(path).status_code == 403
    assert 'data-testid="nav-payments"' not in vf.get("/cases/").content.decode()
    assert not other.get("/payments/").context["rows"]  # the list shows only the user's area


def _exported(personas):
    cw, rv = client(personas.caseworker_a), client(personas.reviewer)
    generate(cw, programme="dibao")
    run = PayrollRun.objects.get()
    rv.post(f"/payments/runs/{run.pk}/approve/")
    cw.post(f"/payments/runs/{run.pk}/export/csv/")
    run.refresh_from_db()
    assert run.status == "exported"
    return cw, rv, run


def upload(c: Client, data: bytes, name: str = "return.csv"):
    f = io.BytesIO(data)
    f.name = name
    return c.post("/payments/returns/", {"file": f})


def test_a_malformed_return_shows_row_and_column_errors_and_applies_nothing(personas, world):
    cw, _rv, run = _exported(personas)
    lines = list(run.lines.order_by("pk"))
    data = return_csv([(lines[0].reference, "1.234", "成功", ""), (lines[1].reference, f"{lines[1].amount}", "失败", "")])
    r = upload(cw, data)
    page = r.content.decode()
    assert r.status_code == 422 and 'data-testid="return-refused"' in page
    assert "第2行" in page and "第3行" in page and "金额" in page and "失败原因" in page
    assert not BankReturn.objects.exists()
    assert set(run.lines.values_list("status", flat=True)) == {"pending"}


def test_return_then_reissue_after_the_account_is_corrected(personas, world):
    cw, rv, run = _exported(personas)
    lines = list(run.lines.order_by("pk"))
    rows = [(ln.reference, f"{ln.amount}", "成功", "") for ln in lines[1:]]
    data = return_csv([(lines[0].reference, f"{lines[0].amount}", "失败", "账户已销户"), *rows, ("JZ999E999", "1.00", "成功", "")])
    r = upload(cw, data)
    page = r.content.decode()
    assert r.status_code == 200 and 'data-testid="return-applied"' in page
    assert 'data-testid="count-failed">1<' in page and 'data-testid="count-unknown">1<' in page and "JZ999E999" in page
    r = upload(cw, data)  # the same file again
    assert 'data-testid="return-duplicate"' in r.content.decode() and BankReturn.objects.count() == 1
    failed = PayrollLine.objects.get(pk=lines[0].pk)
    assert failed.status == "failed"
    page = cw.get(f"/payments/runs/{run.pk}/").content.decode()
    assert 'data-testid="failed-row"' in page and f"/households/{failed.household_id}/edit/" in page
    r = cw.post(f"/payments/runs/{run.pk}/reissue/", {"line": [failed.pk]}, follow=True)
    assert "银行账号尚未更正" in messages_of(r) and PayrollRun.objects.count() == 1
    change_account(personas.caseworker_a, failed.household)
    assert 'data-testid="account-corrected"' in cw.get(f"/payments/runs/{run.pk}/").content.decode()
    r = cw.post(f"/payments/runs/{run.pk}/reissue/", {"line": [failed.pk]})
    new = PayrollRun.objects.get(kind="reissue")
    assert r["Location"] == f"/payments/runs/{new.pk}/" and new.line_count == 1 and new.total_amount == failed.amount
    assert "maker-note" in cw.get(r["Location"]).content.decode()
    rv.post(f"/payments/runs/{new.pk}/approve/")
    new.refresh_from_db()
    assert new.status == "approved"


def test_cancel_needs_a_reason(personas, world):
    cw = client(personas.caseworker_a)
    generate(cw)
    run = PayrollRun.objects.get()
    r = cw.post(f"/payments/runs/{run.pk}/cancel/", {"reason": ""}, follow=True)
    assert "作废原因" in messages_of(r)
    cw.post(f"/payments/runs/{run.pk}/cancel/", {"reason": "月份选错"})
    run.refresh_from_db()
    assert run.status == "cancelled" and run.cancel_reason == "月份选错"
    generate(cw, key="k9")  # a new run may be generated after the cancel
    assert PayrollRun.objects.exclude(status="cancelled").count() == 1


def test_entitlements_list_filters(personas, world):
    cw = client(personas.caseworker_a)
    r = cw.get("/payments/entitlements/")
    assert r.status_code == 200 and r.context["totals"]["n"] == Entitlement.objects.count() == 4
    r = cw.get("/payments/entitlements/", {"programme": "elderly"})
    assert [e.programme for e in r.context["page"]] == ["elderly"]
    r = cw.get("/payments/entitlements/", {"status": "stopped"})
    assert r.context["totals"]["n"] == 0
    assert client(personas.caseworker_b).get("/payments/entitlements/").context["totals"]["n"] == 0


def test_a_bad_month_is_a_form_error(personas, world):
    r = client(personas.caseworker_a).post("/payments/", {"area": TOWN_A, "month": "2026-13", "programme": "all", "key": "x"})
    assert r.status_code == 400 and "发放月份" in r.content.decode() and not PayrollRun.objects.exists()


def test_pages_in_english(personas, world):
    cw = client(personas.caseworker_a)
    cw.cookies["django_language"] = "en"
    generate(cw)
    run = PayrollRun.objects.get()
    for path, text in (("/payments/", "Generate the payroll"), (f"/payments/runs/{run.pk}/", "another officer"),
                       ("/payments/entitlements/", "Entitlements"), ("/payments/returns/", "Import a bank return file")):  # fmt: skip
        page = cw.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert text in page, path
        assert "生成发放名册" not in page and "发放批次" not in page and "银行回盘" not in page, path


def test_an_interrupted_run_shows_its_progress_and_is_resumed(personas, world):
    from jiuzhu.payments import services

    class Crash(Exception):
        pass

    def crash(run, n):
        raise Crash

    with pytest.raises(Crash):
        services.generate(area_code=TOWN_A, month=MONTH, programme="all", actor=personas.caseworker_a, chunk_size=1,
                          after_chunk=crash)  # fmt: skip
    run = PayrollRun.objects.get()
    assert run.status == "generating"
    cw = client(personas.caseworker_a)
    page = cw.get(f"/payments/runs/{run.pk}/").content.decode()
    assert 'data-testid="run-progress"' in page and f"/payments/runs/{run.pk}/progress/" in page
    assert 'data-testid="resume"' in page and 'data-testid="approve"' not in page
    r = cw.get(f"/payments/runs/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "HX-Refresh" not in r and 'hx-trigger="every 1s"' in r.content.decode()
    assert cw.post(f"/payments/runs/{run.pk}/resume/")["Location"] == f"/payments/runs/{run.pk}/"
    run.refresh_from_db()
    assert run.status == "generated" and PayrollRun.objects.count() == 1
    r = cw.get(f"/payments/runs/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert r["HX-Refresh"] == "true" and "hx-trigger" not in r.content.decode()
    assert cw.post(f"/payments/runs/{run.pk}/export/pdf/").status_code == 404
