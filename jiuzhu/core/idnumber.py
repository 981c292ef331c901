"""Resident identity numbers (公民身份号码), GB 11643-1999.

18 characters: 6-digit address code (county at issue, GB/T 2260 — may be retired since), 8-digit birth date,
3-digit sequence (odd = male), ISO 7064 MOD 11-2 check character. 15-digit legacy numbers (pre-1999) get
``19`` inserted before the year and a computed check character. Lowercase ``x`` is normalised.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass


def _(message: str) -> str:
    """Translate when Django is configured; the policy engine uses this module without Django (no settings)."""
    conf = sys.modules.get("django.conf")  # never import Django from here: only use it if the caller did
    if conf is not None and conf.settings.configured:
        from django.utils.translation import gettext

        return gettext(message)
    return message


WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_MAP = "10X98765432"
_RE18 = re.compile(r"^\d{17}[\dX]$")
_RE15 = re.compile(r"^\d{15}$")
_FULLWIDTH = str.maketrans("０１２３４５６７８９ＸｘX", "0123456789XXX")


class InvalidIdNumber(ValueError):
    """Carries a message for the form (active language, Chinese by default) and a machine code for the API."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def check_char(first17: str) -> str:
    return CHECK_MAP[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: dt.date
    sex: str  # "1" male, "2" female (GB/T 2261.1)
    address_code: str
    converted_from_15: bool = False


def normalise(raw: str) -> str:
    return re.sub(r"\s+", "", (raw or "").translate(_FULLWIDTH)).upper()


def parse(
    raw: str,
    *,
    known_address: Callable[[str], bool] | None = None,
    today: dt.date | None = None,
) -> IdNumber:
    """Validate and normalise; raise InvalidIdNumber with a clear reason."""
    s = normalise(raw)
    converted = False
    if _RE15.match(s):
        s17 = s[:6] + "19" + s[6:]
        s = s17 + check_char(s17)
        converted = True
    elif not _RE18.match(s):
        raise InvalidIdNumber("format", _("身份证号码应为18位（最后一位可为X）或15位数字"))
    try:
        birth = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber("birth_date", _("身份证号码中的出生日期不是真实日期")) from exc
    today = today or dt.date.today()
    if birth > today or birth.year < 1880:
        raise InvalidIdNumber("birth_date", _("身份证号码中的出生日期不在合理范围内"))
    if not converted and check_char(s[:17]) != s[17]:
        raise InvalidIdNumber("check", _("身份证号码校验位错误"))
    if known_address is not None and not known_address(s[:6]):
        raise InvalidIdNumber("address", _("身份证号码的地址码 %(code)s 不是已知（含已撤销）的县级区划代码") % {"code": s[:6]})
    sex = "1" if int(s[16]) % 2 == 1 else "2"
    return IdNumber(value=s, birth_date=birth, sex=sex, address_code=s[:6], converted_from_15=converted)


def make(address_code: str, birth: dt.date, seq: int) -> str:
    """Build a valid number (synthetic data and tests)."""
    first17 = f"{address_code}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


def age_on(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
