"""Registry import (SECURITY FILE-UP, FILE-IDEM, PRIV-MIN): validate everything first, write all or nothing,
report every error with its Excel row and column, refuse a file imported before, stay inside the area."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from jiuzhu.batch.models import JobRun
from jiuzhu.core import crypto
from jiuzhu.core.audit import verify_chain
from jiuzhu.core.files import file_hashes
from jiuzhu.core.models import AuditEvent
from jiuzhu.registry import importers
from jiuzhu.registry.models import ChangeRecord, Household, Membership, Person
from jiuzhu.testing.fixtures import PASSWORD, TOWN_A, TOWN_B, make_household, villages

from . import importkit as kit


@pytest.fixture(autouse=True)
def _jobs_inline(settings, tmp_path):
    settings.JIUZHU_JOBS_INLINE = True
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def va(personas):
    return villages(TOWN_A)


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _errors(job: JobRun) -> set[tuple[int, str]]:
    return {(e["row"], e["column"]) for e in job.errors}


def test_clean_workbook_imports_every_row(personas, va, tmp_path: Path) -> None:
    cw = personas.caseworker_a
    rows = kit.household("1", va[0], 3) + kit.household("2", va[1], 1) + kit.household("A-3", va[0], 2)
    rows[0]["残疾类别"], rows[0]["残疾等级"] = "肢体残疾", "二级"
    rows[1]["是否重病"], rows[1]["劳动能力"], rows[1]["与户主关系"] = "是", "无劳动能力", "妻"
    path = kit.write_xlsx(tmp_path / "关庙镇名单.xlsx", rows)
    before = AuditEvent.objects.count()

    job = importers.import_file(actor=cw, path=path)

    assert job.status == JobRun.Status.SUCCEEDED, (job.message, job.errors)
    assert job.counts["households"] == 3 and job.counts["persons"] == 6 and job.counts["rows"] == 6
    assert Household.objects.count() == 3 and Person.objects.count() == 6 and Membership.objects.count() == 6
    h1 = Household.objects.get(household_no=f"H{va[0]}00001")
    assert (h1.member_count, h1.head_name, h1.area_code, h1.urban_rural) == (3, "王建国", va[0], "rural")
    assert Household.objects.get(household_no=f"H{va[0]}00002").member_count == 2
    assert Household.objects.get(household_no=f"H{va[1]}00001").member_count == 1
    assert h1.bank_account_masked.endswith("6789")
    assert crypto.decrypt(h1.bank_account_enc, context="household.bank_account") == "6228480000123456789"
    head = Person.objects.get(household=h1, relation="02")
    assert crypto.decrypt(head.id_number_enc, context="person.id_number") == rows[0]["身份证号"]
    assert head.id_number_bi == crypto.blind_index(rows[0]["身份证号"], purpose="id_number")
    assert (head.disability_category, head.disability_grade) == ("4", 2)
    spouse = Person.objects.get(household=h1, relation="10")
    assert spouse.serious_illness and spouse.labour_capacity == "none"
    changes = ChangeRecord.objects.filter(reason="批量导入 关庙镇名单.xlsx", action="create")
    assert changes.filter(object_type="person").count() == 6 and changes.filter(object_type="household").count() == 3

    events = list(AuditEvent.objects.order_by("seq")[before:])
    assert [e.action for e in events] == ["registry.import"]
    ev = events[0]
    assert ev.result == "ok" and ev.detail["households"] == 3 and ev.detail["persons"] == 6
    assert ev.detail["filename"] == "关庙镇名单.xlsx" and ev.detail["sm3"] == file_hashes(path)[1]
    assert verify_chain() == []
    assert not list((tmp_path / "media" / "imports").glob("*.upload")), "the staged upload is deleted"

    # no plaintext ID number, phone or bank account in any column of any table
    secrets = {r["身份证号"] for r in rows} | {"13800138000", "6228480000123456789"}
    assert _plaintext_hits(secrets) == []


def _plaintext_hits(needles: set[str]) -> list[str]:
    hits = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cols = [c.name for c in connection.introspection.get_table_description(cur, table)]
            qn = connection.ops.quote_name
            cur.execute(f"SELECT {', '.join(qn(c) for c in cols)} FROM {qn(table)}")  # noqa: S608 - our own table names
            for row in cur.fetchall():
                text = " ".join(str(v) for v in row)
                hits += [f"{table}: {n}" for n in needles if n in text]
    return hits


def test_workbook_with_errors_imports_nothing_and_reports_every_error(personas, va, tmp_path: Path) -> None:
    cw = personas.caseworker_a
    existing = make_household(cw, va[0], size=1)
    existing_id = crypto.decrypt(Person.objects.get(household=existing).id_number_enc, context="person.id_number")
    good = kit.household("1", va[0], 2)  # rows 2-3: valid
    bad_id = kit.household("2", va[0], 1)  # row 4
    bad_id[0]["身份证号"] = bad_id[0]["身份证号"][:-1] + ("0" if bad_id[0]["身份证号"][-1] != "0" else "1")
    no_name = kit.household("3", va[0], 1)  # row 5
    no_name[0]["姓名"] = ""
    no_head = [kit.member("4", va[0], "赵一", "配偶"), kit.member("4", va[0], "赵二", "子")]  # rows 6-7
    two_heads = [kit.member("5", va[0], "钱一", "户主"), kit.member("5", va[0], "钱二", "户主")]  # rows 8-9
    dup_in_file = kit.household("6", va[0], 1)  # row 10, same ID as row 2
    dup_in_file[0]["身份证号"] = good[0]["身份证号"]
    in_db = kit.household("7", va[0], 1)  # row 11
    in_db[0]["身份证号"] = existing_id
    no_village = kit.household("8", "610902100999", 1)  # row 12
    bad_phone = kit.household("9", va[0], 1)  # row 13
    bad_phone[0]["联系电话"] = "12345"
    half_disability = kit.household("10", va[0], 1)  # row 14
    half_disability[0]["残疾类别"] = "视力残疾"
    bad_bool = kit.household("11", va[0], 1)  # row 15
    bad_bool[0]["是否重病"] = "重病"
    mixed_village = kit.household("12", va[0], 2)  # rows 16-17
    mixed_village[1]["村(社区)代码"] = va[1]
    numeric_id = kit.household("13", va[0], 1)  # row 18
    numeric_id[0]["身份证号"] = float(numeric_id[0]["身份证号"][:17] + "1")
    bad_account = kit.household("14", va[0], 1)  # row 19
    bad_account[0]["银行账号"] = "62-28"
    rows = (good + bad_id + no_name + no_head + two_heads + dup_in_file + in_db + no_village + bad_phone
            + half_disability + bad_bool + mixed_village + numeric_id + bad_account)  # fmt: skip
    path = kit.write_xlsx(tmp_path / "有错误.xlsx", rows)
    counts_before = (Household.objects.count(), Person.objects.count(), Membership.objects.count(), ChangeRecord.objects.count())
    before = AuditEvent.objects.count()

    job = importers.import_file(actor=cw, path=path)

    assert job.status == JobRun.Status.FAILED
    expected = {
        (4, "身份证号"), (5, "姓名"), (6, "与户主关系"), (9, "与户主关系"), (10, "身份证号"), (11, "身份证号"),
        (12, "村(社区)代码"), (13, "联系电话"), (14, "残疾等级"), (15, "是否重病"), (17, "村(社区)代码"),
        (18, "身份证号"), (19, "银行账号"),
    }  # fmt: skip
    assert _errors(job) == expected, job.errors
    messages = {(e["row"], e["column"]): e["message"] for e in job.errors}
    assert "校验位" in messages[(4, "身份证号")]
    assert "第 2 行" in messages[(10, "身份证号")]
    assert "已在系统中登记" in messages[(11, "身份证号")] and existing.household_no in messages[(11, "身份证号")]
    assert "不存在" in messages[(12, "村(社区)代码")]
    assert "文本" in messages[(18, "身份证号")]
    assert "没有户主" in messages[(6, "与户主关系")] and "多名户主" in messages[(9, "与户主关系")]
    assert "12345" not in str(job.errors)  # the JobRun is plain text: no echoed phone numbers
    assert job.counts["errors"] == len(expected)
    counts_after = (Household.objects.count(), Person.objects.count(), Membership.objects.count(), ChangeRecord.objects.count())
    assert counts_after == counts_before
    assert [(e.action, e.result) for e in AuditEvent.objects.order_by("seq")[before:]] == [("registry.import", "failed")]

    # the error report: original rows at their row numbers, 错误说明 column, error cells highlighted
    report = load_workbook(io.BytesIO(importers.load_error_report(job)))
    ws = report.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header == kit.HEADERS + ["错误说明"]
    note_col = len(kit.HEADERS) + 1
    for row, column in expected:
        col = kit.HEADERS.index(column) + 1
        assert ws.cell(row=row, column=col).fill.fgColor.rgb.endswith("FFC7CE"), (row, column)
        assert column in ws.cell(row=row, column=note_col).value
    assert ws.cell(row=2, column=note_col).value is None
    assert ws.cell(row=13, column=5).value == bad_phone[0]["姓名"]
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)
    assert report["错误清单"].max_row == len(expected) + 1
    assert (tmp_path / "media" / job.result_file).read_text().startswith("sm4gcm:"), "stored encrypted"


def test_reimporting_the_same_file_is_refused(personas, va, tmp_path: Path) -> None:
    cw = personas.caseworker_a
    path = kit.write_xlsx(tmp_path / "a.xlsx", kit.household("1", va[0], 2))
    first = importers.import_file(actor=cw, path=path)
    assert first.status == JobRun.Status.SUCCEEDED
    for _ in range(3):
        with pytest.raises(importers.AlreadyImported) as info:
            importers.import_file(actor=cw, path=path, filename="改了名字.xlsx")
        assert info.value.job.pk == first.pk
        assert f"#{first.pk}" in info.value.message
    assert Person.objects.count() == 2
    assert JobRun.objects.filter(kind=importers.KIND).count() == 1


def test_a_failed_file_may_be_uploaded_again_after_fixing(personas, va, tmp_path: Path) -> None:
    rows = kit.household("1", va[0], 2)
    rows[1]["姓名"] = "1"
    failed = importers.import_file(actor=personas.caseworker_a, path=kit.write_xlsx(tmp_path / "a.xlsx", rows))
    assert failed.status == JobRun.Status.FAILED
    again = importers.import_file(actor=personas.caseworker_a, path=tmp_path / "a.xlsx")
    assert again.status == JobRun.Status.FAILED and again.pk != failed.pk
    rows[1]["姓名"] = "王小明"
    fixed = importers.import_file(actor=personas.caseworker_a, path=kit.write_xlsx(tmp_path / "a.xlsx", rows))
    assert fixed.status == JobRun.Status.SUCCEEDED


def test_village_outside_the_users_area_is_refused(personas, va, tmp_path: Path) -> None:
    other = villages(TOWN_B)[0]
    rows = kit.household("1", va[0], 2) + kit.household("2", other, 2)
    job = importers.import_file(actor=personas.caseworker_a, path=kit.write_xlsx(tmp_path / "b.xlsx", rows))
    assert job.status == JobRun.Status.FAILED
    assert _errors(job) == {(4, "村(社区)代码")}
    assert "不在您的管辖范围内" in job.errors[0]["message"]
    assert Household.objects.count() == 0


def test_unknown_columns_are_dropped_with_a_warning(personas, va, tmp_path: Path) -> None:
    headers = kit.HEADERS + [f"额外{i}" for i in range(10)]
    rows = kit.household("1", va[0], 2)
    for r in rows:
        for i in range(10):
            r[f"额外{i}"] = f"不应保存的值{i}"
    job = importers.import_file(actor=personas.caseworker_a, path=kit.write_xlsx(tmp_path / "c.xlsx", rows, headers))
    assert job.status == JobRun.Status.SUCCEEDED
    assert any("额外0" in w and "忽略" in w for w in job.counts["warnings"])
    assert _plaintext_hits({"不应保存的值"}) == []


def test_township_variations_title_row_aliases_codes_and_csv(personas, va, tmp_path: Path) -> None:
    headers = ["户编号", "村（社区）代码 ", "姓名", "身份证号码", "与户主关系", "手机号"]
    h = kit.household("1", va[0], 2)
    matrix = [["关庙镇低收入人口花名册"], [], headers] + [
        [r["户编号"], int(r["村(社区)代码"]), r["姓名"], r["身份证号"], code, 13900139000] for r, code in zip(h, [2, "妻"], strict=True)
    ]  # fmt: skip
    job = importers.import_file(actor=personas.caseworker_a, path=kit.write_xlsx(tmp_path / "d.xlsx", matrix))
    assert job.status == JobRun.Status.SUCCEEDED, job.errors
    assert sorted(Person.objects.values_list("relation", flat=True)) == ["02", "10"]
    assert Person.objects.filter(phone_masked="139****9000").count() == 2

    rows = kit.household("1", va[1], 3)
    rows[0]["城乡类别"] = ""  # derived from the village's urban-rural class
    gbk = importers.import_file(actor=personas.caseworker_a, path=kit.write_csv(tmp_path / "e.csv", rows, encoding="gbk"))
    assert gbk.status == JobRun.Status.SUCCEEDED, gbk.errors
    names = set(Person.objects.filter(area_code=va[1]).values_list("name", flat=True))
    assert names == {"王建国", "李秀英", "王小明"}


def test_rows_in_a_csv_report_their_line(personas, va, tmp_path: Path) -> None:
    rows = kit.household("1", va[0], 3)
    rows[2]["身份证号"] = "123"
    job = importers.import_file(actor=personas.caseworker_a, path=kit.write_csv(tmp_path / "f.csv", rows))
    assert _errors(job) == {(4, "身份证号")}


def test_missing_required_column_and_no_header(personas, va, tmp_path: Path) -> None:
    headers = [h for h in kit.HEADERS if h != "与户主关系"]
    job = importers.import_file(actor=personas.caseworker_a,
                                path=kit.write_xlsx(tmp_path / "g.xlsx", kit.household("1", va[0]), headers))  # fmt: skip
    assert _errors(job) == {(1, "与户主关系")} and "缺少必填列" in job.errors[0]["message"]
    job = importers.import_file(actor=personas.caseworker_a, path=kit.write_xlsx(tmp_path / "h.xlsx", [["a", "b"], [1, 2]]))
    assert job.status == JobRun.Status.FAILED and "表头" in job.errors[0]["message"]


def test_template_downloads_fills_and_imports(personas, va, client, tmp_path: Path) -> None:
    _login(client, personas.caseworker_a)
    r = client.get(reverse("registry:import_template"))
    assert r.status_code == 200 and "filename*=UTF-8''" in r["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[:2] == ["家庭成员", "填写说明"]
    ws = wb["家庭成员"]
    assert [c.value for c in ws[1]] == kit.HEADERS
    assert ws.cell(row=2, column=1).value == "示例"
    assert set(va) <= {row[0].value for row in wb["村（社区）代码"].iter_rows(min_row=2)}
    assert not {row[0].value for row in wb["村（社区）代码"].iter_rows(min_row=2)} & set(villages(TOWN_B))
    for r_ in kit.to_matrix(kit.household("1", va[2], 2))[1:]:
        ws.append(r_)
    wb.save(tmp_path / "filled.xlsx")
    job = importers.import_file(actor=personas.caseworker_a, path=tmp_path / "filled.xlsx")
    assert job.status == JobRun.Status.SUCCEEDED, job.errors
    assert job.counts["persons"] == 2
    assert any("示例行" in w for w in job.counts["warnings"])


# --- web -------------------------------------------------------------------------------------------------------


def test_upload_page_runs_the_job_and_shows_the_result(personas, va, client, tmp_path: Path) -> None:
    _login(client, personas.caseworker_a)
    page = client.get(reverse("registry:import"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "批量导入" in html and reverse("registry:import_template") in html
    assert " style=" not in html and "<script>" not in html
    path = kit.write_xlsx(tmp_path / "web.xlsx", kit.household("1", va[0], 3))
    with open(path, "rb") as f:
        r = client.post(reverse("registry:import"), {"file": f})
    job = JobRun.objects.get(kind=importers.KIND)
    assert r.status_code == 302 and r["Location"] == reverse("registry:import_job", args=[job.pk])
    status = client.get(r["Location"]).content.decode()
    assert "完成" in status and "导入成功" in status and " style=" not in status
    fragment = client.get(reverse("registry:import_job_progress", args=[job.pk])).content.decode()
    assert 'id="job-status"' in fragment and "hx-trigger" not in fragment  # finished: polling stops
    assert Person.objects.count() == 3

    with open(path, "rb") as f:
        again = client.post(reverse("registry:import"), {"file": f})
    assert again.status_code == 409
    assert f"#{job.pk}" in again.content.decode() and reverse("registry:import_job", args=[job.pk]) in again.content.decode()


def test_progress_fragment_polls_while_running(personas, client) -> None:
    cw = personas.caseworker_a
    job = JobRun.objects.create(kind=importers.KIND, area_code=cw.area_id, created_by=cw, status="running",
                                total=1000, done=250, params={"filename": "x.xlsx"})  # fmt: skip
    _login(client, cw)
    html = client.get(reverse("registry:import_job_progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html and reverse("registry:import_job_progress", args=[job.pk]) in html
    assert '<progress' in html and 'value="250"' in html and 'max="1000"' in html


def test_error_report_download_and_area_scoping(personas, va, client, tmp_path: Path) -> None:
    rows = kit.household("1", va[0], 2)
    rows[1]["身份证号"] = "110101190001011234"
    _login(client, personas.caseworker_a)
    with open(kit.write_xlsx(tmp_path / "err.xlsx", rows), "rb") as f:
        r = client.post(reverse("registry:import"), {"file": f})
    job = JobRun.objects.get(kind=importers.KIND)
    page = client.get(r["Location"]).content.decode()
    assert "共 1 处错误" in page and "身份证号" in page and reverse("registry:import_errors", args=[job.pk]) in page
    dl = client.get(reverse("registry:import_errors", args=[job.pk]))
    assert dl.status_code == 200 and "filename*=UTF-8''" in dl["Content-Disposition"]
    ws = load_workbook(io.BytesIO(dl.content)).worksheets[0]
    assert "身份证号" in ws.cell(row=3, column=len(kit.HEADERS) + 1).value
    assert AuditEvent.objects.filter(action="registry.import.error_report", object_id=str(job.pk)).exists()

    # another township's caseworker cannot see the job, its progress or its report; a county reviewer
    # without the import permission neither
    client.logout()
    for user in (personas.caseworker_b, personas.reviewer):
        _login(client, user)
        for name in ("import_job", "import_job_progress", "import_errors"):
            assert client.get(reverse(f"registry:{name}", args=[job.pk])).status_code in (403, 404), (user, name)
        client.logout()


def test_permissions_and_hostile_upload_via_the_page(personas, va, client, tmp_path: Path) -> None:
    _login(client, personas.supervisor)  # may export, may not import
    assert client.get(reverse("registry:import")).status_code == 403
    client.logout()
    _login(client, personas.caseworker_a)
    before = AuditEvent.objects.count()
    with open(kit.billion_laughs(tmp_path), "rb") as f:
        r = client.post(reverse("registry:import"), {"file": f})
    assert r.status_code == 400
    assert "XML" in r.content.decode() and "已拒绝" in r.content.decode()
    assert not JobRun.objects.exists()
    ev = AuditEvent.objects.order_by("seq")[before:].get()
    assert (ev.action, ev.result, ev.detail["reason"]) == ("registry.import", "rejected", "xml_dtd")
    assert not list((tmp_path / "media" / "imports").glob("*.upload"))
    r = client.post(reverse("registry:import"), {})
    assert r.status_code == 400 and "请选择" in r.content.decode()


def test_background_thread_mode_runs_after_commit(personas, va, tmp_path: Path, settings, django_capture_on_commit_callbacks) -> None:
    settings.JIUZHU_JOBS_INLINE = False
    path = kit.write_xlsx(tmp_path / "t.xlsx", kit.household("1", va[0], 1))
    with open(path, "rb") as f:
        staged = importers.stage_upload(iter(lambda: f.read(65536), b""))
    job = importers.import_prepare(actor=personas.caseworker_a, path=staged, filename="t.xlsx")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        importers.import_start(job)
    assert len(callbacks) == 1  # nothing runs until the job row is committed
    job.refresh_from_db()
    assert job.status == JobRun.Status.PENDING
    assert re.fullmatch(r"[0-9a-f]{32}\.upload", job.params["stored"])
    assert oct(staged.stat().st_mode & 0o777) == "0o600"


def test_change_records_match_what_the_services_record(personas, va, tmp_path: Path) -> None:
    """The bulk writer builds rows without model instances; its snapshots must equal services.snapshot."""
    from jiuzhu.registry.services import snapshot

    job = importers.import_file(actor=personas.caseworker_a, path=kit.write_xlsx(tmp_path / "s.xlsx", kit.household("1", va[0], 3)))
    assert job.status == JobRun.Status.SUCCEEDED
    for p in Person.objects.all():
        rec = ChangeRecord.objects.get(object_type="person", object_id=p.pk)
        assert rec.after == snapshot(p) and rec.household_id == p.household_id and rec.area_code == p.area_code
        assert rec.actor_id == personas.caseworker_a.pk and rec.actor_username == "cw_a"
    h = Household.objects.get()
    assert ChangeRecord.objects.get(object_type="household", object_id=h.pk).after == snapshot(h)
    m = Membership.objects.filter(household=h)
    assert m.count() == 3 and all(x.left_on is None and x.relation == x.person.relation for x in m)
    # ids continue normally after the bulk insert
    later = make_household(personas.caseworker_a, va[0], size=1)
    assert later.pk > h.pk and later.household_no == f"H{va[0]}00002"


def test_cleanup_fails_lost_jobs_and_removes_old_files(personas, va, tmp_path: Path) -> None:
    cw = personas.caseworker_a
    rows = kit.household("1", va[0], 1)
    rows[0]["姓名"] = "9"
    failed = importers.import_file(actor=cw, path=kit.write_xlsx(tmp_path / "r.xlsx", rows))
    report = tmp_path / "media" / failed.result_file
    assert report.exists()
    staged = importers.stage_upload([b"x"])
    lost = JobRun.objects.create(kind=importers.KIND, area_code=cw.area_id, created_by=cw, status="running",
                                 params={"stored": staged.name, "sha256": "ab"})  # fmt: skip
    orphan = importers.stage_upload([b"y"])
    later = timezone.now() + dt.timedelta(days=31)
    os.utime(orphan, (0, 0))
    out = importers.import_cleanup(now=later)
    assert out == {"stale_jobs": 1, "uploads": 1, "reports": 1}
    lost.refresh_from_db()
    failed.refresh_from_db()
    assert lost.status == "failed" and "中断" in lost.message
    assert not staged.exists() and not orphan.exists() and not report.exists() and failed.result_file == ""


def test_the_error_report_itself_can_be_fixed_and_uploaded(personas, va, tmp_path: Path) -> None:
    rows = kit.household("1", va[0], 3)
    good_name = rows[2]["姓名"]
    rows[2]["姓名"] = "=1+1"
    job = importers.import_file(actor=personas.caseworker_a, path=kit.write_csv(tmp_path / "x.csv", rows))
    assert _errors(job) == {(4, "姓名")}
    report = tmp_path / "report.xlsx"
    report.write_bytes(importers.load_error_report(job))
    wb = load_workbook(report)
    ws = wb.worksheets[0]
    assert ws.cell(row=4, column=5).value == "=1+1" and ws.cell(row=4, column=5).data_type == "s"
    ws.cell(row=4, column=5).value = good_name
    wb.save(report)
    fixed = importers.import_file(actor=personas.caseworker_a, path=report)
    assert fixed.status == JobRun.Status.SUCCEEDED, fixed.errors
    assert fixed.counts["persons"] == 3 and any("错误说明" in w for w in fixed.counts["warnings"])
