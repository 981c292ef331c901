"""``jiuzhu evaluate``: JSON in and out, the trace, exit code 2 with the field named for every kind of bad
input, and the Parquet batch giving the same answers as one household at a time."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from jiuzhu.policy.engine import evaluate
from jiuzhu.policy.errors import PolicyInputError
from jiuzhu.policyadmin.management import parquet
from jiuzhu.policyadmin.store import current_store

# Equality of batch and one-by-one results is checked on these (test_example_household_works_with_every_programme
# checks that every programme runs).
PROGRAMMES = ["dibao", "tekun", "near_dibao"]
EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "household.json"
DATE = "2024-07-01"
pytestmark = pytest.mark.django_db


def example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"), parse_float=Decimal)


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("evaluate", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


def write(tmp_path: Path, household: Any, name: str = "h.json") -> str:
    path = tmp_path / name
    path.write_text(household if isinstance(household, str) else json.dumps(household, ensure_ascii=False, default=str),
                    encoding="utf-8")  # fmt: skip
    return str(path)


def test_json_in_json_out():
    code, out, err = run(str(EXAMPLE), "--date", DATE, "--programmes", "dibao")
    assert code == 0, err
    res = json.loads(out)
    assert "\\u" not in out and "最低生活保障" in out  # ensure_ascii=False
    assert res["household"] == "H610902100001000001" and res["date"] == DATE and res["mode"] == "demo"
    assert res["unit"]["members"] == ["p1", "p2", "p3"] and res["unit"]["excluded"][0]["id"] == "p4"
    dibao = res["programmes"]["dibao"]
    assert dibao["status"] == "ok" and dibao["eligible"] is True
    assert dibao["amount"] == "1764.00" and isinstance(dibao["reasons"], list) and dibao["reasons"]
    assert any("农村低保标准 580.00 元" in r for r in dibao["reasons"])
    assert "trace" not in res
    assert res == evaluate(example(), current_store(), on=dt.date(2024, 7, 1), allow_unconfirmed=True,
                           programmes=["dibao"])  # fmt: skip


def test_example_household_works_with_every_programme():
    code, out, err = run(str(EXAMPLE), "--date", DATE)
    assert code == 0, err
    res = json.loads(out)
    for key, prog in res["programmes"].items():
        assert prog["status"] == "ok", key
        assert prog["amount"] is not None and Decimal(prog["amount"]).as_tuple().exponent == -2, key


def test_trace_has_every_variable_and_parameter_with_source_and_confidence():
    code, out, err = run(str(EXAMPLE), "--date", DATE, "--programmes", "dibao", "--trace")
    assert code == 0, err
    trace = json.loads(out)["trace"]
    assert trace["variables"]["dibao_standard"] == "580.00"
    assert trace["variables"]["in_unit"] == {"p1": True, "p2": True, "p3": True, "p4": False}
    params = {p["key"]: p for p in trace["parameters"]}
    std = params["dibao.standard.rural"]
    assert std["value"] == "580.00" and std["confidence"] == "L" and std["source"] and std["scope"] == "610900"
    assert {"key", "value", "source", "article", "confidence", "label", "effective_from"} <= set(std)
    assert all(p["source"] and p["confidence"] in ("H", "M", "L") for p in trace["parameters"])


def test_area_override_and_production_mode():
    code, out, _ = run(str(EXAMPLE), "--date", DATE, "--programmes", "dibao", "--area", "442000", "--trace")
    assert code == 0
    res = json.loads(out)
    assert res["area"] == "442000"
    assert {p["key"]: p for p in res["trace"]["parameters"]}["dibao.standard.rural"]["scope"] == "442000"
    code, out, _ = run(str(EXAMPLE), "--date", DATE, "--programmes", "dibao", "--mode", "production")
    dibao = json.loads(out)["programmes"]["dibao"]
    assert code == 0 and dibao["status"] == "blocked" and dibao["eligible"] is None and dibao["amount"] is None
    assert any("dibao.standard.rural" in r for r in dibao["reasons"])


def test_json_numbers_are_decimals_not_floats(tmp_path):
    h = example()
    h["members"][0]["income"] = {"business": Decimal("150.10")}
    text = json.dumps(h, default=str).replace('"150.10"', "150.10")
    code, out, err = run(write(tmp_path, text), "--date", DATE, "--programmes", "dibao")
    assert code == 0, err
    assert "家庭月收入 150.10 元" in json.loads(out)["programmes"]["dibao"]["reasons"][0]


def _bad(h: dict[str, Any], what: str) -> dict[str, Any]:
    h = copy.deepcopy(h)
    if what == "area":
        h["area"] = "999999"
    elif what == "birth":
        del h["members"][1]["birth_date"]
    elif what == "id_number":
        h["members"][1]["id_number"] = "610902195305010000"
    elif what == "income":
        h["members"][0]["income"]["business"] = "-20.00"
    return h


@pytest.mark.parametrize("what, field", [
    ("area", "area"), ("birth", "members[1].birth_date"), ("id_number", "members[1].id_number"),
    ("income", "members[0].income.business"),
])  # fmt: skip
def test_bad_input_exits_2_naming_the_field(tmp_path, what, field):
    code, out, err = run(write(tmp_path, _bad(example(), what)), "--date", DATE)
    assert code == 2 and out == ""
    assert f"{field}: " in err and "Traceback" not in err


def test_every_problem_is_listed(tmp_path):
    h = _bad(_bad(_bad(example(), "area"), "birth"), "income")
    code, _, err = run(write(tmp_path, h), "--date", DATE)
    assert code == 2 and "3 problems" in err
    assert "area: unknown division code: 999999" in err and "members[1].birth_date" in err
    assert "members[0].income.business: cannot be negative" in err


def test_date_without_parameters_names_key_area_and_date(tmp_path):
    h = example()
    del h["members"][2]  # born 2012
    code, out, err = run(write(tmp_path, h), "--date", "2000-01-01")
    assert code == 2 and out == ""
    assert "no value of parameter dibao.standard." in err and "610902100001" in err and "2000-01-01" in err


@pytest.mark.parametrize("args, expected", [
    (["--date", "2024-13-01"], "--date: not a date"),
    (["--date", DATE, "--mode", "production", "--batch", "x.parquet"], "--out: required"),
])  # fmt: skip
def test_bad_options(args, expected):
    code, _, err = run(str(EXAMPLE), *args) if "--batch" not in args else run(*args)
    assert code == 2 and expected in err


def test_unreadable_and_malformed_files(tmp_path):
    code, _, err = run(str(tmp_path / "missing.json"), "--date", DATE)
    assert code == 2 and "cannot read the file" in err
    code, _, err = run(write(tmp_path, "{not json"), "--date", DATE)
    assert code == 2 and "not valid JSON" in err
    code, _, err = run(write(tmp_path, "[1, 2]"), "--date", DATE)
    assert code == 2 and "one household object" in err
    code, _, err = run(write(tmp_path, '{"area": NaN}'), "--date", DATE)
    assert code == 2 and "not valid JSON" in err


def test_real_command_line(tmp_path):
    """The installed entry point: stdout JSON, exit code 2 and no traceback on stderr."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "jiuzhu.settings"}
    cmd = [sys.executable, "-m", "jiuzhu.cli", "evaluate", "--packs-only", "--programmes", "dibao", "--date", DATE]
    ok = subprocess.run([*cmd, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["programmes"]["dibao"]["amount"] == "1764.00"
    bad = subprocess.run([*cmd, write(tmp_path, _bad(example(), "birth"))], capture_output=True, text=True, env=env,
                         timeout=120)  # fmt: skip
    assert bad.returncode == 2 and bad.stdout == ""
    assert "members[1].birth_date: required" in bad.stderr and "Traceback" not in bad.stderr


# --- Parquet batch -----------------------------------------------------------------------------------------


def households() -> list[dict[str, Any]]:
    """A few households unlike each other: the example, an urban one with wages, one in Zhongshan with three
    members and savings above the limit, and one single elderly person."""
    a = example()
    b = copy.deepcopy(a)
    b.update(id="H-urban", urban_rural="urban")
    b["members"][0]["income"] = {"wage": "600.50"}
    c = copy.deepcopy(a)
    c.update(id="H-zs", area="442000", assets={"financial": "900000.00"})
    c["members"][3]["lives_together"] = True
    del c["members"][3]["obligor_for"]
    d = {"id": "H-single", "area": "610902", "urban_rural": "rural",
         "members": [{"id": "x", "relation": "applicant", "birth_date": "1940-02-29", "labour_capacity": "none"}]}
    return [a, b, c, d]


def _batch(tmp_path: Path, table: pa.Table, *args: str) -> tuple[int, str, str, Path]:
    src, out = tmp_path / "persons.parquet", tmp_path / "results.parquet"
    pq.write_table(table, src)
    code, stdout, err = run("--batch", str(src), "--out", str(out), "--date", DATE, *args)
    return code, stdout, err, out


@pytest.mark.parametrize("mode", ["demo", "production"])
def test_batch_round_trip_equals_single_household_results(tmp_path, mode):
    hs = households()
    code, stdout, err, out = _batch(tmp_path, parquet.table_from_households(hs), "--mode", mode,
                                    "--programmes", ",".join(PROGRAMMES))  # fmt: skip
    assert code == 0, err
    assert "4 households, 13 persons" in stdout
    table = pq.read_table(out)
    assert table.schema.metadata[b"format"] == parquet.RESULTS_FORMAT.encode()
    assert table.schema.metadata[b"mode"] == mode.encode() and table.schema.metadata[b"date"] == DATE.encode()
    rows = table.to_pylist()
    assert [r["household_id"] for r in rows] == [h["id"] for h in hs]
    store = current_store()
    for h, row in zip(hs, rows, strict=True):
        one = evaluate(h, store, on=dt.date(2024, 7, 1), allow_unconfirmed=mode == "demo", programmes=PROGRAMMES)
        assert row["unit_size"] == one["unit"]["size"]
        for key, prog in one["programmes"].items():
            assert table.schema.field(f"{key}_amount").type == pa.decimal128(12, 2)
            assert row[f"{key}_blocked"] == (prog["status"] == "blocked"), (h["id"], key)
            assert row[f"{key}_eligible"] == prog["eligible"], (h["id"], key)
            want = None if prog["amount"] is None else Decimal(prog["amount"])
            assert row[f"{key}_amount"] == want, (h["id"], key)
            assert row[f"{key}_unconfirmed"] == any(k in one["unconfirmed"] for k in _closure(key))


def _closure(key: str) -> frozenset[str]:
    from jiuzhu.policy.rules import closure

    return closure(key)


def test_batch_rows_may_come_in_any_order_and_birth_ymd(tmp_path):
    hs = households()
    table = parquet.table_from_households(hs)
    ordered = pq.read_table(_batch(tmp_path, table, "--programmes", "dibao")[3]).to_pylist()
    shuffled = table.take(pa.array(list(range(table.num_rows))[::-1]))
    ymd = pa.array([None if d is None else d.year * 10000 + d.month * 100 + d.day
                    for d in shuffled.column("birth_date").to_pylist()], pa.int32())  # fmt: skip
    shuffled = shuffled.drop_columns(["birth_date"]).append_column("birth_ymd", ymd)
    code, _, err, out = _batch(tmp_path, shuffled, "--programmes", "dibao")
    assert code == 0, err
    again = {r["household_id"]: r for r in pq.read_table(out).to_pylist()}
    assert all(again[r["household_id"]] == r for r in ordered)


def _set(table: pa.Table, name: str, values: list[Any], type_: pa.DataType | None = None) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, pa.array(values, type_ or table.schema.field(name).type))


def test_batch_errors_name_columns_and_rows(tmp_path):
    table = parquet.table_from_households(households())
    assert table.num_rows == 13  # rows 0-3 the example, 4-7 H-urban, 8-11 H-zs, 12 H-single
    bad = _set(table, "area", ["999999" if i in (4, 5, 6, 7) else a for i, a in enumerate(table.column("area").to_pylist())])
    bad = _set(bad, "income_wage", [Decimal("-1.00") if i == 2 else v for i, v in enumerate(table.column("income_wage").to_pylist())])
    bad = _set(bad, "birth_date", [None if i in (1, 9) else v for i, v in enumerate(table.column("birth_date").to_pylist())])
    code, out, err, _ = _batch(tmp_path, bad)
    assert code == 2 and out == "" and "Traceback" not in err
    assert "area: unknown division code: 999999 (rows 4, 5, 6, 7)" in err
    assert "income_wage: cannot be negative (row 2)" in err
    assert "birth_date: missing birth date (rows 1, 9)" in err


def test_batch_refuses_floats_unknown_columns_and_inconsistent_households(tmp_path):
    table = parquet.table_from_households(households())
    bad = _set(table, "income_wage", [0.5] * table.num_rows, pa.float64()).append_column("name", pa.array(["x"] * 13))
    code, _, err, _ = _batch(tmp_path, bad)
    assert code == 2 and "income_wage: is a floating-point column" in err and "name: unknown column" in err
    fin = table.column("assets_financial").to_pylist()
    fin[1] = Decimal("1.00")
    code, _, err, _ = _batch(tmp_path, _set(table, "assets_financial", fin))
    assert code == 2 and "assets_financial: differs between rows of the same household" in err and "(row 1)" in err
    rel = table.column("relation").to_pylist()
    rel[12] = "spouse"
    code, _, err, _ = _batch(tmp_path, _set(table, "relation", rel))
    assert code == 2 and "exactly one row with relation 'applicant'" in err and "H-single" in err


def test_batch_unreadable_file(tmp_path):
    (tmp_path / "persons.parquet").write_text("not parquet")
    code, _, err = run("--batch", str(tmp_path / "persons.parquet"), "--out", str(tmp_path / "o.parquet"),
                       "--date", DATE)  # fmt: skip
    assert code == 2 and "--batch: cannot read the Parquet file" in err


def test_batch_amount_columns_decimal_or_integer_never_float(tmp_path):
    table = parquet.table_from_households(households())
    on = dt.date(2024, 7, 1)
    base = parquet.persons_from_table(table, on).columns
    wages = table.column("income_wage").to_pylist()
    as_int = _set(table, "income_wage", [int(w) for w in wages], pa.int32())
    assert (parquet.persons_from_table(as_int, on).columns.person["income_wage"]
            == [int(w) * 100 for w in wages]).all()  # fmt: skip
    three = _set(table, "income_wage", wages, pa.decimal128(14, 3))
    assert (parquet.persons_from_table(three, on).columns.person["income_wage"] == base.person["income_wage"]).all()
    wide = _set(table, "income_wage", wages, pa.decimal128(30, 2))
    assert (parquet.persons_from_table(wide, on).columns.person["income_wage"] == base.person["income_wage"]).all()
    fraction = _set(table, "income_wage", [Decimal("0.125")] + wages[1:], pa.decimal128(14, 3))
    with pytest.raises(PolicyInputError) as info:
        parquet.persons_from_table(fraction, on)
    assert ("income_wage", "more than two decimal places (row 0)") in info.value.errors
    huge = _set(table, "income_wage", [Decimal("99999999999999.99")] + wages[1:], pa.decimal128(18, 2))
    with pytest.raises(PolicyInputError) as info:
        parquet.persons_from_table(huge, on)
    assert ("income_wage", "is implausibly large (row 0)") in info.value.errors


def test_batch_area_option_overrides_every_household(tmp_path):
    code, _, err, out = _batch(tmp_path, parquet.table_from_households(households()), "--programmes", "dibao",
                               "--area", "442000")  # fmt: skip
    assert code == 0, err
    assert set(pq.read_table(out).column("area").to_pylist()) == {"442000"}


def test_shipped_example_parquet(tmp_path):
    example_file = EXAMPLE.parent / "persons.parquet"
    out = tmp_path / "r.parquet"
    code, stdout, err = run("--batch", str(example_file), "--out", str(out), "--date", DATE, "--programmes", "dibao")
    assert code == 0, err
    rows = pq.read_table(out).to_pylist()
    assert rows[0]["household_id"] == example()["id"] and rows[0]["dibao_amount"] == Decimal("1764.00")
