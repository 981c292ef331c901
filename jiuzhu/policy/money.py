"""Money: Decimal yuan at the edges, integer 分 (fen) inside the engine. Never float.

Rounding of computed benefits is a parameter (``general.rounding``): ``fen`` keeps 分, ``jiao_up`` rounds up to the
next 角, ``yuan_up`` up to the next whole yuan, ``yuan_half_up`` to the nearest yuan (halves up)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import numpy as np

ROUNDING_MODES = ("fen", "jiao_up", "yuan_up", "yuan_half_up")
_STEP = {"fen": 1, "jiao_up": 10, "yuan_up": 100, "yuan_half_up": 100}
TWO_PLACES = Decimal("0.01")


def parse_yuan(value: object) -> int:
    """Yuan (str, int or Decimal; a float only if it holds at most two decimals exactly as written) → fen.
    Raises ValueError with a Chinese-and-English message on anything else."""
    if isinstance(value, bool) or value is None:
        raise ValueError("must be an amount in yuan")
    if isinstance(value, float):
        value = repr(value)
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"not an amount in yuan: {value!r}") from None
    if not d.is_finite():
        raise ValueError(f"not an amount in yuan: {value!r}")
    if abs(d) >= Decimal(10) ** 15:  # 1,000 万亿元: a typing error, and beyond what quantize can hold
        raise ValueError(f"implausibly large amount: {value!r}")
    if d != d.quantize(TWO_PLACES):
        raise ValueError(f"more than two decimal places: {value!r}")
    return int(d * 100)


def fen_to_yuan(fen: int | np.integer) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(TWO_PLACES)


def yuan_str(fen: int | np.integer) -> str:
    return str(fen_to_yuan(fen))


def round_fen(amount: np.ndarray, mode_index: np.ndarray | int) -> np.ndarray:
    """Round non-negative int64 fen amounts by the mode(s) (index into ROUNDING_MODES), vectorised, exact."""
    amount = np.asarray(amount, dtype=np.int64)
    if not np.any(mode_index):  # everywhere "fen": nothing to round
        return amount
    step = np.asarray([_STEP[m] for m in ROUNDING_MODES], dtype=np.int64)[mode_index]
    half = np.asarray([0, 0, 0, 1], dtype=bool)[mode_index]
    up = (amount + step - 1) // step * step
    nearest = (amount + step // 2) // step * step
    return np.where(half, nearest, up)


def mul_ratio(fen: np.ndarray, ratio_bp: np.ndarray) -> np.ndarray:
    """fen × ratio, ratio in basis points of 1/10000, rounded half up to the fen, exact integer arithmetic."""
    prod = np.asarray(fen, dtype=np.int64) * np.asarray(ratio_bp, dtype=np.int64)
    return np.where(prod >= 0, (prod + 5000) // 10000, -((-prod + 5000) // 10000))
