"""Export (SECURITY FILE-CSVX, AC-FIELD): no formula survives into XLSX or CSV, filenames are safe, only the
user's area is exported, only masked values leave, and the export is audited."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from jiuzhu.core import crypto
from jiuzhu.core.models import AuditEvent
from jiuzhu.registry.exports import (
    TRIGGERS,
    content_disposition,
    csv_chunks,
    export_households,
    export_persons,
    xlsx_file,
)
from jiuzhu.registry.models import Household, Person
from jiuzhu.testing.fixtures import PASSWORD, TOWN_A, TOWN_B, make_household, villages

trigger_strings = st.builds(lambda t, rest: t + rest, st.sampled_from(TRIGGERS), st.text(max_size=30))
any_strings = st.one_of(trigger_strings, st.text(max_size=30), st.from_regex(r"^[=+\-@＝＋－＠].*HYPERLINK\(.*\)$"))


def _xlsx_values(f) -> list:
    wb = load_workbook(f)
    return [c for row in wb.active.iter_rows() for c in row]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_strings, min_size=1, max_size=60))
def test_xlsx_has_no_formula_cells(values: list[str]) -> None:
    rows = [[v, v, 1] for v in values]
    cells = _xlsx_values(xlsx_file(["甲", "=乙", "丙"], rows))
    assert [c for c in cells if c.data_type == "f"] == []
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(TRIGGERS)]
    assert len(cells) == 3 * (len(values) + 1)


@settings(max_examples=100, deadline=None)
@given(st.lists(any_strings, min_size=1, max_size=40))
def test_csv_cells_starting_with_a_trigger_are_prefixed(values: list[str]) -> None:
    data = b"".join(csv_chunks(["姓名", "=x"], [[v, len(v)] for v in values]))
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(parsed) == len(values) + 1
    for cell in (c for row in parsed for c in row):
        assert not cell.startswith(TRIGGERS), cell
    for value, row in zip(values, parsed[1:], strict=True):
        assert row[0] == ("'" + value if value.startswith(TRIGGERS) else value)


@given(st.text(max_size=80))
def test_content_disposition_is_safe(name: str) -> None:
    header = content_disposition(name + ".xlsx", name + ".xlsx")
    assert not any(ch in header for ch in "\r\n\x00")
    assert header.count('"') == 2
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and "/" not in fallback and "\\" not in fallback
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert encoded.isascii() and " " not in encoded and ";" not in encoded
    assert not any(ch in unquote(encoded) for ch in '\r\n"\\/')


def test_chinese_filename_rfc6266() -> None:
    assert content_disposition("家庭户_20260101.xlsx", "households_20260101.xlsx") == (
        "attachment; filename=\"households_20260101.xlsx\"; "
        "filename*=UTF-8''%E5%AE%B6%E5%BA%AD%E6%88%B7_20260101.xlsx"
    )


@pytest.fixture
def registry(personas):
    va, vb = villages(TOWN_A), villages(TOWN_B)
    a1 = make_household(personas.caseworker_a, va[0], size=2, name="张三")
    a2 = make_household(personas.caseworker_a, va[1], size=1, name="李四")
    b1 = make_household(personas.caseworker_b, vb[0], size=3, name="王五")
    Household.objects.filter(pk=a1.pk).update(address="=HYPERLINK(\"http://evil\",\"点我\")")
    return a1, a2, b1


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _plain_ids() -> set[str]:
    return {crypto.decrypt(t, context="person.id_number") for t in Person.objects.values_list("id_number_enc", flat=True)}


def test_household_export_xlsx_only_in_area_masked_and_audited(personas, registry) -> None:
    a1, a2, b1 = registry
    before = AuditEvent.objects.count()
    filters = {"village": TOWN_A}
    r = export_households(personas.caseworker_a, Household.objects.all(), "xlsx", filters=filters)
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''%E5%AE%B6%E5%BA%AD%E6%88%B7_" in r["Content-Disposition"]
    body = _body(r)
    ws = load_workbook(io.BytesIO(body)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0][:3] == ["户编号", "村(社区)代码", "村(社区)"]
    assert sorted(r_[0] for r_ in rows[1:]) == sorted([a1.household_no, a2.household_no])
    row1 = next(r_ for r_ in rows if r_[0] == a1.household_no)
    assert row1[4].startswith("'=HYPERLINK")
    assert row1[8] == a1.bank_account_masked and "6228480000123456789" not in body.decode("latin-1")
    assert row1[5] == "张三"  # a caseworker has view_names, so names appear as on screen
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    ev = AuditEvent.objects.order_by("seq")[before:].get()
    assert ev.action == "registry.export" and ev.detail == {"rows": 2, "format": "xlsx", "filter": filters}


def test_person_export_csv_masks_and_stays_in_area(personas, registry) -> None:
    r = export_persons(personas.supervisor, Person.objects.all(), "csv")  # city supervisor: all three households
    body = _body(r).decode("utf-8-sig")
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert len(rows) == 1 + 6
    header = rows[0]
    names = {row[header.index("姓名")] for row in rows[1:]}
    assert "张三" not in names and "张*" in names  # a supervisor has no view_names: names are masked
    for plain in _plain_ids():
        assert plain not in body
    assert "出生日期" not in header and "年龄" in header  # a birth date would unmask the ID number
    assert all("*" in row[header.index("身份证号")] for row in rows[1:])

    r = export_persons(personas.caseworker_b, Person.objects.all(), "csv")
    rows = list(csv.reader(io.StringIO(_body(r).decode("utf-8-sig"), newline="")))
    assert len(rows) == 1 + 3 and {row[1][:9] for row in rows[1:]} == {TOWN_B}


def test_export_permission(personas, registry) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        export_households(personas.assistant_a, Household.objects.all(), "xlsx")


def test_export_view_uses_the_list_filters(personas, registry, client) -> None:
    a1, a2, b1 = registry
    assert client.login(username="cw_a", password=PASSWORD)
    url = reverse("registry:household_export")
    r = client.get(url, {"format": "csv", "village": villages(TOWN_A)[1]})
    rows = list(csv.reader(io.StringIO(_body(r).decode("utf-8-sig"), newline="")))
    assert [row[0] for row in rows[1:]] == [a2.household_no]

    head_id = crypto.decrypt(Person.objects.get(household=a1, relation="02").id_number_enc, context="person.id_number")
    before = AuditEvent.objects.count()
    r = client.get(url, {"format": "csv", "q": head_id})
    rows = list(csv.reader(io.StringIO(_body(r).decode("utf-8-sig"), newline="")))
    assert [row[0] for row in rows[1:]] == [a1.household_no]
    ev = AuditEvent.objects.order_by("seq")[before:].get()
    assert head_id not in str(ev.detail) and ev.detail["filter"]["q"].startswith(head_id[:4] + "*")

    # another township's household is not found even by its exact ID number
    b_id = crypto.decrypt(Person.objects.filter(household=b1).first().id_number_enc, context="person.id_number")
    rows = list(csv.reader(io.StringIO(_body(client.get(url, {"format": "csv", "q": b_id})).decode("utf-8-sig"), newline="")))
    assert rows[1:] == []

    r = client.get(url, {"q": "张"})
    ws = load_workbook(io.BytesIO(_body(r))).active
    assert [c.value for c in ws["A"]][1:] == [a1.household_no]
    client.logout()
    assert client.login(username="va_a", password=PASSWORD)  # village assistant: no export permission
    assert client.get(url).status_code == 403
