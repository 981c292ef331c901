"""The catalogue of parameter keys. Each rule module declares the keys it reads, with their kind, a Chinese
label and unit; packs and stored values are validated against it, and explanations use the labels.

Kinds and their encoding inside the engine (int64 arrays, never float):
``money`` — 分 (fen), written in packs as yuan with at most two decimals;
``ratio`` — basis points of 1/10,000 (``1.3`` → 13000, ``15%`` written as ``0.15`` → 1500);
``int``   — plain integer (months, ages, counts); ``bool`` — 0/1; ``enum`` — index into ``choices``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from jiuzhu.policy.money import parse_yuan

KINDS = ("money", "ratio", "int", "bool", "enum")


@dataclass(frozen=True, slots=True)
class ParamSpec:
    key: str
    kind: str
    label: str  # Chinese, as a caseworker would say it
    unit: str = ""  # 元/人·月, 倍, 个月, 岁 …
    choices: tuple[str, ...] = ()
    programme: str = "general"

    def encode(self, value: object) -> int:
        """Raw pack value → the engine's int64 encoding. Raises ValueError naming the problem."""
        if self.kind == "money":
            fen = parse_yuan(value)
            if fen < 0:
                raise ValueError("a money parameter cannot be negative")
            return fen
        if self.kind == "ratio":
            if isinstance(value, bool):
                raise ValueError("a ratio must be a number")
            try:
                d = Decimal(str(value))
            except InvalidOperation:
                raise ValueError(f"not a number: {value!r}") from None
            bp = d * 10000
            if bp != bp.to_integral_value() or d < 0:
                raise ValueError(f"a ratio needs at most four decimals and cannot be negative: {value!r}")
            return int(bp)
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"must be a non-negative integer: {value!r}")
            return value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false: {value!r}")
            return int(value)
        if self.kind == "enum":
            if value not in self.choices:
                raise ValueError(f"must be one of {', '.join(self.choices)}: {value!r}")
            return self.choices.index(value)
        raise AssertionError(self.kind)

    def display(self, value: object) -> str:
        """A stored raw value as a caseworker reads it: ``760.00 元/人·月``, ``1.3 倍``, ``12 个月``, ``是``."""
        if self.kind == "money":
            s = f"{Decimal(parse_yuan(value)) / 100:.2f}"
        elif self.kind == "ratio" and self.unit == "%":
            return f"{(Decimal(str(value)) * 100).normalize():f}%"
        elif self.kind == "ratio":
            s = f"{Decimal(str(value)).normalize():f}"
        elif self.kind == "bool":
            return "是" if value else "否"
        else:
            s = str(value)
        return f"{s} {self.unit}".strip()


SPECS: dict[str, ParamSpec] = {}


def declare(key: str, kind: str, label: str, unit: str = "", *, choices: tuple[str, ...] = (),
            programme: str = "general") -> str:
    """Declare a key (idempotent for an identical declaration). Returns the key, so rule modules can write
    ``STANDARD_URBAN = declare("dibao.standard.urban", "money", "城市低保标准", "元/人·月")``."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind}")
    new = ParamSpec(key, kind, label, unit, choices, programme)
    old = SPECS.get(key)
    if old is not None and old != new:
        raise ValueError(f"parameter {key} declared twice differently: {old} / {new}")
    SPECS[key] = new
    return key


def spec(key: str) -> ParamSpec:
    try:
        return SPECS[key]
    except KeyError:
        raise KeyError(f"unknown parameter key: {key}") from None
