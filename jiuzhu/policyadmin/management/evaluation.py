"""What ``jiuzhu evaluate``, ``POST /api/v1/policy/evaluate`` and the household evaluation page share: reading a
household's JSON without floats, and turning the engine's errors into (field, message) pairs."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, NoReturn

from jiuzhu.policy.errors import ParameterMissing, PolicyInputError


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number")


def loads(text: str | bytes) -> Any:
    """JSON with every number that has a fraction as Decimal (amounts never pass through float); NaN and
    Infinity are refused. Raises ValueError."""
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constants)


def dumps(result: Any) -> str:
    return json.dumps(result, ensure_ascii=False, indent=2, default=str)


def parse_date(text: Any) -> dt.date:
    """``YYYY-MM-DD`` → date; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError("must be a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {text!r}") from None


def parameter_missing_message(exc: ParameterMissing) -> str:
    from jiuzhu.policy.parameters.schema import SPECS

    label = SPECS[exc.key].label if exc.key in SPECS else ""
    return (f"no value of parameter {exc.key}{f'（{label}）' if label else ''} is in force for area {exc.area} on "
            f"{exc.on}: a policy admin must enter it, or choose another date")  # fmt: skip


def problems(exc: Exception) -> list[tuple[str, str]]:
    """(field, message) for each problem. A missing parameter is reported on ``date``: the date (with the area)
    decides which values are in force."""
    if isinstance(exc, PolicyInputError):
        return list(exc.errors)
    if isinstance(exc, ParameterMissing):
        return [("date", parameter_missing_message(exc))]
    return [("", str(exc))]
