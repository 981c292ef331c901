"""File-drop ingestion (jiuzhu/verification/ingest.py, docs/verification-feeds.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from openpyxl import Workbook

from jiuzhu.core import crypto, idnumber, masking
from jiuzhu.core.models import AuditEvent
from jiuzhu.core.pii_scan import find_numbers
from jiuzhu.registry.models import Person
from jiuzhu.verification import ingest as I
from jiuzhu.verification.models import FeedFile, FeedRecord
from jiuzhu.verification.sources import SOURCES

AREA = "610902100001"
TODAY = dt.date(2026, 11, 1)
HRSS = ["公民身份号码", "姓名", "险种类型", "缴费基数", "缴费年月", "待遇类型", "月待遇金额", "待遇年月", "参保单位", "业务流水号"]
VEHICLE = ["所有人证件号码", "所有人", "号牌号码", "车辆类型", "初次登记日期", "评估价值"]


def _people(n: int, area: str = AREA, start: int = 0) -> list[str]:
    """``n`` registry persons (no household needed); returns their ID numbers."""
    ids, rows = [], []
    for i in range(start, start + n):
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=i % 15000)
        v = idnumber.make("610902", birth, 1 + 2 * (i // 15000 % 499))
        ids.append(v)
        rows.append(Person(area_code=area, name=f"测试{i}", id_number_enc=crypto.encrypt(v, context="person.id_number"),
                           id_number_bi=crypto.blind_index(v, purpose="id_number"), id_number_masked=masking.mask_id(v),
                           sex="1", birth_date=birth))  # fmt: skip
    Person.objects.bulk_create(rows, batch_size=2000)
    return ids


def _stranger(i: int = 0) -> str:
    return idnumber.make("610921", dt.date(1985, 3, 3) + dt.timedelta(days=i), 7)


def _csv(header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def _xlsx(header: list[str], rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _hrss_rows(ids: list[str]) -> list[list[object]]:
    a, b = ids[0], ids[1]
    return [
        [a, "测试甲", "养老", "4380.00", "2026-09", "", "", "", "安康某公司", "HR0001"],
        [a, "测试甲", "养老", "4380", "2026-10", "", "", "", "安康某公司", "HR0002"],
        [b, "测试乙", "养老", "", "", "基础养老金", "213", "2026-10", "", "HR0003"],
        [b, "测试乙", "医疗", "4380", "2026-10", "", "", "", "", "HR0004"],  # no rule: not needed
    ]


def _ingest(source: str, data: bytes, name: str, **kw):
    return I.ingest_file(source, data, name, today=TODAY, **kw)


def _records(source: str | None = None) -> list[tuple]:
    qs = FeedRecord.objects.order_by("period", "kind", "ref")
    if source:
        qs = qs.filter(source=source)
    return list(qs.values_list("source", "kind", "person_bi", "area_code", "amount", "quantity", "category",
                               "event_date", "period", "ref"))  # fmt: skip


# --- layouts ------------------------------------------------------------------------------------------------


def test_every_source_has_a_valid_layout():
    assert list(I.sources_with_layouts()) == list(SOURCES)
    for s in SOURCES:
        lay = I.layout(s)
        assert lay.source == s and lay.columns[lay.person] == "id" and lay.person in lay.required


def test_docs_show_the_layouts():
    text = (Path(__file__).resolve().parents[3] / "docs" / "verification-feeds.md").read_text(encoding="utf-8")
    section = text.split("<!-- layouts:begin -->\n", 1)[1].split("<!-- layouts:end -->", 1)[0]
    assert section.strip() == I.layouts_markdown().strip(), "paste ingest.layouts_markdown() into the docs"


@pytest.mark.parametrize("doc, message", [
    ({"source": "nope"}, "source 'nope'"),
    ({"columns": {"证件号码": "id", "x": "blob"}}, "type 'blob'"),
    ({"records": [{"kind": "house", "period": "日期"}]}, "'house' is not a kind of vehicle"),
    ({"records": [{"kind": "vehicle", "category": "boat", "period": "日期"}]}, "['boat'] are not categories"),
    ({"records": [{"kind": "vehicle", "period": "无此列"}]}, "'无此列' is not a column"),
    ({"records": [{"kind": "vehicle", "period": "日期", "ref": "证件号码"}]}, "of type id cannot give ref"),
    ({"records": [{"kind": "vehicle", "amount": "日期", "period": "日期"}]}, "of type date cannot give amount"),
    ({"records": [{"kind": "vehicle"}]}, "kind and period are required"),
])  # fmt: skip
def test_layout_mistakes_are_named(doc, message):
    base = {"source": "vehicle", "person": "证件号码", "columns": {"证件号码": "id", "日期": "date"},
            "records": [{"kind": "vehicle", "period": "日期"}]}  # fmt: skip
    with pytest.raises(I.LayoutError, match=message.replace("[", r"\[").replace("]", r"\]")):
        I.parse_layout({**base, **doc})


# --- loading ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_csv_in_the_departments_layout_loads_normalised_records():
    ids = _people(3)
    res = _ingest("hrss", _csv(HRSS, _hrss_rows(ids)), "人社_202610.csv")
    ff = res.feed
    assert res.outcome == "loaded" and ff.pk and ff.status == FeedFile.Status.LOADED, res.message
    assert (ff.rows_total, ff.rows_loaded, ff.rows_duplicate, ff.rows_unknown, ff.rows_error) == (4, 3, 0, 0, 0)
    bi = [crypto.blind_index(v, purpose="id_number") for v in ids]
    assert _records() == [
        ("hrss", "wage", bi[0], AREA, Decimal("4380.00"), None, "", None, dt.date(2026, 9, 1), "安康某公司"),  # wages: ref is the employer
        ("hrss", "pension", bi[1], AREA, Decimal("213.00"), None, "basic", None, dt.date(2026, 10, 1), "HR0003"),
        ("hrss", "wage", bi[0], AREA, Decimal("4380.00"), None, "", None, dt.date(2026, 10, 1), "安康某公司"),
    ]
    raw = json.loads(crypto.decrypt(FeedRecord.objects.get(ref="HR0003").raw_enc, context="feed:hrss"))
    assert raw["公民身份号码"] == masking.mask_id(ids[1]) and raw["待遇类型"] == "基础养老金"
    assert "1 行不含核对所需的记录" in " ".join(ff.errors)
    assert AuditEvent.objects.filter(action="verification.feed_loaded").count() == 1
    assert "导入 3 行（3 条记录）" in res.message


@pytest.mark.django_db
def test_gbk_and_utf8_files_with_the_same_content_load_the_same_records():
    ids = _people(3)
    rows = _hrss_rows(ids)
    gbk = _ingest("hrss", _csv(HRSS, rows, "gbk"), "gbk.csv")
    assert gbk.outcome == "loaded" and gbk.records == 3
    first = _records()
    FeedRecord.objects.all().delete()
    utf8 = _ingest("hrss", b"\xef\xbb\xbf" + _csv(HRSS, rows), "utf8.csv")
    assert utf8.outcome == "loaded" and utf8.records == 3 and _records() == first
    lf = _ingest("hrss", _csv(HRSS, rows).replace(b"\r\n", b"\n"), "lf.csv")  # same records again: nothing new
    assert lf.outcome == "loaded" and lf.records == 0 and lf.feed.rows_duplicate == 3 and _records() == first


@pytest.mark.django_db
def test_mixed_encodings_and_hostile_files_are_refused():
    ids = _people(2)
    mixed = _csv(HRSS, _hrss_rows(ids)[:1]) + "\r\n".join([",".join([ids[1], "测试乙", "养老", "1", "2026-10", "", "", "", "", "X"])]).encode("gbk")
    res = _ingest("hrss", mixed, "mixed.csv")
    assert res.outcome == "refused" and "编码混杂" in res.message
    assert _ingest("hrss", b"a,b\x00,c\n", "nul.csv").outcome == "refused"
    assert "旧版 .xls" in _ingest("hrss", b"x", "old.xls").message
    assert _ingest("bank", b"PAR1garbage", "x.parquet").outcome == "refused"
    assert FeedRecord.objects.count() == 0 and FeedFile.objects.filter(status="refused").count() == 4


@pytest.mark.django_db
def test_three_date_formats_and_three_month_formats_are_normalised():
    ids = _people(1)
    header = ["所有人证件号码", "号牌号码", "车辆类型", "初次登记日期"]
    res = _ingest("vehicle", _csv(header, [[ids[0], "陕G1", "小型轿车", "2026-09-01"], [ids[0], "陕G2", "货车", "2026/9/1"],
                                           [ids[0], "陕G3", "二轮摩托车", "20260901"],
                                           [ids[0], "陕G4", "残疾人专用车", "2026年9月1日"]]), "v.csv")  # fmt: skip
    assert res.outcome == "loaded", res.feed.errors
    assert {(r[6], r[8]) for r in _records()} == {("car", dt.date(2026, 9, 1)), ("truck", dt.date(2026, 9, 1)),
                                                  ("motorcycle", dt.date(2026, 9, 1)), ("adapted", dt.date(2026, 9, 1))}  # fmt: skip
    tax = ["纳税人识别号", "所属期", "工资薪金收入额"]
    for fmt in ("2026-09", "202609", "2026年9月"):
        FeedRecord.objects.all().delete()
        r = _ingest("tax", _csv(tax, [[ids[0], fmt, "5,000"]]), f"{fmt}.csv")
        assert r.outcome == "loaded" and _records()[0][4:] == (Decimal("5000.00"), None, "", None, dt.date(2026, 9, 1), "")


@pytest.mark.django_db
def test_xlsx_with_date_cells_and_parquet_load():
    ids = _people(2)
    res = _ingest("vehicle", _xlsx(VEHICLE, [[ids[0], "张", "陕G12345", "三轮汽车", dt.datetime(2019, 5, 6), 3000],
                                              [ids[1], "李", "陕G54321", "重型半挂牵引车", "2020-01-02", None]]), "车.xlsx")  # fmt: skip
    assert res.outcome == "loaded", res.feed.errors
    assert [(r[4], r[6], r[8]) for r in _records()] == [(Decimal("3000.00"), "tricycle", dt.date(2019, 5, 6)),
                                                        (None, "car", dt.date(2020, 1, 2))]  # an unlisted type counts as non-exempt
    table = pa.table({"客户证件号": [ids[0], ids[1]], "账户类别": ["储蓄", "保险现金价值"],
                      "余额": pa.array([Decimal("12000.50"), Decimal("3000")], pa.decimal128(12, 2)),
                      "余额日期": pa.array([dt.date(2026, 9, 30)] * 2, pa.date32())})  # fmt: skip
    buf = io.BytesIO()
    pq.write_table(table, buf)
    res = _ingest("bank", buf.getvalue(), "bank.parquet")
    assert res.outcome == "loaded" and res.feed.rows_loaded == 2, res.feed.errors
    assert sorted((r[1], r[4]) for r in _records("bank")) == [("deposit", Decimal("12000.50")), ("insurance", Decimal("3000.00"))]


# --- validation: everything first, all or nothing -----------------------------------------------------------


@pytest.mark.django_db
def test_missing_required_columns_are_named_and_unknown_ones_reported():
    ids = _people(1)
    res = _ingest("hrss", _csv(["公民身份号码", "姓名", "险种", "缴费基数"], [[ids[0], "x", "养老", "1"]]), "a.csv")
    assert res.outcome == "refused" and "缺少必需的列：险种类型、业务流水号" in res.message and "险种" in res.message
    ff = FeedFile.objects.get()
    assert ff.status == "refused" and ff.errors == [res.message.removeprefix("文件已拒绝：")]
    res = _ingest("hrss", _csv(["姓名", "险种类型"], [["x", "养老"]]), "b.csv")
    assert "找不到表头" in res.message and "公民身份号码" in res.message
    ok = _ingest("hrss", _csv([*HRSS, "备注"], [[*_hrss_rows(ids + ids)[0], "私人备注"]]), "c.csv")
    assert ok.outcome == "loaded" and "以下列不属于社会保险缴费与待遇明细的格式，未读取、未保存：备注" in ok.feed.errors
    raw = crypto.decrypt(FeedRecord.objects.get().raw_enc, context="feed:hrss")
    assert "私人备注" not in raw  # a column outside the layout is not kept


@pytest.mark.django_db
def test_every_bad_value_is_reported_by_row_and_column_and_nothing_is_loaded():
    ids = _people(2)
    bad_check = ids[1][:17] + ("0" if ids[1][17] != "0" else "1")
    rows = [
        [ids[0], "甲", "养老", "4380", "2026-09", "", "", "", "", "R1"],  # fine, but the file is refused
        [bad_check, "乙", "养老", "4380", "2026-09", "", "", "", "", "R2"],
        ["61090219", "丙", "养老", "4380", "2026-09", "", "", "", "", "R3"],
        [ids[1], "丁", "养老", "四千", "2026-13", "", "", "", "", "R4"],
        [ids[1], "戊", "养老", "-5", "2026-09", "", "", "", "", "R5"],
        [ids[1], "己", "", "100", "2026-09", "", "", "", "", "R6"],
        [ids[1], "庚", "养老", "100", "", "", "", "", "", "R7"],
    ]
    res = _ingest("hrss", _csv(HRSS, rows), "bad.csv")
    ff = res.feed
    assert res.outcome == "refused" and ff.rows_error == 6 and ff.rows_total == 7 and "6 行有错误" in res.message
    assert ff.errors == [
        "第3行 公民身份号码：身份证号码校验位错误",
        "第4行 公民身份号码：身份证号码应为18位（最后一位可为X）或15位数字",
        "第5行 缴费基数：“四千”不是有效的数字",
        "第5行 缴费年月：“2026-13”不是真实的日期",
        "第6行 缴费基数：“-5”不能为负数",
        "第7行 险种类型：不能为空",
        "第8行 缴费年月：不能为空",
    ]
    assert FeedRecord.objects.count() == 0 and FeedFile.objects.get().status == "refused"
    assert AuditEvent.objects.filter(action="verification.feed_refused").count() == 1


@pytest.mark.django_db
def test_unmapped_values_and_lost_digits_are_reported():
    ids = _people(1)
    res = _ingest("bank", _csv(["客户证件号", "账户类别", "余额", "余额日期"], [[ids[0], "黄金", "1", "2026-09-30"]]), "b.csv")
    assert res.feed.errors == ["第2行 账户类别：“黄金”不是可识别的值（应为 储蓄、活期、定期、理财、证券、基金、保险现金价值）"]
    res = _ingest("vehicle", _xlsx(VEHICLE, [[float(ids[0][:17] + "1"), "张", "陕G1", "小型轿车", "2019-05-06", 1]]), "v.xlsx")
    assert res.feed.errors == ["第2行 所有人证件号码：身份证号码被存成了数字，末尾几位已丢失：请把本列设为文本格式后重新导出"]


@pytest.mark.django_db
def test_duplicate_rows_are_reported_and_loaded_once():
    ids = _people(2)
    rows = _hrss_rows(ids)
    res = _ingest("hrss", _csv(HRSS, [rows[0], rows[1], rows[0], rows[2], rows[0]]), "dup.csv")
    ff = res.feed
    assert res.outcome == "loaded" and (ff.rows_total, ff.rows_loaded, ff.rows_duplicate) == (5, 3, 2)
    assert "第4行：与第2行重复，只导入一次" in ff.errors and "第6行：与第2行重复，只导入一次" in ff.errors
    assert FeedRecord.objects.count() == 3


@pytest.mark.django_db
def test_a_person_not_in_the_registry_is_reported_and_not_stored():
    ids = _people(1)
    stranger = _stranger()
    rows = [[ids[0], "甲", "养老", "4380", "2026-09", "", "", "", "", "R1"],
            [stranger, "陌生人", "养老", "9000", "2026-09", "", "", "", "", "R2"]]  # fmt: skip
    res = _ingest("hrss", _csv(HRSS, rows), "u.csv")
    ff = res.feed
    assert res.outcome == "loaded" and (ff.rows_loaded, ff.rows_unknown) == (1, 1)
    assert f"第3行 公民身份号码：登记库中没有此人（{masking.mask_id(stranger)}），未保存" in ff.errors
    assert FeedRecord.objects.count() == 1
    assert not FeedRecord.objects.filter(person_bi=crypto.blind_index(stranger, purpose="id_number")).exists()


# --- broken files -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_truncated_csv_is_refused_as_a_whole():
    ids = _people(2)
    good = _csv(HRSS, _hrss_rows(ids))
    cut = good[: good.rindex(b"\r\n", 0, len(good) - 2) + 2] + ",".join([ids[0], "测试甲", "养老"]).encode()
    res = _ingest("hrss", cut, "cut.csv")
    assert res.outcome == "refused" and "第 5 行只有 3 列，表头有 10 列" in res.message and "不完整" in res.message
    quoted = good + f'{ids[1]},"测试,乙'.encode()  # ends inside a quoted field
    res = _ingest("hrss", quoted, "quote.csv")
    assert res.outcome == "refused" and "文件在一行中间结束" in res.message
    middle = _csv(HRSS, [_hrss_rows(ids)[0], [ids[1], "乙", "养老", "1"], _hrss_rows(ids)[1]])
    assert "第 3 行只有 4 列" in _ingest("hrss", middle, "mid.csv").message
    assert FeedRecord.objects.count() == 0 and FeedFile.objects.filter(status="refused").count() == 3


@pytest.mark.django_db
def test_a_truncated_workbook_or_parquet_file_is_refused():
    ids = _people(1)
    book = _xlsx(VEHICLE, [[ids[0], "张", "陕G1", "小型轿车", "2019-05-06", 1]])
    res = _ingest("vehicle", book[: len(book) * 2 // 3], "v.xlsx")
    assert res.outcome == "refused" and "损坏" in res.message
    buf = io.BytesIO()
    pq.write_table(pa.table({"客户证件号": [ids[0]], "账户类别": ["储蓄"], "余额": ["1"], "余额日期": ["2026-09-30"]}), buf)
    data = buf.getvalue()
    res = _ingest("bank", data[:-10], "b.parquet")
    assert res.outcome == "refused" and "Parquet 文件不完整" in res.message
    res = _ingest("bank", data[:40] + data[60:], "b2.parquet")  # damaged inside, both ends intact
    assert res.outcome == "refused" and "Parquet 文件已损坏" in res.message
    assert FeedRecord.objects.count() == 0 and FeedFile.objects.filter(status="refused").count() == 3


# --- idempotence, overlap, transactions ---------------------------------------------------------------------


@pytest.mark.django_db
def test_reingesting_the_same_file_changes_nothing_and_says_so():
    ids = _people(2)
    data = _csv(HRSS, _hrss_rows(ids))
    first = _ingest("hrss", data, "a.csv")
    before = (_records(), FeedFile.objects.count(), AuditEvent.objects.count())
    again = _ingest("hrss", data, "renamed.csv")
    assert again.outcome == "already" and again.feed.pk == first.feed.pk and "本次未作任何更改" in again.message
    assert (_records(), FeedFile.objects.count(), AuditEvent.objects.count()) == before
    assert I.ingest("hrss", data, "x.csv").pk == first.feed.pk


@pytest.mark.django_db
def test_an_overlapping_file_adds_only_what_is_new():
    ids = _people(2)
    rows = _hrss_rows(ids)
    _ingest("hrss", _csv(HRSS, rows[:2]), "sep.csv")
    res = _ingest("hrss", _csv(HRSS, [rows[1], rows[2], [ids[0], "测试甲", "养老", "4380", "2026-11", "", "", "", "", "HR9"]]), "oct.csv")
    ff = res.feed
    assert (ff.rows_loaded, ff.rows_duplicate, res.records) == (2, 1, 2)
    assert "1 行的记录已在此前导入的文件中，未重复保存" in ff.errors
    assert FeedRecord.objects.count() == 4 and FeedRecord.objects.filter(feed=ff).count() == 2


@pytest.mark.django_db
def test_a_failed_write_leaves_earlier_data_untouched(monkeypatch):
    ids = _people(3)
    _ingest("hrss", _csv(HRSS, _hrss_rows(ids)[:1]), "first.csv")
    before = _records()
    calls = {"n": 0}
    real = I._insert

    def failing(sql, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(sql, rows)

    monkeypatch.setattr(I, "WRITE_CHUNK", 1)
    monkeypatch.setattr(I, "_insert", failing)
    with pytest.raises(RuntimeError):
        _ingest("hrss", _csv(HRSS, _hrss_rows(ids)[1:]), "second.csv")
    assert calls["n"] == 2 and _records() == before and FeedFile.objects.count() == 1
    refused = _ingest("hrss", _csv(HRSS, [[ids[0], "x", "养老", "abc", "2026-10", "", "", "", "", "R"]]), "bad.csv")
    assert refused.outcome == "refused" and _records() == before


# --- no plaintext, dry run, the command ---------------------------------------------------------------------


@pytest.mark.django_db
def test_no_plaintext_id_number_at_rest():
    ids = _people(3)
    stranger = _stranger()
    spouse = _stranger(1)
    _ingest("hrss", _csv(HRSS, [*_hrss_rows(ids), [stranger, "陌生", "养老", "1", "2026-09", "", "", "", "", stranger]]),
            f"{ids[0]}的缴费.csv")  # an ID in the name, a stranger's ID as the reference  # fmt: skip
    _ingest("marriage", _csv(["证件号码", "姓名", "登记类型", "登记日期", "对方证件号码"],
                             [[ids[2], "丙", "结婚", "2001-05-01", spouse]]), "婚姻.csv")  # fmt: skip
    _ingest("hrss", _csv([*HRSS, ids[1]], [[ids[0][:17] + "0", "坏", "养老", ids[2], "2026-09", "", "", "", "", "R", ""]]),
            "bad.csv")  # refused: the messages and an unknown header must not carry numbers either  # fmt: skip
    _ingest("vehicle", _xlsx(VEHICLE, [[ids[0], "张", ids[1], "小型轿车", "2019-05-06", 1]]), "v.xlsx")  # an ID as the plate
    assert FeedRecord.objects.filter(source="marriage").count() == 1 and FeedFile.objects.filter(status="refused").count() == 1
    plain = [*ids, stranger, spouse]
    qn = connection.ops.quote_name
    hits = []
    with connection.cursor() as cur:
        for model in (FeedFile, FeedRecord):
            table = model._meta.db_table
            cols = [c.name for c in connection.introspection.get_table_description(cur, table)]
            cur.execute(f"SELECT {', '.join(qn(c) for c in cols)} FROM {qn(table)}")  # noqa: S608
            for row in cur.fetchall():
                for col, value in zip(cols, row, strict=True):
                    text = "" if value is None else str(value)
                    hits += [(table, col, v) for kind, v in find_numbers(text) if kind == "id_number"]
                    hits += [(table, col, p) for p in plain if p in text]
    assert hits == []
    raw = json.loads(crypto.decrypt(FeedRecord.objects.get(source="marriage").raw_enc, context="feed:marriage"))
    assert raw["对方证件号码"] == masking.mask_id(spouse)


@pytest.mark.django_db
def test_dry_run_stores_nothing():
    ids = _people(2)
    res = _ingest("hrss", _csv(HRSS, _hrss_rows(ids)), "a.csv", dry_run=True)
    assert res.dry_run and res.outcome == "loaded" and res.records == 3 and res.feed.pk is None
    assert res.message.startswith("试运行，未保存")
    bad = _ingest("hrss", _csv(HRSS, [[ids[0], "x", "养老", "abc", "2026-10", "", "", "", "", "R"]]), "b.csv", dry_run=True)
    assert bad.outcome == "refused" and bad.feed.pk is None and bad.feed.errors
    assert (FeedFile.objects.count(), FeedRecord.objects.count(), AuditEvent.objects.count()) == (0, 0, 0)


@pytest.mark.django_db
def test_feed_ingest_command(tmp_path: Path):
    ids = _people(2)
    good = tmp_path / "人社.csv"
    good.write_bytes(_csv(HRSS, _hrss_rows(ids)))
    out = io.StringIO()
    call_command("feed_ingest", "hrss", str(good), "--dry-run", stdout=out)
    assert "试运行" in out.getvalue() and FeedRecord.objects.count() == 0
    out = io.StringIO()
    call_command("feed_ingest", "hrss", str(good), stdout=out)
    assert "导入 3 行" in out.getvalue() and FeedRecord.objects.count() == 3
    out = io.StringIO()
    call_command("feed_ingest", "hrss", str(good), "--json", stdout=out)
    assert json.loads(out.getvalue())["outcome"] == "already"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv(HRSS, [[ids[0], "x", "养老", "abc", "2026-10", "", "", "", "", "R"]]))
    out = io.StringIO()
    with pytest.raises(CommandError) as e:
        call_command("feed_ingest", "hrss", str(bad), stdout=out)
    assert e.value.returncode == 2 and "第2行 缴费基数：“abc”不是有效的数字" in out.getvalue()
    with pytest.raises(CommandError, match="未知的数据来源"):
        call_command("feed_ingest", "nope", str(good), stdout=io.StringIO())


@pytest.mark.django_db
def test_cli_exits_2_on_a_refused_file(tmp_path: Path, capsys):
    from jiuzhu.cli import main

    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv(["姓名"], [["x"]]))
    with pytest.raises(SystemExit) as e:
        main(["feed-ingest", "hrss", str(bad)])
    assert e.value.code == 2 and "找不到表头" in capsys.readouterr().out


# --- speed --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_100k_rows_in_well_under_a_minute(tmp_path: Path):
    ids = _people(5000)
    months = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13)][:20]
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HRSS)
        n = 0
        for i, v in enumerate(ids):
            for mth in months:
                n += 1
                w.writerow([v, f"测试{i}", "养老", f"{3000 + i % 3000}.00", mth, "", "", "", "某单位", f"R{n:07d}"])
    t0 = time.perf_counter()
    res = I.ingest_file("hrss", path, "big.csv", today=TODAY)
    seconds = time.perf_counter() - t0
    assert res.outcome == "loaded" and res.feed.rows_loaded == 100_000 == FeedRecord.objects.count()
    print(f"\n100,000 rows in {seconds:.1f} s ({100_000 / seconds:,.0f} rows/s)")
    # about 25 s alone on PostgreSQL here; the bound leaves room for a shared, loaded machine (2 cores) and still
    # catches a per-row query or an O(n²) slip, which take minutes
    assert seconds < 50
