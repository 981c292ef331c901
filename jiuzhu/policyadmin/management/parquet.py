"""Parquet batch files for ``jiuzhu evaluate --batch`` (docs/policy-engine-cli.md): persons in, households out.

The persons file is read straight into the engine's :class:`~jiuzhu.policy.inputs.Columns` with pyarrow and
numpy — no Python object per person — and validated column by column before any rule runs. Every problem
names the column and the rows at fault (0-based row numbers of the file) and all of them are reported at once,
as a :class:`~jiuzhu.policy.errors.PolicyInputError`.

Input: one row per person. ``household_id``, ``area`` and ``urban_rural`` say which household the person
belongs to and where it lives; the other household columns (assets, rigid spending, temporary assistance,
current 低保) are repeated on every row of the household and must be equal on all of them. Person columns
carry the names of ``jiuzhu.policy.inputs.PERSON_FIELDS``, with three exceptions: ``birth_date`` (a date; or
``birth_ymd``, an integer YYYYMMDD), ``member_id`` and ``obligor_for`` (the ``member_id`` of the person owed
support, in the same household).

Output: one row per household, in the order households first appear in the input: ``household_id``, ``area``,
``unit_size`` and per programme ``<p>_eligible`` (bool), ``<p>_amount`` (decimal128(12, 2) yuan per month; for
临时救助 the one-off amount), ``<p>_blocked`` (a parameter marked L is needed and the run is in production
mode: eligible and amount are null) and ``<p>_unconfirmed`` (values marked L were used)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jiuzhu.policy import divisions
from jiuzhu.policy.errors import PolicyInputError
from jiuzhu.policy.inputs import HOUSEHOLD_FIELDS, MAX_MONEY_FEN, PERSON_FIELDS, RELATIONS, Columns, Field

PERSONS_FORMAT = "jiuzhu-policy-persons/1"
RESULTS_FORMAT = "jiuzhu-policy-results/1"
ROWS_SHOWN = 10
AMOUNT_TYPE = pa.decimal128(12, 2)

# Person and household columns whose file form is the engine field itself.
PERSON_COLUMNS: dict[str, Field] = {f.name: f for f in PERSON_FIELDS if f.name not in ("birth_ymd", "obligor_for")}
HOUSEHOLD_COLUMNS: dict[str, Field] = {
    f.name: f for f in HOUSEHOLD_FIELDS if f.name not in ("urban", "assets_housing_area_x100")
}
SPECIAL_COLUMNS = ("household_id", "area", "urban_rural", "member_id", "birth_date", "birth_ymd", "obligor_for",
                   "assets_housing_area_m2")  # fmt: skip
KNOWN_COLUMNS = frozenset(SPECIAL_COLUMNS) | set(PERSON_COLUMNS) | set(HOUSEHOLD_COLUMNS)


@dataclass
class Batch:
    """What ``read_persons`` returns: the engine's columns and the households' ids and areas (input order)."""

    columns: Columns
    household_ids: pa.Array  # string, one per household
    n_rows: int


def _plain(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


class _Reader:
    def __init__(self, table: pa.Table, on: dt.date, area: str | None):
        self.on = on
        self.on_ymd = on.year * 10000 + on.month * 100 + on.day
        self.area_override = area
        self.errors: list[tuple[str, str]] = []
        self.n = table.num_rows
        # Households are numbered in the order they first appear; rows are then grouped by household (stable,
        # so members keep their order) and every error is reported with the row number of the file.
        hid = _plain(table.column("household_id"))
        if pa.types.is_integer(hid.type):
            hid = hid.cast(pa.string())
        if not _is_text(hid.type):
            raise PolicyInputError([("household_id", "must be a text (or integer) column")])
        missing = hid.is_null().to_numpy(zero_copy_only=False)
        if missing.any():
            raise PolicyInputError([("household_id", f"missing {self._rows_text(np.flatnonzero(missing))}")])
        enc = pc.dictionary_encode(hid)
        hh = enc.indices.to_numpy().astype(np.int64)
        if len(hh) < 2 or bool(np.all(hh[1:] >= hh[:-1])):  # already grouped (the usual case): no copy
            self.order, self.hh, self.table = np.arange(len(hh)), hh, table
        else:
            self.order = np.argsort(hh, kind="stable")
            self.hh = hh[self.order]
            self.table = table.take(pa.array(self.order))
        self.household_ids = enc.dictionary
        self.m = len(enc.dictionary)
        starts = np.flatnonzero(np.r_[True, self.hh[1:] != self.hh[:-1]])
        self.first_row = starts  # per household
        self.first_of_row = starts[self.hh]  # per row: the first row of its household

    # --- error reporting ---------------------------------------------------------------------------------

    def _rows_text(self, rows: np.ndarray) -> str:
        rows = np.sort(rows)
        shown = ", ".join(str(int(r)) for r in rows[:ROWS_SHOWN])
        more = f" and {len(rows) - ROWS_SHOWN} more" if len(rows) > ROWS_SHOWN else ""
        return f"(row{'s' if len(rows) > 1 else ''} {shown}{more})"

    def bad(self, column: str, mask: np.ndarray, message: str) -> None:
        """Report ``message`` for the rows (in grouped order) where ``mask`` is true."""
        rows = np.flatnonzero(mask)
        if len(rows):
            self.errors.append((column, f"{message} {self._rows_text(self.order[rows])}"))

    def col(self, name: str) -> pa.Array | None:
        if name not in self.table.column_names:
            return None
        return _plain(self.table.column(name))

    # --- typed columns -----------------------------------------------------------------------------------

    def enum(self, name: str, choices: tuple[str, ...], *, required: bool = False, default: int = 0) -> np.ndarray:
        col = self.col(name)
        if col is None:
            if required:
                self.errors.append((name, "required column is missing"))
            return np.full(self.n, default, dtype=np.int64)
        if pa.types.is_integer(col.type):
            col = col.cast(pa.string())
        if not _is_text(col.type):
            self.errors.append((name, f"must be a text column with one of: {', '.join(c for c in choices if c)}"))
            return np.full(self.n, default, dtype=np.int64)
        null = col.is_null().to_numpy(zero_copy_only=False)
        idx = pc.index_in(col, value_set=pa.array(choices, pa.string())).fill_null(-1).to_numpy()
        if required:
            self.bad(name, null, "missing")
        self.bad(name, (idx < 0) & ~null, f"must be one of {', '.join(c for c in choices if c)}")
        return np.where(null, default, np.maximum(idx, 0)).astype(np.int64)

    def boolean(self, name: str, default: bool) -> np.ndarray:
        col = self.col(name)
        if col is None:
            return np.full(self.n, default, dtype=np.bool_)
        if not pa.types.is_boolean(col.type):
            self.errors.append((name, "must be a boolean column"))
            return np.full(self.n, default, dtype=np.bool_)
        return np.asarray(col.fill_null(default).to_numpy(zero_copy_only=False), dtype=np.bool_)

    def integer(self, name: str, maximum: int | None, default: int = 0) -> np.ndarray:
        col = self.col(name)
        if col is None:
            return np.full(self.n, default, dtype=np.int64)
        if not pa.types.is_integer(col.type):
            self.errors.append((name, "must be an integer column"))
            return np.full(self.n, default, dtype=np.int64)
        v = col.cast(pa.int64()).fill_null(default).to_numpy()
        hi = maximum if maximum is not None else np.iinfo(np.int64).max
        self.bad(name, (v < 0) | (v > hi), f"must be an integer from 0 to {maximum}" if maximum is not None
                 else "must be a non-negative integer")  # fmt: skip
        return np.where((v < 0) | (v > hi), 0, v).astype(np.int64)

    def hundredths(self, name: str) -> np.ndarray:
        """A decimal column (yuan, m²) in hundredths, exactly: decimal128/256 with at most two places, or an
        integer column. Floating-point columns are refused: amounts never pass through float."""
        col = self.col(name)
        if col is None:
            return np.zeros(self.n, dtype=np.int64)
        t = col.type
        if pa.types.is_floating(t):
            self.errors.append((name, "is a floating-point column: store amounts as decimal128 with at most two "
                                      "decimal places (or integers)"))  # fmt: skip
            return np.zeros(self.n, dtype=np.int64)
        fen: Any
        if pa.types.is_decimal128(t) and 0 <= t.scale <= 2 and t.precision <= 18:
            fen = _decimal_fen(col)
        elif pa.types.is_decimal(t):
            if t.scale > 2:
                extra = pc.not_equal(pc.round(col, ndigits=2), col).fill_null(False).to_numpy(zero_copy_only=False)
                self.bad(name, extra, "more than two decimal places")
                if extra.any():
                    return np.zeros(self.n, dtype=np.int64)
            try:
                col = col.cast(pa.decimal128(20, 2))
                fen = pc.multiply(col, pa.scalar(Decimal(100), pa.decimal128(3, 0))).cast(pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                self.errors.append((name, "has values too large to be amounts"))
                return np.zeros(self.n, dtype=np.int64)
        elif pa.types.is_integer(t):
            try:
                fen = pc.multiply_checked(col.cast(pa.int64()), 100)
            except pa.ArrowInvalid:
                self.errors.append((name, "has values too large to be amounts"))
                return np.zeros(self.n, dtype=np.int64)
        else:
            self.errors.append((name, "must be a decimal column (yuan, at most two decimal places)"))
            return np.zeros(self.n, dtype=np.int64)
        v = fen if isinstance(fen, np.ndarray) else np.asarray(fen.fill_null(0).to_numpy(), dtype=np.int64)
        self.bad(name, v < 0, "cannot be negative")
        self.bad(name, v > MAX_MONEY_FEN, "is implausibly large")
        return np.where((v < 0) | (v > MAX_MONEY_FEN), 0, v)

    def field(self, f: Field) -> np.ndarray:
        if f.kind == "money":
            return self.hundredths(f.name)
        if f.kind == "bool":
            return self.boolean(f.name, bool(f.default))
        if f.kind == "enum":
            return self.enum(f.name, f.choices, required=f.name == "relation", default=int(f.default))
        return self.integer(f.name, f.maximum, int(f.default))

    def per_household(self, name: str, values: np.ndarray) -> np.ndarray:
        """A household column: equal on every row of the household; one value per household."""
        self.bad(name, values != values[self.first_of_row], "differs between rows of the same household "
                 "(household columns repeat one value on every member's row)")  # fmt: skip
        return values[self.first_row]

    # --- special columns ---------------------------------------------------------------------------------

    def areas(self) -> np.ndarray:
        if self.area_override is not None:
            return np.full(self.m, self.area_override, dtype="U12")
        col = self.col("area")
        if col is None:
            self.errors.append(("area", "required column is missing (or pass --area)"))
            return np.full(self.m, "", dtype="U12")
        if pa.types.is_integer(col.type):
            col = col.cast(pa.string())
        if not _is_text(col.type):
            self.errors.append(("area", "must be a text column of division codes"))
            return np.full(self.m, "", dtype="U12")
        self.bad("area", col.is_null().to_numpy(zero_copy_only=False), "missing")
        enc = pc.dictionary_encode(col.fill_null(""))
        codes = enc.indices.to_numpy().astype(np.int64)
        normal: list[str] = []
        for i, raw in enumerate(enc.dictionary.to_pylist()):  # one call per distinct code, not per row
            try:
                normal.append(divisions.normalise(raw))
            except ValueError as e:
                normal.append("")
                if raw:
                    self.bad("area", codes == i, str(e))
        normal_arr = np.asarray(normal, dtype="U12")
        per_row = np.unique(normal_arr, return_inverse=True)[1].reshape(-1)[codes]
        self.per_household("area", per_row)
        return normal_arr[codes][self.first_row]

    def birth_ymd(self) -> np.ndarray:
        col = self.col("birth_date")
        name = "birth_date"
        if col is None and self.col("birth_ymd") is not None:
            col, name = self.col("birth_ymd"), "birth_ymd"
        if col is None:
            self.errors.append(("birth_date", "required column is missing (a date, or birth_ymd as YYYYMMDD)"))
            return np.zeros(self.n, dtype=np.int64)
        assert col is not None
        null = col.is_null().to_numpy(zero_copy_only=False)
        if pa.types.is_date(col.type) or pa.types.is_timestamp(col.type):
            y = pc.year(col).fill_null(0).to_numpy().astype(np.int64)
            ymd = y * 10000 + pc.month(col).fill_null(0).to_numpy() * 100 + pc.day(col).fill_null(0).to_numpy()
            real = ~null
        elif name == "birth_ymd" and pa.types.is_integer(col.type):
            ymd = col.cast(pa.int64()).fill_null(0).to_numpy()
            y, m, d = ymd // 10000, ymd // 100 % 100, ymd % 100
            month = ((np.clip(y, 1, 9999) - 1970) * 12 + np.clip(m, 1, 12) - 1).astype("datetime64[M]")
            days = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(np.int64)
            real = (m >= 1) & (m <= 12) & (d >= 1) & (d <= days) & (y >= 1)
            self.bad(name, ~real & ~null, "not a real date (YYYYMMDD)")
        else:
            self.errors.append((name, "must be a date column (or birth_ymd: integers YYYYMMDD)"))
            return np.zeros(self.n, dtype=np.int64)
        ymd = np.asarray(ymd, dtype=np.int64)
        self.bad(name, null, "missing birth date")
        self.bad(name, real & (ymd > self.on_ymd), f"is after the evaluation date {self.on.isoformat()}")
        self.bad(name, real & (ymd < 18800101), "is before 1880")
        return np.where(real & ~null, ymd, 0)

    def member_keys(self) -> tuple[np.ndarray, pa.Array]:
        """Per row: a code of its member id (unique within the household), and the ids' dictionary."""
        col = self.col("member_id")
        if col is None:  # members are numbered 0, 1, 2 … in file order within their household
            pos = np.arange(self.n, dtype=np.int64) - self.first_of_row
            return pos, pa.array(np.arange(max(int(pos.max(initial=0)) + 1, 1)).astype(str))
        if pa.types.is_integer(col.type):
            col = col.cast(pa.string())
        if not _is_text(col.type):
            self.errors.append(("member_id", "must be a text (or integer) column"))
            return np.zeros(self.n, dtype=np.int64), pa.array([""])
        self.bad("member_id", col.is_null().to_numpy(zero_copy_only=False), "missing")
        enc = pc.dictionary_encode(col.fill_null(""))
        codes = enc.indices.to_numpy().astype(np.int64)
        key = self.hh * len(enc.dictionary) + codes
        uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        self.bad("member_id", counts[inverse.reshape(-1)] > 1, "duplicate member_id within a household")
        return codes, enc.dictionary

    def obligors(self, member_code: np.ndarray, dictionary: pa.Array) -> np.ndarray:
        col = self.col("obligor_for")
        out = np.full(self.n, -1, dtype=np.int64)
        if col is None:
            return out
        if pa.types.is_integer(col.type):
            col = col.cast(pa.string())
        if not _is_text(col.type):
            self.errors.append(("obligor_for", "must be a text (or integer) column of member_id values"))
            return out
        given = col.is_valid().to_numpy(zero_copy_only=False)
        ref = pc.index_in(col, value_set=dictionary.cast(pa.string())).fill_null(-1).to_numpy().astype(np.int64)
        d = len(dictionary)
        keys = self.hh * d + member_code
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        want = self.hh * d + ref
        pos = np.clip(np.searchsorted(sorted_keys, want), 0, self.n - 1)
        found = given & (ref >= 0) & (sorted_keys[pos] == want)
        target = np.where(found, order[pos], -1)
        self.bad("obligor_for", given & ~found, "no member of the same household has this member_id")
        own = found & (target == np.arange(self.n))
        self.bad("obligor_for", own, "a person cannot be their own supporter")
        return np.where(found & ~own, target, -1)


def _decimal_fen(col: pa.Array) -> np.ndarray:
    """A decimal128 column of scale 0–2 and precision ≤ 18 → int64 hundredths, read from its 128-bit words
    without a cast; nulls → 0, values beyond any amount → MAX_MONEY_FEN + 1 (reported as implausible)."""
    n = len(col)
    words = np.frombuffer(col.buffers()[1], dtype="<i8", count=2 * (col.offset + n))[2 * col.offset :].reshape(n, 2)
    low, high = words[:, 0], words[:, 1]
    too_large = (high != (low >> 63)) | (np.abs(low) > MAX_MONEY_FEN)
    fen = np.where(too_large, MAX_MONEY_FEN + 1, low * (10 ** (2 - col.type.scale)))
    if col.null_count:
        fen = np.where(col.is_valid().to_numpy(zero_copy_only=False), fen, 0)
    return np.asarray(fen, dtype=np.int64)


def read_persons(path: str | Path, on: dt.date, *, area: str | None = None) -> Batch:
    """Read and validate a persons file. Raises PolicyInputError (column, message naming the rows)."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise PolicyInputError([("--batch", f"cannot read the Parquet file {path}: {e}")]) from None
    return persons_from_table(table, on, area=area)


def persons_from_table(table: pa.Table, on: dt.date, *, area: str | None = None) -> Batch:
    unknown = [(c, "unknown column") for c in sorted(set(table.column_names) - KNOWN_COLUMNS)]
    problems: list[tuple[str, str]] = []
    for required in ("household_id", "urban_rural", "relation"):
        if required not in table.column_names:
            problems.append((required, "required column is missing"))
    if table.num_rows == 0:
        problems.append(("household_id", "the file has no rows"))
    if problems:
        raise PolicyInputError(unknown + problems)
    if area is not None:
        try:
            area = divisions.normalise(area)
        except ValueError as e:
            raise PolicyInputError([("--area", str(e))]) from None
    r = _Reader(table, on, area)
    r.errors += unknown
    person: dict[str, np.ndarray] = {}
    for name, f in PERSON_COLUMNS.items():
        person[name] = r.field(f)
    person["birth_ymd"] = r.birth_ymd()
    member_code, dictionary = r.member_keys()
    person["obligor_for"] = r.obligors(member_code, dictionary)
    household: dict[str, np.ndarray] = {}
    urban_rural = r.enum("urban_rural", ("urban", "rural"), required=True)
    household["urban"] = r.per_household("urban_rural", urban_rural == 0)
    for name, f in HOUSEHOLD_COLUMNS.items():
        household[name] = r.per_household(name, r.field(f))
    household["assets_housing_area_x100"] = r.per_household("assets_housing_area_m2",
                                                            r.hundredths("assets_housing_area_m2"))
    areas = r.areas()
    applicants = np.bincount(r.hh[person["relation"] == RELATIONS.index("applicant")], minlength=r.m)
    wrong = np.flatnonzero(applicants != 1)
    if len(wrong):
        ids = r.household_ids.take(pa.array(wrong[:ROWS_SHOWN])).to_pylist()
        more = f" and {len(wrong) - ROWS_SHOWN} more" if len(wrong) > ROWS_SHOWN else ""
        r.errors.append(("relation", "each household needs exactly one row with relation 'applicant'; these "
                                     f"have none or several: {', '.join(map(str, ids))}{more}"))  # fmt: skip
    if r.errors:
        raise PolicyInputError(r.errors)
    cols = Columns(
        person={f.name: np.asarray(person[f.name], dtype=np.bool_ if f.kind == "bool" else np.int64)
                for f in PERSON_FIELDS},
        household={f.name: np.asarray(household[f.name], dtype=np.bool_ if f.kind == "bool" else np.int64)
                   for f in HOUSEHOLD_FIELDS},
        household_of=r.hh,
        area=areas,
    )  # fmt: skip
    return Batch(columns=cols, household_ids=r.household_ids, n_rows=r.n)


def _decimal_from_fen(fen: np.ndarray, null: np.ndarray) -> pa.Array:
    """int64 分 → decimal128(12, 2) yuan, exactly (the unscaled 128-bit integers are the 分 themselves)."""
    fen = np.ascontiguousarray(fen, dtype=np.int64)
    if len(fen) and int(np.abs(fen).max()) >= 10**12:
        raise ValueError("an amount does not fit decimal128(12, 2)")
    words = np.empty((len(fen), 2), dtype="<i8")
    words[:, 0] = fen
    words[:, 1] = fen >> 63  # sign extension to 128 bits
    validity = pa.array(~null).buffers()[1] if null.any() else None
    return pa.Array.from_buffers(AMOUNT_TYPE, len(fen), [validity, pa.py_buffer(words.tobytes())],
                                 null_count=int(null.sum()))  # fmt: skip


def results_table(res: Any, batch: Batch) -> pa.Table:
    """One row per household of ``res`` (an engine Results for ``batch.columns``)."""
    from jiuzhu.policy.rules import PROGRAMMES, closure

    area = np.asarray([divisions.six_digit(a) if len(a) < 6 else a for a in res.pset.areas], dtype=object)
    cols: dict[str, Any] = {
        "household_id": batch.household_ids.cast(pa.string()),
        "area": pa.array(area[res.ctx.hh_area], pa.string()),
        "unit_size": pa.array(np.asarray(res.get("unit_size"), dtype=np.int64)),
    }
    for p in res.programmes:
        prog = PROGRAMMES[p]
        blocked = np.asarray(res.blocked[p], dtype=np.bool_)
        cols[f"{p}_eligible"] = pa.array(np.asarray(res.get(prog.eligible), dtype=np.bool_), mask=blocked)
        cols[f"{p}_amount"] = _decimal_from_fen(np.asarray(res.get(prog.amount)), blocked)
        cols[f"{p}_blocked"] = pa.array(blocked)
        cols[f"{p}_unconfirmed"] = pa.array(res.pset.unconfirmed(closure(p))[res.ctx.hh_area])
    meta = {"format": RESULTS_FORMAT, "date": res.pset.on.isoformat(),
            "mode": "demo" if res.pset.allow_unconfirmed else "production",
            "programmes": ",".join(res.programmes)}  # fmt: skip
    return pa.table(cols).replace_schema_metadata(meta)


def write_results(table: pa.Table, path: str | Path) -> None:
    pq.write_table(table, path, compression="zstd")


def table_from_households(households: list[dict[str, Any]]) -> pa.Table:
    """Household JSON objects (docs/policy-input.md) → a persons table in the batch format. One Python dict per
    person: for tests, examples and small conversions, not for millions of rows. The JSON is not validated
    here; ``persons_from_table`` does that."""
    from jiuzhu.policy.inputs import INCOME_ITEMS, PERSON_FLAGS, RIGID_ITEMS

    def dec(v: Any) -> Decimal:
        return Decimal(str(v)).quantize(Decimal("0.01"))

    rows: list[dict[str, Any]] = []
    for hi, hh in enumerate(households):
        assets, rigid = hh.get("assets") or {}, hh.get("rigid_expenditure_12m") or {}
        temp, cur = hh.get("temporary") or {}, hh.get("current") or {}
        house = {
            "household_id": str(hh.get("id", hi)), "area": hh.get("area"), "urban_rural": hh.get("urban_rural"),
            "assets_financial": dec(assets.get("financial", 0)), "assets_houses": assets.get("houses", 0),
            "assets_housing_area_m2": dec(assets.get("housing_area_m2", 0)),
            "assets_vehicles": assets.get("vehicles", 0),
            **{f"rigid_{i}": dec(rigid.get(i, 0)) for i in RIGID_ITEMS},
            "temp_type": temp.get("type", "none"), "temp_tier": temp.get("tier", 0),
            "temp_one_matter": temp.get("one_matter", False), "current_dibao": cur.get("dibao", False),
            "current_dibao_amount": dec(cur.get("dibao_amount", 0)),
            "gradual_exit_used": cur.get("gradual_exit_months_used", 0),
        }  # fmt: skip
        for m in hh.get("members") or []:
            dis, flags, income = m.get("disability") or {}, m.get("flags") or {}, m.get("income") or {}
            scf = m.get("self_care_failed", 0)
            parents = m.get("parents") or ["ok", "ok"]
            birth = m.get("birth_date")
            rows.append(house | {
                "member_id": str(m.get("id")), "relation": m.get("relation"),
                "birth_date": dt.date.fromisoformat(birth) if birth else None, "sex": str(m.get("sex", "")),
                "lives_together": m.get("lives_together", True), "dependent": m.get("dependent", False),
                "schooling": m.get("schooling", "none"), "disability_category": dis.get("category", "none"),
                "disability_grade": dis.get("grade", 0), "serious_illness": m.get("serious_illness", False),
                "self_care_failed": len(scf) if isinstance(scf, list) else scf,
                "labour_capacity": m.get("labour_capacity", "full"),
                "clergy_apart_years": flags.get("clergy_apart_years", 0),
                **{f: flags.get(f, False) for f in PERSON_FLAGS},
                "parent1_status": parents[0], "parent2_status": parents[1],
                **{f"income_{i}": dec(income.get(i, 0)) for i in INCOME_ITEMS},
                "obligor_for": str(m["obligor_for"]) if m.get("obligor_for") is not None else None,
            })  # fmt: skip
    types = {name: AMOUNT_TYPE for name in rows[0] if name.startswith(("income_", "rigid_", "assets_financial",
                                                                        "assets_housing", "current_dibao_amount"))}
    schema = pa.schema([(name, types.get(name) or pa.infer_type([r[name] for r in rows]) or pa.string())
                        for name in rows[0]])  # fmt: skip
    schema = schema.set(schema.get_field_index("obligor_for"), pa.field("obligor_for", pa.string()))
    return pa.Table.from_pylist(rows, schema=schema).replace_schema_metadata({"format": PERSONS_FORMAT})
