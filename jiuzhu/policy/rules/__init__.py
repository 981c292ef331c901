"""Programme rules. Every module here is discovered: its OpenFisca variables are added to the system, and a
module that defines ``PROGRAMME`` registers a programme (eligibility, monthly amount, reasons).

A programme lists the parameter keys it reads (``params``) and the programmes whose results it uses
(``depends``); ``closure`` is what must be confirmed before it may run in production mode."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from openfisca_core.variables import Variable

from jiuzhu.policy.system import Count, Flag, Money

# Programme order on pages and in results.
ORDER = ("dibao", "tekun", "near_dibao", "rigid", "temporary", "two_subsidies", "elderly", "child", "price")


@dataclass(frozen=True)
class Programme:
    key: str
    label: str  # Chinese
    eligible: str  # household-level Flag variable
    amount: str  # household-level Money variable (monthly 分; one-off for temporary assistance)
    params: tuple[str, ...]
    explain: Callable[[Any], list[str]]  # View → reasons in Chinese
    depends: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()  # named intermediate values always computed
    explain_persons: Callable[[Any], list[dict[str, Any]]] | None = None
    details: Callable[[Any], dict[str, Any]] | None = None  # extra fields of the result (e.g. approval level)
    label_en: str = ""


def _modules() -> list[Any]:
    return [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]


@cache
def _registry() -> tuple[dict[str, Programme], tuple[type, ...]]:
    from jiuzhu.policy.inputs import input_variables

    progs: dict[str, Programme] = {}
    variables: list[type] = list(input_variables())
    for mod in _modules():
        for _, obj in inspect.getmembers(mod, inspect.isclass):
            if issubclass(obj, Variable) and obj.__module__ == mod.__name__ and obj not in (Money, Count, Flag):
                variables.append(obj)
        prog = getattr(mod, "PROGRAMME", None)
        if prog is not None:
            progs[prog.key] = prog
    ordered = {k: progs[k] for k in ORDER if k in progs} | {k: v for k, v in progs.items() if k not in ORDER}
    return ordered, tuple(variables)


PROGRAMMES: dict[str, Programme] = {}  # filled below, once every rule module is imported


def all_variables() -> tuple[type, ...]:
    return _registry()[1]


@cache
def closure(key: str) -> frozenset[str]:
    """Every parameter a programme reads, itself and through the programmes it depends on."""
    prog = PROGRAMMES[key]
    out = set(prog.params)
    for d in prog.depends:
        out |= closure(d)
    return frozenset(out)


# Import every module now so that their parameter keys are declared before packs are read.
PROGRAMMES.update(_registry()[0])
