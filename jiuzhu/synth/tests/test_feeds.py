"""Synthetic departmental feeds (jiuzhu/synth/feeds.py): consistent with the declared economy except for the
inconsistencies the manifest names, which the verification's rules really find."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from python_calamine import CalamineWorkbook

from jiuzhu.registry.models import Household, Person
from jiuzhu.registry.policy_input import household_input
from jiuzhu.synth.feeds import FORMATS, HEADERS, MANIFEST, TYPES, read_manifest, write_feeds
from jiuzhu.synth.load import generate
from jiuzhu.verification import assess
from jiuzhu.verification.adapters import to_record
from jiuzhu.verification.ingest import ingest_file
from jiuzhu.verification.models import FeedFile, FeedRecord
from jiuzhu.verification.services import _engine

COUNTY = "610902"
ON = dt.date(2026, 9, 15)


@pytest.fixture
def county(tree):
    generate(county=COUNTY, households=700, seed=5)


def _ingest_all(paths: dict) -> dict:
    out = {}
    for source, path in paths.items():
        res = ingest_file(source, path, path.name, today=ON)
        assert res.outcome == "loaded", (source, res.message, res.feed.errors[:5])
        out[source] = res.feed
    return out


def _picture(h: Household):
    """(declared engine input, member id -> blind index, found per person, differences) of one household."""
    people = list(Person.objects.filter(household=h))
    bis = {str(p.pk): p.id_number_bi for p in people}
    records = [to_record(r) for r in FeedRecord.objects.filter(person_bi__in=bis.values())]
    found = assess.aggregate(records, ON)
    data = household_input(h, ON)
    data.pop("facts", None)
    diffs = assess.compare(data, bis, found, {str(p.pk): p.name for p in people}, ON)
    return data, bis, found, diffs


def _rows(path) -> list[list[str]]:
    fmt = path.suffix[1:]
    if fmt == "csv":
        data = path.read_bytes()
        enc = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            text = data.decode("gb18030")
        return list(csv.reader(io.StringIO(text, newline="")))
    if fmt == "xlsx":
        with CalamineWorkbook.from_path(str(path)) as wb:
            return [[str(c) for c in row] for row in wb.get_sheet_by_index(0).to_python()]
    t = pq.read_table(path)
    return [t.column_names, *([str(c) for c in row] for row in zip(*t.to_pydict().values(), strict=True))]


def test_the_manifests_inconsistencies_are_in_the_files_and_the_rest_is_clean(county, tmp_path):
    paths = write_feeds(COUNTY, tmp_path, on=ON, seed=3)
    m = read_manifest(tmp_path)
    assert set(paths) == set(HEADERS) and (tmp_path / MANIFEST).exists()
    assert m["households"] == Household.objects.count() and m["persons"] == Person.objects.count()
    for kind in TYPES:  # each type happens (about 3 % of 700 households each)
        assert 5 <= len(m[kind]) <= 45, (kind, len(m[kind]))
    planted = [no for kind in TYPES for no in m[kind]]
    assert len(planted) == len(set(planted)) and not set(planted) & set(m["clean"])
    assert len(planted) + len(m["clean"]) == m["households"]
    feeds = _ingest_all(paths)
    for source, ff in feeds.items():  # the strangers are reported and not stored, the duplicates loaded once
        assert ff.rows_unknown == m["unknown_persons"][source] >= 2, source
        assert ff.rows_duplicate == m["duplicates"][source] == 2, source
        assert ff.rows_error == 0 and ff.rows_total == m["rows"][source], source
    by_no = {h.household_no: h for h in Household.objects.all()}
    for no in m["hidden_car"]:
        data, bis, found, diffs = _picture(by_no[no])
        cars = sum(found[bi].vehicles for bi in bis.values() if bi in found)
        assert cars == data["assets"]["vehicles"] + 1 and [d.kind for d in diffs] == ["vehicle"], no
    for no, pk in m["members"]["hidden_salary"].items():
        data, bis, found, diffs = _picture(by_no[no])
        f = found[bis[str(pk)]]
        assert f.wage is not None and f.wage >= 4000 and set(f.wage_sources) == {"hrss", "tax"}
        assert [(d.kind, d.severity, d.member_id) for d in diffs] == [("wage", "undeclared", str(pk))], no
    for no, pk in m["members"]["died_last_month"].items():
        data, bis, found, diffs = _picture(by_no[no])
        f = found[bis[str(pk)]]
        assert f.death is not None and dt.date(2026, 8, 1) <= f.death <= dt.date(2026, 8, 31)
        assert {"funeral", "hukou"} <= f.sources and f.death_source in ("funeral", "hukou")
        assert [(d.kind, d.member_id) for d in diffs] == [("death", str(pk))], no
        assessed = assess.assessed_input(data, bis, found, ON)
        assert str(pk) not in {x["id"] for x in assessed["members"]}  # removed from the household
    for no, pk in m["members"]["salary_stopped"].items():
        data, bis, found, diffs = _picture(by_no[no])
        f = found[bis[str(pk)]]
        assert f.wage is None and f.wage_stopped_since == dt.date(2026, 4, 1)
        assert [(d.kind, d.severity) for d in diffs] == [("wage", "lower")], no
    for no in m["more_deposits"]:
        data, bis, found, diffs = _picture(by_no[no])
        assert [(d.kind, d.severity) for d in diffs] == [("financial", "higher" if Decimal(data["assets"]["financial"]) else "undeclared")]
    for no, pk in m["members"]["active_business"].items():
        data, bis, found, diffs = _picture(by_no[no])
        assert found[bis[str(pk)]].business and [(d.kind, d.member_id) for d in diffs] == [("business", str(pk))], no
    for no, pk in m["members"]["moved_out"].items():
        data, bis, found, diffs = _picture(by_no[no])
        assert found[bis[str(pk)]].registration == "moved_out"
        assert [(d.kind, d.member_id) for d in diffs] == [("registration", str(pk))], no
    # clean: no finding, though wages are gross, some cars were scrapped years ago and some accounts have an
    # earlier balance
    dirty = [(no, [d.text for d in _picture(by_no[no])[3]]) for no in m["clean"]]
    assert [x for x in dirty if x[1]] == []
    # the clean ones are not empty of records: wages, pensions, houses, vehicles, deposits are found and agree
    kinds = set(FeedRecord.objects.values_list("source", "kind").distinct())
    assert {("hrss", "wage"), ("hrss", "pension"), ("tax", "wage"), ("housing_fund", "wage"), ("real_estate", "house"),
            ("vehicle", "vehicle"), ("bank", "deposit"), ("market", "business"), ("hukou", "registration"),
            ("marriage", "marriage"), ("funeral", "death"), ("hukou", "death")} <= kinds  # fmt: skip
    exempt = set(FeedRecord.objects.filter(kind="vehicle").values_list("category", flat=True))
    assert {"car", "motorcycle", "tricycle", "ended"} <= exempt


def test_formats_and_date_styles_are_mixed(county, tmp_path):
    paths = write_feeds(COUNTY, tmp_path, on=ON, seed=3)
    kinds = {s: p.suffix for s, p in paths.items()}
    assert kinds["bank"] == ".parquet" and kinds["vehicle"] == ".xlsx" and kinds["hrss"] == ".csv"
    gbk = paths["hukou"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    assert gbk.decode("gb18030").startswith("公民身份号码,")
    assert paths["hrss"].read_bytes().startswith(b"\xef\xbb\xbf") and paths["marriage"].read_bytes()[:3] != b"\xef\xbb\xbf"
    assert FORMATS["tax"] == ("csv", "gb18030")
    assert _rows(paths["tax"])[1][2].isdigit() and len(_rows(paths["tax"])[1][2]) == 6  # 202608
    assert "年" in _rows(paths["housing_fund"])[1][4]
    assert "/" in _rows(paths["real_estate"])[1][6]
    assert len(_rows(paths["hukou"])[1][6]) == 8  # 20260914
    for source, path in paths.items():
        assert _rows(path)[0] == HEADERS[source]


def test_deterministic_for_a_seed(county, tmp_path):
    a = write_feeds(COUNTY, tmp_path / "a", on=ON, seed=3)
    b = write_feeds(COUNTY, tmp_path / "b", on=ON, seed=3)
    write_feeds(COUNTY, tmp_path / "c", on=ON, seed=4)
    ma, mb, mc = (read_manifest(tmp_path / x) for x in "abc")
    assert ma == mb and ma != mc and ma["hidden_car"] != mc["hidden_car"]
    for source in HEADERS:
        assert _rows(a[source]) == _rows(b[source]), source
        if a[source].suffix == ".csv":
            assert a[source].read_bytes() == b[source].read_bytes()


def test_demo_households_in_guanmiao(county, tmp_path):
    write_feeds(COUNTY, tmp_path, on=ON, seed=1)
    m = read_manifest(tmp_path)
    chosen = {k: m[f"demo_{k}"] for k in ("clean", "hidden_car", "hidden_salary")}
    assert all(len(v) == 1 for v in chosen.values()), chosen
    assert m["demo_clean"][0] in m["clean"] and m["demo_hidden_car"][0] in m["hidden_car"]
    assert m["demo_hidden_salary"][0] in m["hidden_salary"]
    paths = {s: tmp_path / name for s, name in m["files"].items()}
    _ingest_all(paths)
    for key, (no,) in chosen.items():
        h = Household.objects.get(household_no=no)
        assert h.area_code.startswith("610902100") and not h.economy.current_dibao
        data, bis, found, diffs = _picture(h)
        declared = _engine(data, ON, "dibao")
        assert declared is not None and declared["eligible"], (key, declared)
        assessed = _engine(assess.assessed_input(data, bis, found, ON), ON, "dibao")
        if key == "clean":
            assert diffs == [] and assessed["eligible"]
        else:
            assert [d.kind for d in diffs] == (["vehicle"] if key == "hidden_car" else ["wage"])
            assert not assessed["eligible"], (key, assessed)


def test_no_registry_no_files_crash(tree, tmp_path):
    paths = write_feeds(COUNTY, tmp_path, on=ON, seed=1)
    m = read_manifest(tmp_path)
    assert m["households"] == 0 and m["demo_clean"] == [] and m["clean"] == []
    for source, path in paths.items():  # only the strangers, who are reported and not stored
        res = ingest_file(source, path, path.name, today=ON)
        assert res.outcome == "loaded" and res.feed.rows_unknown == res.feed.rows_total, source
    assert FeedRecord.objects.count() == 0 and FeedFile.objects.count() == len(HEADERS)


def test_demo_feeds_are_reused_while_fresh_and_replaced_with_their_records_when_stale(county, tmp_path, monkeypatch):
    from django.utils import timezone

    from jiuzhu.synth import feeds

    today = dt.date(2026, 9, 15)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: today)
    line = feeds.ensure_demo_feeds(COUNTY, tmp_path, seed=3)
    assert "written" in line
    first = FeedRecord.objects.count()
    assert first > 0 and FeedFile.objects.count() == len(HEADERS)
    today = dt.date(2026, 10, 10)  # 25 days later: reused, nothing new
    assert "already ingested, reused" in feeds.ensure_demo_feeds(COUNTY, tmp_path, seed=3)
    assert FeedRecord.objects.count() == first
    today = dt.date(2026, 11, 20)  # stale: written again for the new day; the earlier files' records are gone
    assert "written" in feeds.ensure_demo_feeds(COUNTY, tmp_path, seed=3)
    assert read_manifest(tmp_path)["on"] == "2026-11-20" and FeedFile.objects.count() == len(HEADERS)
    assert not FeedRecord.objects.exclude(feed__in=FeedFile.objects.all()).exists()
    latest = FeedRecord.objects.filter(kind="wage").order_by("-period").values_list("period", flat=True).first()
    assert latest == dt.date(2026, 10, 1)  # wages now reach last month of the new day
