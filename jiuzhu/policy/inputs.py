"""Inputs: the fields of persons and households (docs/policy-input.md), their OpenFisca variables, and the
conversion of household JSON into columns with every error reported by field path before any rule runs."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jiuzhu.policy import divisions
from jiuzhu.policy.errors import PolicyInputError
from jiuzhu.policy.money import parse_yuan
from jiuzhu.policy.system import Count, Flag, Household, Money, Person

RELATIONS = ("applicant", "spouse", "child", "parent", "grandparent", "grandchild", "sibling", "other_relative",
             "non_relative")  # fmt: skip
SEXES = ("", "1", "2")
SCHOOLING = ("none", "preschool", "primary", "junior", "senior", "tertiary", "postgraduate")
DISABILITY = ("none", "visual", "hearing", "speech", "limb", "intellectual", "mental", "multiple")
LABOUR = ("full", "partial", "none")
PARENT_STATUS = ("ok", "dead", "missing", "severe_disability", "serious_illness", "detained", "lost_contact")
TEMP_TYPES = ("none", "emergency", "expenditure")
SELF_CARE_ITEMS = ("eating", "dressing", "bed_transfer", "toileting", "indoor_walking", "bathing")
INCOME_ITEMS = ("wage", "business", "property", "transfer", "support", "basic_pension", "other_pension",
                "elderly_allowance", "excluded", "employment_cost", "rigid_deduction")  # fmt: skip
PERSON_FLAGS = ("detained", "missing", "single_parent", "nursing", "tekun_recipient", "dibao_recipient",
                "no_civil_capacity", "work_injury_care", "chose_child_allowance")  # fmt: skip
RIGID_ITEMS = ("medical", "education", "rehabilitation", "living", "other")


def code(choices: tuple[str, ...], name: str) -> int:
    return choices.index(name)


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # variable and column name
    entity: str  # person | household
    kind: str  # money | int | bool | enum
    label: str
    choices: tuple[str, ...] = ()
    default: Any = 0
    maximum: int | None = None


PERSON_FIELDS: list[Field] = [
    Field("relation", "person", "enum", "与申请人关系", RELATIONS),
    Field("birth_ymd", "person", "int", "出生日期"),
    Field("sex", "person", "enum", "性别", SEXES),
    Field("lives_together", "person", "bool", "长期共同居住", default=True),
    Field("dependent", "person", "bool", "成年但不能独立生活"),
    Field("schooling", "person", "enum", "在学情况", SCHOOLING),
    Field("disability_category", "person", "enum", "残疾类别", DISABILITY),
    Field("disability_grade", "person", "int", "残疾等级", maximum=4),
    Field("serious_illness", "person", "bool", "重特大疾病"),
    Field("self_care_failed", "person", "int", "自理能力评估未达项数", maximum=6),
    Field("labour_capacity", "person", "enum", "劳动能力", LABOUR),
    Field("clergy_apart_years", "person", "int", "宗教教职人员离家年数", maximum=200),
    *[Field(f, "person", "bool", f) for f in PERSON_FLAGS],
    Field("parent1_status", "person", "enum", "父/母一方情况", PARENT_STATUS),
    Field("parent2_status", "person", "enum", "父/母另一方情况", PARENT_STATUS),
    *[Field(f"income_{i}", "person", "money", i) for i in INCOME_ITEMS],
    Field("obligor_for", "person", "int", "对其负有法定义务的成员（行号）", default=-1),
]
HOUSEHOLD_FIELDS: list[Field] = [
    Field("urban", "household", "bool", "城市低保标准"),
    Field("assets_financial", "household", "money", "金融资产"),
    Field("assets_houses", "household", "int", "住房套数", maximum=10_000),
    Field("assets_housing_area_x100", "household", "int", "住房面积（0.01 平方米）", maximum=10**9),
    Field("assets_vehicles", "household", "int", "机动车辆（非豁免）", maximum=10_000),
    *[Field(f"rigid_{i}", "household", "money", i) for i in RIGID_ITEMS],
    Field("temp_type", "household", "enum", "临时救助类型", TEMP_TYPES),
    Field("temp_tier", "household", "int", "困难程度档次", maximum=3),
    Field("temp_one_matter", "household", "bool", "一事一议"),
    Field("current_dibao", "household", "bool", "正在享受低保"),
    Field("current_dibao_amount", "household", "money", "现低保金"),
    Field("gradual_exit_used", "household", "int", "已享受渐退月数", maximum=1200),
]
FIELDS = {f.name: f for f in PERSON_FIELDS + HOUSEHOLD_FIELDS}
# Paths and column names built once (per-row f-strings dominated the cost of reading 20,000 households).
INCOME_COL = {i: f"income_{i}" for i in INCOME_ITEMS}
INCOME_PATH = {i: f"income.{i}" for i in INCOME_ITEMS}
RIGID_COL = {i: f"rigid_{i}" for i in RIGID_ITEMS}
RIGID_PATH = {i: f"rigid_expenditure_12m.{i}" for i in RIGID_ITEMS}
FLAG_PATH = {f: f"flags.{f}" for f in PERSON_FLAGS}
FLAG_KEYS = frozenset(PERSON_FLAGS) | {"clergy_apart_years"}
INCOME_KEYS = frozenset(INCOME_ITEMS)
MAX_MONEY_FEN = 10**13  # 1,000 亿元: anything above is a typing error, not an income


def input_variables() -> list[type]:
    out = []
    for f in PERSON_FIELDS + HOUSEHOLD_FIELDS:
        base = {"money": Money, "int": Count, "enum": Count, "bool": Flag}[f.kind]
        attrs: dict[str, Any] = {"entity": Person if f.entity == "person" else Household, "label": f.label}
        if f.kind == "bool":
            attrs["default_value"] = bool(f.default)
        elif f.default:
            attrs["default_value"] = f.default
        out.append(type(f.name, (base,), attrs))
    return out


@dataclass
class Columns:
    """Persons and households as arrays. ``household_of`` gives each person's household row; ``area`` each
    household's division code. Column names are the field names above."""

    person: dict[str, np.ndarray]
    household: dict[str, np.ndarray]
    household_of: np.ndarray
    area: np.ndarray  # division code per household: str (U12) or int64 (codes have no leading zero)
    ids: list[str] = field(default_factory=list)  # household ids (JSON input only)
    member_ids: list[list[str]] = field(default_factory=list)

    @property
    def n_persons(self) -> int:
        return len(self.household_of)

    @property
    def n_households(self) -> int:
        return len(self.area)


def _dtype(f: Field) -> type:
    return np.bool_ if f.kind == "bool" else np.int64


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date YYYY-MM-DD")
    return dt.date.fromisoformat(value.strip())


class _Errors:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, msg: str, detail: str | None = None) -> None:
        """``add(path, message)`` or ``add(prefix, name, message)``."""
        if detail is not None:
            path, msg = path + msg, detail
        if len(self.items) < 200:
            self.items.append((path, msg))


def _bool(v: Any, base: str, name: str, err: _Errors) -> bool:
    if v is True or v is False:
        return v
    err.add(base + name, "must be true or false")
    return False


def _int(v: Any, base: str, name: str, err: _Errors, maximum: int | None) -> int:
    if type(v) is int and v >= 0 and (maximum is None or v <= maximum):
        return v
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or (maximum is not None and v > maximum):
        err.add(base + name, f"must be an integer from 0 to {maximum}" if maximum is not None else "must be a non-negative integer")
        return 0
    return v


@functools.lru_cache(maxsize=1 << 16)
def _yuan(v: str | int) -> int | str:
    """fen, or the error message. Cached: the same strings ("0.00", a standard amount) recur by the thousand."""
    try:
        fen = parse_yuan(v)
    except ValueError as e:
        return str(e)
    if fen < 0:
        return "cannot be negative"
    if fen > MAX_MONEY_FEN:
        return "is implausibly large"
    return fen


def _money(v: Any, base: str, name: str, err: _Errors) -> int:
    out = _yuan(v) if type(v) is str or type(v) is int else _yuan.__wrapped__(v)
    if type(out) is str:
        err.add(base + name, out)
        return 0
    return out  # type: ignore[return-value]


@functools.lru_cache(maxsize=64)
def _index(choices: tuple[str, ...]) -> dict[str, int]:
    return {c: i for i, c in enumerate(choices)}


def _enum(v: Any, choices: tuple[str, ...], base: str, name: str, err: _Errors) -> int:
    if type(v) is str:
        i = _index(choices).get(v)
        if i is not None:
            return i
    err.add(base + name, f"must be one of {', '.join(c for c in choices if c)}")
    return 0


def _check_id_number(raw: Any, birth: dt.date | None, path: str, err: _Errors) -> None:
    from jiuzhu.core import idnumber  # pure Python when Django is not configured

    if not isinstance(raw, str):
        err.add(path, "must be a string")
        return
    try:
        parsed = idnumber.parse(raw)
    except idnumber.InvalidIdNumber as e:
        err.add(path, {"format": "not a resident ID number (18 characters, or 15 digits)",
                       "birth_date": "the birth date inside the ID number is not a real, past date",
                       "check": "the check character of the ID number is wrong",
                       }.get(e.code, "invalid resident ID number"))  # fmt: skip
        return
    if birth is not None and parsed.birth_date != birth:
        err.add(path, "the birth date in the ID number differs from birth_date")


HOUSEHOLD_KEYS = {"id", "area", "urban_rural", "assets", "rigid_expenditure_12m", "temporary", "current", "members",
                  "facts"}  # facts: informational ("missing" when the registry holds no incomes), not used by rules
MEMBER_KEYS = {"id", "relation", "birth_date", "id_number", "sex", "lives_together", "dependent", "schooling",
               "disability", "serious_illness", "self_care_failed", "labour_capacity", "flags", "parents",
               "income", "obligor_for", "name"}  # fmt: skip


def columns_from_json(
    households: Sequence[Mapping[str, Any]],
    on: dt.date,
    *,
    prefix: str | None = None,
    skipped: dict[int, list[tuple[str, str]]] | None = None,
) -> Columns:
    """Validate every household in full, then build columns. Raises PolicyInputError listing every problem with
    its path (``members[1].birth_date``; with several households ``households[3].members[1].birth_date``).
    With a ``skipped`` dict, invalid households are left out instead and their errors recorded there by input
    index (``Columns.ids`` then says which households are in)."""
    err = _Errors()
    p_cols: dict[str, list[Any]] = {f.name: [] for f in PERSON_FIELDS}
    h_cols: dict[str, list[Any]] = {f.name: [] for f in HOUSEHOLD_FIELDS}
    household_of: list[int] = []
    areas: list[str] = []
    ids: list[str] = []
    member_ids: list[list[str]] = []
    single = prefix is None and len(households) == 1
    def _one(hi: int, hh: Any) -> None:
        base = "" if single else f"{prefix or 'households'}[{hi}]."
        if not isinstance(hh, dict | Mapping):
            err.add(base.rstrip(".") or "household", "must be an object")
            return
        for k in sorted(hh.keys() - HOUSEHOLD_KEYS):
            err.add(f"{base}{k}", "unknown field")
        ids.append(str(hh.get("id", hi)))
        area = hh.get("area")
        try:
            areas.append(divisions.normalise(str(area)) if area is not None else "")
            if area is None:
                err.add(base, "area", "required: the division code where the household lives")
        except ValueError as e:
            areas.append("")
            err.add(base, "area", str(e))
        ur = hh.get("urban_rural")
        if ur not in ("urban", "rural"):
            err.add(base, "urban_rural", "required: urban or rural")
        h_cols["urban"].append(ur == "urban")
        assets = hh.get("assets") or {}
        rigid = hh.get("rigid_expenditure_12m") or {}
        temp = hh.get("temporary") or {}
        cur = hh.get("current") or {}
        for name, obj, allowed in (("assets", assets, {"financial", "houses", "housing_area_m2", "vehicles"}),
                                   ("rigid_expenditure_12m", rigid, set(RIGID_ITEMS)),
                                   ("temporary", temp, {"type", "tier", "one_matter"}),
                                   ("current", cur, {"dibao", "dibao_amount", "gradual_exit_months_used"})):  # fmt: skip
            if not isinstance(obj, dict | Mapping):
                err.add(f"{base}{name}", "must be an object")
                continue
            for k in sorted(obj.keys() - allowed):
                err.add(f"{base}{name}.{k}", "unknown field")
        assets = assets if isinstance(assets, dict | Mapping) else {}
        rigid = rigid if isinstance(rigid, dict | Mapping) else {}
        temp = temp if isinstance(temp, dict | Mapping) else {}
        cur = cur if isinstance(cur, dict | Mapping) else {}
        h_cols["assets_financial"].append(_money(assets.get("financial", 0), base, "assets.financial", err))
        h_cols["assets_houses"].append(_int(assets.get("houses", 0), base, "assets.houses", err, 10_000))
        area_m2 = _money(assets.get("housing_area_m2", 0), base, "assets.housing_area_m2", err)
        h_cols["assets_housing_area_x100"].append(area_m2)
        h_cols["assets_vehicles"].append(_int(assets.get("vehicles", 0), base, "assets.vehicles", err, 10_000))
        for item in RIGID_ITEMS:
            h_cols[RIGID_COL[item]].append(_money(rigid.get(item, 0), base, RIGID_PATH[item], err))
        ttype = temp.get("type", "none")
        h_cols["temp_type"].append(_enum(ttype, TEMP_TYPES, base, "temporary.type", err))
        tier = _int(temp.get("tier", 0), base, "temporary.tier", err, 3)
        if ttype in ("emergency", "expenditure") and tier == 0:
            err.add(base, "temporary.tier", "required with temporary.type: 1, 2 or 3")
        h_cols["temp_tier"].append(tier)
        h_cols["temp_one_matter"].append(_bool(temp.get("one_matter", False), base, "temporary.one_matter", err))
        h_cols["current_dibao"].append(_bool(cur.get("dibao", False), base, "current.dibao", err))
        h_cols["current_dibao_amount"].append(_money(cur.get("dibao_amount", 0), base, "current.dibao_amount", err))
        h_cols["gradual_exit_used"].append(
            _int(cur.get("gradual_exit_months_used", 0), base, "current.gradual_exit_months_used", err, 1200))

        members = hh.get("members")
        if not isinstance(members, list) or not members:
            err.add(base, "members", "required: a non-empty list of members")
            member_ids.append([])
            return
        first_row = len(household_of)
        mids = [str(m.get("id")) if isinstance(m, dict | Mapping) and m.get("id") is not None else "" for m in members]
        member_ids.append(mids)
        applicants = 0
        obligor_refs: list[tuple[int, Any, str]] = []
        for mi, m in enumerate(members):
            mp = f"{base}members[{mi}]."
            household_of.append(len(ids) - 1)
            if not isinstance(m, dict | Mapping):
                err.add(mp.rstrip("."), "must be an object")
                m = {}
            for k in sorted(m.keys() - MEMBER_KEYS):
                err.add(f"{mp}{k}", "unknown field")
            if not mids[mi]:
                err.add(mp, "id", "required: a member id unique in the household")
            elif mids.count(mids[mi]) > 1:
                err.add(mp, "id", "duplicate member id")
            rel = m.get("relation")
            p_cols["relation"].append(_enum(rel, RELATIONS, mp, "relation", err) if rel is not None else 0)
            if rel is None:
                err.add(mp, "relation", "required")
            applicants += rel == "applicant"
            birth: dt.date | None = None
            if m.get("birth_date") is None:
                err.add(mp, "birth_date", "required (YYYY-MM-DD)")
            else:
                try:
                    birth = _date(m["birth_date"])
                    if birth > on:
                        err.add(mp, "birth_date", f"is after the evaluation date {on.isoformat()}")
                    elif birth.year < 1880:
                        err.add(mp, "birth_date", "is before 1880")
                except ValueError:
                    err.add(mp, "birth_date", "not a date (YYYY-MM-DD)")
            p_cols["birth_ymd"].append(birth.year * 10000 + birth.month * 100 + birth.day if birth else 0)
            if m.get("id_number") not in (None, ""):
                _check_id_number(m["id_number"], birth, f"{mp}id_number", err)
            p_cols["sex"].append(_enum(str(m.get("sex", "")), SEXES, mp, "sex", err))
            p_cols["lives_together"].append(_bool(m.get("lives_together", True), mp, "lives_together", err))
            p_cols["dependent"].append(_bool(m.get("dependent", False), mp, "dependent", err))
            p_cols["schooling"].append(_enum(m.get("schooling", "none"), SCHOOLING, mp, "schooling", err))
            dis = m.get("disability") or {}
            if not isinstance(dis, dict | Mapping):
                err.add(mp, "disability", "must be an object {category, grade}")
                dis = {}
            cat = dis.get("category", "none")
            p_cols["disability_category"].append(_enum(cat, DISABILITY, mp, "disability.category", err))
            grade = _int(dis.get("grade", 0), mp, "disability.grade", err, 4)
            if cat not in ("none", None) and grade == 0:
                err.add(mp, "disability.grade", "required with a disability category: 1 to 4")
            if cat in ("none", None) and grade:
                err.add(mp, "disability.category", "required with a disability grade")
            p_cols["disability_grade"].append(grade)
            p_cols["serious_illness"].append(_bool(m.get("serious_illness", False), mp, "serious_illness", err))
            scf = m.get("self_care_failed", 0)
            if isinstance(scf, list):
                bad = [x for x in scf if x not in SELF_CARE_ITEMS]
                if bad or len(set(scf)) != len(scf):
                    err.add(mp, "self_care_failed", f"items must be distinct names from {', '.join(SELF_CARE_ITEMS)}")
                p_cols["self_care_failed"].append(len(set(scf)) if not bad else 0)
            else:
                p_cols["self_care_failed"].append(_int(scf, mp, "self_care_failed", err, 6))
            p_cols["labour_capacity"].append(_enum(m.get("labour_capacity", "full"), LABOUR, mp, "labour_capacity", err))
            flags = m.get("flags") or {}
            if not isinstance(flags, dict | Mapping):
                err.add(mp, "flags", "must be an object")
                flags = {}
            for k in sorted(flags.keys() - FLAG_KEYS):
                err.add(f"{mp}flags.{k}", "unknown flag")
            p_cols["clergy_apart_years"].append(
                _int(flags.get("clergy_apart_years", 0), mp, "flags.clergy_apart_years", err, 200))
            for fl in PERSON_FLAGS:
                p_cols[fl].append(_bool(flags.get(fl, False), mp, FLAG_PATH[fl], err))
            parents = m.get("parents") or ["ok", "ok"]
            if not isinstance(parents, list) or len(parents) != 2:
                err.add(mp, "parents", "must list the two parents' situations")
                parents = ["ok", "ok"]
            p_cols["parent1_status"].append(_enum(parents[0], PARENT_STATUS, mp, "parents[0]", err))
            p_cols["parent2_status"].append(_enum(parents[1], PARENT_STATUS, mp, "parents[1]", err))
            income = m.get("income") or {}
            if not isinstance(income, dict | Mapping):
                err.add(mp, "income", "must be an object of monthly amounts")
                income = {}
            for k in sorted(income.keys() - INCOME_KEYS):
                err.add(f"{mp}income.{k}", "unknown income item")
            for item in INCOME_ITEMS:
                p_cols[INCOME_COL[item]].append(_money(income.get(item, 0), mp, INCOME_PATH[item], err))
            p_cols["obligor_for"].append(-1)
            if m.get("obligor_for") is not None:
                obligor_refs.append((first_row + mi, m["obligor_for"], f"{mp}obligor_for"))
        if applicants != 1:
            err.add(base, "members", f"exactly one member must have relation 'applicant' (found {applicants})")
        for row, ref, path in obligor_refs:
            if str(ref) not in mids:
                err.add(path, f"no member has id {ref!r}")
            elif mids.index(str(ref)) == row - first_row:
                err.add(path, "a person cannot be their own supporter")
            else:
                p_cols["obligor_for"][row] = first_row + mids.index(str(ref))
    for hi, hh in enumerate(households):
        e0, p0, h0 = len(err.items), len(household_of), len(ids)
        _one(hi, hh)
        if skipped is not None and len(err.items) > e0:  # leave this household out, keep its errors
            skipped[hi] = err.items[e0:]
            del err.items[e0:], household_of[p0:], ids[h0:], areas[h0:], member_ids[h0:]
            for col in p_cols.values():
                del col[p0:]
            for col in h_cols.values():
                del col[h0:]
    if err.items:
        raise PolicyInputError(err.items)
    return Columns(
        person={f.name: np.asarray(p_cols[f.name], dtype=_dtype(f)) for f in PERSON_FIELDS},
        household={f.name: np.asarray(h_cols[f.name], dtype=_dtype(f)) for f in HOUSEHOLD_FIELDS},
        household_of=np.asarray(household_of, dtype=np.int64),
        area=np.asarray(areas, dtype="U12"),
        ids=ids,
        member_ids=member_ids,
    )


def take(columns: Columns, rows: Sequence[int] | np.ndarray) -> Columns:
    """The households at ``rows`` (ascending) with their persons, renumbered (a supporter outside them is
    dropped: there is none, supporters are members of the same household)."""
    rows = np.asarray(rows, dtype=np.int64)
    keep_h = np.zeros(columns.n_households, dtype=bool)
    keep_h[rows] = True
    new_row = np.cumsum(keep_h) - 1
    keep_p = keep_h[columns.household_of]
    new_p = np.cumsum(keep_p) - 1
    person = {k: v[keep_p] for k, v in columns.person.items()}
    if "obligor_for" in person:
        o = person["obligor_for"]
        person["obligor_for"] = np.where(o >= 0, new_p[np.maximum(o, 0)], -1).astype(np.int64)
    return Columns(
        person=person,
        household={k: v[keep_h] for k, v in columns.household.items()},
        household_of=new_row[columns.household_of[keep_p]].astype(np.int64),
        area=columns.area[keep_h],
        ids=[columns.ids[i] for i in rows] if columns.ids else [],
        member_ids=[columns.member_ids[i] for i in rows] if columns.member_ids else [],
    )
