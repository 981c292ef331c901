"""Parameter values, dated and keyed by division, and their resolution for a date and a set of areas.

A value applies from ``effective_from`` (inclusive) until the next value of the same key and scope (or its own
``effective_to``, inclusive). For an area the engine uses the most specific scope that has a value in force:
village → township → county → city → province → national. Values come from the YAML policy packs shipped in
``packs/`` and from the database (standard changes made by policy admins); the engine cannot tell them apart:
it receives a :class:`ParameterSet`, an immutable snapshot for one date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import yaml

from jiuzhu.policy import divisions
from jiuzhu.policy.errors import ParameterFileError, ParameterMissing
from jiuzhu.policy.parameters.schema import SPECS, spec

PACKS = Path(__file__).resolve().parent / "packs"
CONFIDENCE = ("H", "M", "L")


@dataclass(frozen=True, slots=True)
class ParamValue:
    key: str
    scope: str  # natural-length division code; "" = national
    effective_from: dt.date
    value: Any  # raw: str for money/ratio, int, bool, or an enum choice
    source: str  # document and number, e.g. 陕民发〔2019〕13号
    confidence: str  # H | M | L
    article: str = ""
    note: str = ""
    effective_to: dt.date | None = None
    origin: str = ""  # yaml:<path> | db:<id>

    @property
    def encoded(self) -> int:
        return spec(self.key).encode(self.value)

    @property
    def display(self) -> str:
        return spec(self.key).display(self.value)

    @property
    def scope_name(self) -> str:
        return divisions.name(self.scope)

    def citation(self) -> str:
        """安康市 2024 年起标准，安政办发〔2024〕1号 第二条（L：未经确认的示例值）"""
        parts = [f"{self.scope_name} {self.effective_from.year} 年起", self.source]
        if self.article:
            parts[-1] += f" {self.article}"
        text = "，".join(parts)
        if self.confidence == "L":
            text += "；L：未经确认的示例值"
        elif self.confidence == "M":
            text += "；M：据二手来源"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "scope": divisions.six_digit(self.scope), "scope_name": self.scope_name,
                "effective_from": self.effective_from.isoformat(),
                "effective_to": self.effective_to.isoformat() if self.effective_to else None,
                "value": str(self.value) if not isinstance(self.value, bool) else self.value,
                "display": self.display, "source": self.source, "article": self.article,
                "confidence": self.confidence, "note": self.note, "origin": self.origin}  # fmt: skip


def _in_force(values: Sequence[ParamValue], on: dt.date) -> ParamValue | None:
    found = None
    for v in values:  # sorted by effective_from
        if v.effective_from <= on:
            found = v
        else:
            break
    if found is not None and found.effective_to is not None and on > found.effective_to:
        return None
    return found


class ParameterStore:
    """All known values. Adding a value with the same key, scope and start date replaces the earlier one (a
    policy admin confirming or correcting a shipped value); the replaced value stays in ``superseded``."""

    def __init__(self) -> None:
        self._values: dict[str, dict[str, list[ParamValue]]] = {}
        self.superseded: list[ParamValue] = []

    def add(self, pv: ParamValue) -> None:
        s = SPECS.get(pv.key)
        if s is None:
            raise ParameterFileError(f"{pv.origin}: unknown parameter key {pv.key}")
        try:
            s.encode(pv.value)
        except ValueError as e:
            raise ParameterFileError(f"{pv.origin}: {pv.key}: {e}") from None
        if pv.confidence not in CONFIDENCE:
            raise ParameterFileError(f"{pv.origin}: {pv.key}: confidence must be H, M or L")
        if not pv.source.strip():
            raise ParameterFileError(f"{pv.origin}: {pv.key}: every value needs its source document")
        bucket = self._values.setdefault(pv.key, {}).setdefault(pv.scope, [])
        for i, old in enumerate(bucket):
            if old.effective_from == pv.effective_from:
                self.superseded.append(old)
                bucket[i] = pv
                break
        else:
            bucket.append(pv)
            bucket.sort(key=lambda v: v.effective_from)

    def copy(self) -> ParameterStore:
        new = ParameterStore()
        new._values = {k: {s: list(vs) for s, vs in by.items()} for k, by in self._values.items()}
        new.superseded = list(self.superseded)
        return new

    def keys(self) -> list[str]:
        return sorted(self._values)

    def values(self, key: str) -> list[ParamValue]:
        """Every value of a key, all scopes, by scope then date (for the admin pages)."""
        by = self._values.get(key, {})
        return [v for s in sorted(by, key=lambda c: (len(c), c)) for v in by[s]]

    def all_values(self) -> Iterable[ParamValue]:
        for key in self.keys():
            yield from self.values(key)

    def resolve(self, key: str, area: str, on: dt.date) -> ParamValue | None:
        by = self._values.get(key, {})
        for scope in divisions.chain(area):
            vs = by.get(scope)
            if vs:
                v = _in_force(vs, on)
                if v is not None:
                    return v
        return None

    def parameter_set(self, on: dt.date, areas: Sequence[str], *, allow_unconfirmed: bool) -> ParameterSet:
        snapshot = {k: {s: tuple(vs) for s, vs in by.items()} for k, by in self._values.items()}
        return ParameterSet(on, tuple(divisions.normalise(a) for a in areas), snapshot, allow_unconfirmed)


@dataclass(frozen=True)
class ParameterSet:
    """The values in force on one date for a fixed tuple of areas (the distinct areas of the households being
    evaluated). Immutable: ``column(key)`` gives an int64 array over ``areas`` (index it with each household's
    area index — the vectorised lookup that replaces OpenFisca's per-enum parameter indexing)."""

    on: dt.date
    areas: tuple[str, ...]
    _values: dict[str, dict[str, tuple[ParamValue, ...]]]
    allow_unconfirmed: bool
    _cache: dict[str, tuple[np.ndarray, tuple[ParamValue | None, ...]]] = field(default_factory=dict, repr=False)
    _l_cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_values", MappingProxyType(self._values))

    def _resolve(self, key: str) -> tuple[np.ndarray, tuple[ParamValue | None, ...]]:
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        spec(key)
        by = self._values.get(key, {})
        in_force = {s: v for s, vs in by.items() if (v := _in_force(vs, self.on)) is not None}
        n = len(self.areas)
        chosen: list[ParamValue | None] = [None] * n
        if in_force and n <= 16:  # one household or a few: walk each area's scope chain
            for i, area in enumerate(self.areas):
                chosen[i] = next((in_force[s] for s in divisions.chain(area) if s in in_force), None)
            col = np.asarray([v.encoded if v is not None else 0 for v in chosen], dtype=np.int64)
        elif in_force:
            areas = np.asarray(self.areas, dtype="U12")
            slot = np.full(n, -1, dtype=np.int64)
            scopes = sorted(in_force, key=len)
            for i, s in enumerate(scopes):
                slot[np.char.startswith(areas, s) if s else np.ones(n, dtype=bool)] = i
            pv = [in_force[s] for s in scopes]
            chosen = [pv[i] if i >= 0 else None for i in slot.tolist()]
            encoded = np.asarray([v.encoded for v in pv] + [0], dtype=np.int64)  # slot -1 → 0 (missing)
            col = encoded[slot]
        else:
            col = np.zeros(n, dtype=np.int64)
        self._cache[key] = (col, tuple(chosen))
        return self._cache[key]

    def column(self, key: str) -> np.ndarray:
        """Encoded value per area. Raises ParameterMissing naming the first area that has no value."""
        col, chosen = self._resolve(key)
        for area, v in zip(self.areas, chosen, strict=True):
            if v is None:
                raise ParameterMissing(key, divisions.six_digit(area), self.on)
        return col

    def value(self, key: str, area_index: int = 0) -> ParamValue:
        v = self._resolve(key)[1][area_index]
        if v is None:
            raise ParameterMissing(key, divisions.six_digit(self.areas[area_index]), self.on)
        return v

    def unconfirmed(self, keys: Iterable[str]) -> np.ndarray:
        """Per area: does any of these keys resolve to a value marked L?"""
        out = np.zeros(len(self.areas), dtype=bool)
        for key in keys:
            flags = self._l_cache.get(key)
            if flags is None:
                _, chosen = self._resolve(key)
                flags = self._l_cache[key] = np.asarray([v is not None and v.confidence == "L" for v in chosen], dtype=bool)
            out |= flags
        return out


# --- YAML packs ------------------------------------------------------------------------------------------


def _date(x: object, where: str) -> dt.date:
    if isinstance(x, dt.date):
        return x
    try:
        return dt.date.fromisoformat(str(x))
    except ValueError:
        raise ParameterFileError(f"{where}: not a date (YYYY-MM-DD): {x!r}") from None


def read_pack(path: Path) -> list[ParamValue]:
    """One pack file: ``scope`` (division code), ``values: {key: [{from, value, source, article, confidence,
    note, to}]}``. Raises ParameterFileError with the file and key on any problem."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterFileError(f"{path}: {exc}") from None
    if not isinstance(doc, dict) or "scope" not in doc or not isinstance(doc.get("values"), dict):
        raise ParameterFileError(f"{path}: needs 'scope' and a 'values' mapping")
    scope = "" if str(doc["scope"]) in ("", "000000", "national") else divisions.normalise(str(doc["scope"]))
    out = []
    for key, entries in doc["values"].items():
        if not isinstance(entries, list):
            raise ParameterFileError(f"{path}: {key}: a list of dated values is expected")
        for i, e in enumerate(entries):
            where = f"{path.name}: {key}[{i}]"
            if not isinstance(e, dict) or not {"from", "value", "source", "confidence"} <= set(e):
                raise ParameterFileError(f"{where}: needs from, value, source, confidence")
            unknown = set(e) - {"from", "to", "value", "source", "article", "confidence", "note"}
            if unknown:
                raise ParameterFileError(f"{where}: unknown fields {sorted(unknown)}")
            value = e["value"]
            if isinstance(value, float):
                raise ParameterFileError(f"{where}: write decimals as strings (\"1.3\"), never as YAML floats")
            out.append(ParamValue(
                key=str(key), scope=scope, effective_from=_date(e["from"], where),
                effective_to=_date(e["to"], where) if e.get("to") else None, value=value,
                source=str(e["source"]), article=str(e.get("article") or ""), confidence=str(e["confidence"]),
                note=str(e.get("note") or ""), origin=f"yaml:{path.relative_to(PACKS) if path.is_relative_to(PACKS) else path}",
            ))  # fmt: skip
    return out


def load_packs(directory: Path = PACKS) -> ParameterStore:
    """Every ``*.yaml`` under the packs directory, validated against the declared keys."""
    import jiuzhu.policy.rules  # noqa: F401  (declares the keys)

    store = ParameterStore()
    for path in sorted(directory.rglob("*.yaml")):
        for pv in read_pack(path):
            store.add(pv)
    return store
