"""Loading the division tree: the vendored national tables (province → township), retired county codes,
synthetic villages for a demo county, and an official village list for a real deployment."""

from __future__ import annotations

import csv
import datetime as dt
import random
import time
from functools import lru_cache
from pathlib import Path

from django.core.cache import cache
from django.db import transaction

from .models import Division

DATA = Path(__file__).parent / "data" / "divisions"
NBS_SOURCE = "NBS 统计用区划代码 2023 (modood/Administrative-divisions-of-China)"
NBS_VALID_FROM = dt.date(2023, 6, 30)
L = Division.Level


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@transaction.atomic
def load_national(*, provinces: list[str] | None = None) -> int:
    """Idempotent: inserts the codes not yet present. ``provinces`` limits to some 2-digit codes (tests)."""

    def keep(code: str) -> bool:
        return provinces is None or code[:2] in provinces

    existing = set(Division.objects.values_list("code", flat=True))
    new: list[Division] = []
    for fname, level, parent_col in (
        ("provinces.csv", L.PROVINCE, None),
        ("cities.csv", L.CITY, "provinceCode"),
        ("areas.csv", L.COUNTY, "cityCode"),
        ("streets.csv", L.TOWNSHIP, "areaCode"),
    ):
        for r in _rows(fname):
            if r["code"] in existing or not keep(r["code"]):
                continue
            new.append(
                Division(
                    code=r["code"], name=r["name"], level=level, parent_id=r[parent_col] if parent_col else None,
                    valid_from=NBS_VALID_FROM, source=NBS_SOURCE,
                )
            )
    Division.objects.bulk_create(new, batch_size=2000)
    created = len(new)
    retired = []
    for r in _rows("retired.csv"):
        if r["code"] in existing or not keep(r["code"]):
            continue
        retired.append(
            Division(
                code=r["code"], name=r["name"], level=L.COUNTY, parent_id=r["code"][:4] if Division.objects.filter(code=r["code"][:4]).exists() else None,
                valid_to=dt.date.fromisoformat(r["valid_to"]), source=f"retired code list (confidence {r['confidence']})",
            )
        )
    Division.objects.bulk_create(retired)
    for r in _rows("retired.csv"):
        if keep(r["code"]) and Division.objects.filter(code=r["replaced_by"]).exists():
            Division.objects.filter(code=r["code"]).update(replaced_by_id=r["replaced_by"])
    known_county_codes.cache_clear()
    return created + len(retired)


@lru_cache(maxsize=1)
def known_county_codes() -> frozenset[str]:
    return frozenset(Division.objects.filter(level__in=[L.CITY, L.COUNTY]).values_list("code", flat=True))


def is_known_address_code(code: str) -> bool:
    """GB 11643 address code check: a current or retired county-level code, or a prefecture's own code
    (``xxxx00``, ``xxxx01`` 市辖区) that older IDs carry — see data/divisions/SOURCE.md for the retired list."""
    codes = known_county_codes()
    return code in codes or (code[4:] in ("00", "01") and code[:4] in codes)


VILLAGE_WORDS = "东西南北中前后上下新老大小红青石桥河湾岭坪坝沟岔口台寨营庄坡垭湖塘园"
SURNAME_WORDS = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"


@transaction.atomic
def generate_villages(county_code: str, *, per_township: int = 12, seed: int = 1) -> int:
    """Synthetic villages (marked ``is_synthetic``) under every township of a county: codes 001–… are
    residents' committees (urban 111/121), 200–… villagers' committees (rural 220)."""
    rng = random.Random(f"villages-{county_code}-{seed}")
    townships = list(Division.objects.filter(level=L.TOWNSHIP, code__startswith=county_code))
    new: list[Division] = []
    existing = set(
        Division.objects.filter(level=L.VILLAGE, code__startswith=county_code).values_list("code", flat=True)
    )
    for t in townships:
        is_street = t.code[6:9] < "100"  # 001–099 街道
        n_urban = per_township if is_street else max(1, per_township // 6)
        n_rural = 0 if is_street else per_township - n_urban
        names: set[str] = set()
        for i in range(n_urban + n_rural):
            urban = i < n_urban
            seq = (i + 1) if urban else (200 + i - n_urban + 1)
            code = f"{t.code}{seq:03d}"
            while True:
                base = rng.choice(VILLAGE_WORDS) + rng.choice(VILLAGE_WORDS + SURNAME_WORDS)
                name = base + ("社区" if urban else "村")
                if name not in names:
                    names.add(name)
                    break
            if code in existing:
                continue
            new.append(
                Division(
                    code=code, name=name, level=L.VILLAGE, parent=t,
                    urban_rural_class=("111" if is_street else "121") if urban else "220",
                    is_synthetic=True, source="synthetic (jiuzhu synth)",
                )
            )
    Division.objects.bulk_create(new, batch_size=2000)
    villages_changed()
    return len(new)


def villages_changed() -> None:
    """Invalidate cached village lists (registry.selectors.village_choices)."""
    cache.set("jiuzhu:villages:version", time.time_ns(), None)


class VillageImportError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors[:5]))
        self.errors = errors


@transaction.atomic
def import_villages(path: str | Path) -> int:
    """Official village list, CSV with header ``code,name,urban_rural_class`` (12-digit code, NBS 城乡分类代码).
    Validates every row first; writes nothing if any row is wrong. Existing codes are updated (name, class)."""
    errors: list[str] = []
    rows: list[tuple[str, str, str]] = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"code", "name", "urban_rural_class"} - set(reader.fieldnames or [])
        if missing:
            raise VillageImportError([f"缺少列: {', '.join(sorted(missing))}"])
        townships = set(Division.objects.filter(level=L.TOWNSHIP).values_list("code", flat=True))
        for i, r in enumerate(reader, start=2):
            code, name, cls = (r["code"] or "").strip(), (r["name"] or "").strip(), (r["urban_rural_class"] or "").strip()
            if not (len(code) == 12 and code.isdigit()):
                errors.append(f"第{i}行 code: 须为12位数字")
            elif code[:9] not in townships:
                errors.append(f"第{i}行 code: 乡镇 {code[:9]} 不在区划表中")
            if not name:
                errors.append(f"第{i}行 name: 不能为空")
            if cls not in {"111", "112", "121", "122", "123", "210", "220"}:
                errors.append(f"第{i}行 urban_rural_class: 应为 111/112/121/122/123/210/220")
            rows.append((code, name, cls))
    if errors:
        raise VillageImportError(errors)
    n = 0
    for code, name, cls in rows:
        Division.objects.update_or_create(
            code=code,
            defaults={"name": name, "level": L.VILLAGE, "parent_id": code[:9], "urban_rural_class": cls,
                      "is_synthetic": False, "source": f"village list {Path(path).name}"},
        )
        n += 1
    villages_changed()
    return n
