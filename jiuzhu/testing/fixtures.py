from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from jiuzhu.accounts.models import User
from jiuzhu.accounts.roles import Role
from jiuzhu.core import idnumber
from jiuzhu.core.divisions import generate_villages, known_county_codes, load_national
from jiuzhu.core.models import Division
from jiuzhu.registry.models import Household
from jiuzhu.registry.services import household_create

PASSWORD = "Jz-test-Pass-2026!"  # noqa: S105 - test personas only

# Two townships in 汉滨区 (A and B), one in 汉阴县 (C, another county).
TOWN_A = "610902100"  # 关庙镇
TOWN_B = "610902101"  # 张滩镇
TOWN_C = "610921100"
COUNTY = "610902"
COUNTY_2 = "610921"
CITY = "6109"
PROVINCE = "61"

_seq = itertools.count(1)


def load_tree() -> None:
    if not Division.objects.filter(code=PROVINCE).exists():
        load_national(provinces=["61", "44"])
    for county in (COUNTY, COUNTY_2):
        if not Division.objects.filter(level=5, code__startswith=county).exists():
            generate_villages(county, per_township=4, seed=7)
    known_county_codes.cache_clear()


def villages(township: str) -> list[str]:
    return list(Division.objects.filter(level=5, code__startswith=township).values_list("code", flat=True))


_HASH: dict[str, str] = {}


def make_user(username: str, role: str, area: str, **extra: Any) -> User:
    """PBKDF2 is slow on purpose; hash the shared test password once per run and reuse it."""
    from django.conf import settings

    u = User(username=username, role=role, area_id=area, **extra)
    hasher = settings.PASSWORD_HASHERS[0]  # some tests switch hashers; a cached hash must match the current one
    if hasher not in _HASH:
        u.set_password(PASSWORD)
        _HASH[hasher] = u.password
    u.password = _HASH[hasher]
    u.save()
    return u


@dataclass
class Personas:
    caseworker_a: User
    caseworker_b: User
    assistant_a: User
    reviewer: User
    reviewer_2: User
    supervisor: User
    auditor: User
    policy_admin: User
    verifier: User  # the county's 核对 centre


def make_personas() -> Personas:
    load_tree()
    village_a = villages(TOWN_A)[0]
    return Personas(
        caseworker_a=make_user("cw_a", Role.CASEWORKER, TOWN_A),
        caseworker_b=make_user("cw_b", Role.CASEWORKER, TOWN_B),
        assistant_a=make_user("va_a", Role.VILLAGE_ASSISTANT, village_a),
        reviewer=make_user("rv", Role.REVIEWER, COUNTY),
        reviewer_2=make_user("rv2", Role.REVIEWER, COUNTY_2),
        supervisor=make_user("sv", Role.SUPERVISOR, CITY),
        auditor=make_user("au", Role.AUDITOR, PROVINCE),
        policy_admin=make_user("pa", Role.POLICY_ADMIN, PROVINCE),
        verifier=make_user("vf", Role.VERIFIER, COUNTY),
    )


def new_id(county: str = COUNTY, birth: dt.date | None = None) -> str:
    n = next(_seq)
    birth = birth or dt.date(1960, 1, 1) + dt.timedelta(days=n * 37 % 20000)
    return idnumber.make(county, birth, n % 1000)


def make_household(actor: User, village: str, *, size: int = 2, name: str = "张三") -> Household:
    members = [{"name": name, "id_number": new_id(), "relation": "02", "phone": "13800138000"}]
    for i in range(size - 1):
        members.append({"name": f"张{'一二三四五六'[i % 6]}", "id_number": new_id(), "relation": "30" if i % 2 else "10"})
    return household_create(
        actor=actor, area_code=village, urban_rural="rural", address="一组", bank_name="农村信用社",
        bank_account="6228480402564890018", members=members,
    )
