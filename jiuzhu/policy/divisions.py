"""Division codes for the engine, read straight from the vendored NBS tables (no Django, no database).

Codes have natural lengths: province 2, city 4, county 6, township 9, village 12 digits. Six-digit forms of a
province or city (``610000``, ``610900``) are accepted and normalised (``61``, ``6109``). Village codes are not
in the national tables (deployments import their own); a 12-digit code is accepted when its township is known."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "core" / "data" / "divisions"
NATIONAL = ""  # the scope of national defaults


@cache
def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    for fname in ("provinces.csv", "cities.csv", "areas.csv", "streets.csv"):
        with open(DATA / fname, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                names[row["code"]] = row["name"]
    return names


def normalise(code: str) -> str:
    """Natural-length form of a division code; raises ValueError if it is malformed or unknown."""
    code = str(code).strip()
    if not code.isdigit() or len(code) not in (2, 4, 6, 9, 12):
        raise ValueError(f"not a division code: {code!r} (2, 4, 6, 9 or 12 digits)")
    if len(code) == 6 and code.endswith("0000"):
        code = code[:2]
    elif len(code) == 6 and code.endswith("00") and code[:4] in _names():
        code = code[:4]
    known = _names()
    if len(code) == 12:
        if code[:9] not in known:
            raise ValueError(f"unknown division code: {code} (township {code[:9]} is not in the division table)")
        return code
    if code not in known:
        raise ValueError(f"unknown division code: {code}")
    return code


def prefixes(code: str) -> tuple[str, ...]:
    """A natural-length code and its ancestors, most specific first, then the national scope (no validation)."""
    return (*(code[:n] for n in (12, 9, 6, 4, 2) if len(code) >= n), NATIONAL)


def chain(code: str) -> tuple[str, ...]:
    """The scopes searched for a parameter, most specific first, ending with the national scope."""
    return prefixes(normalise(code))


def name(code: str) -> str:
    """Display name of a scope: 安康市, 陕西省, 全国 (a city-level 市辖区 is named by its province)."""
    if code == NATIONAL:
        return "全国"
    n = _names().get(code)
    if n is None:
        return code
    if n in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
        return _names().get(code[:2], code)
    return n


def six_digit(code: str) -> str:
    """A scope as the 6-digit administrative code used in policy documents (61 → 610000, 6109 → 610900)."""
    if code == NATIONAL:
        return "000000"
    return code.ljust(6, "0") if len(code) < 6 else code
