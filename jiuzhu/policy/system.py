"""The OpenFisca tax-benefit system: two entities (person, household) and one variable base per value type.

Money variables are int64 分: OpenFisca's own ``int`` is int32 and its floats are 32-bit, neither fit for money.
Every variable is monthly. Formulas read parameters through :func:`P` (a vectorised lookup over the households'
area indices, see ``parameters.store.ParameterSet``) and never through OpenFisca's parameter tree, whose
per-enum indexing loops in Python."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from openfisca_core.entities import build_entity
from openfisca_core.periods import DateUnit
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

if TYPE_CHECKING:
    from jiuzhu.policy.engine import EvalContext

Person = build_entity(key="person", plural="persons", label="成员", is_person=True)
Household = build_entity(
    key="household", plural="households", label="家庭",
    roles=[{"key": "member", "plural": "members", "label": "成员"}],
)  # fmt: skip
MONTH = DateUnit.MONTH


class _Typed(Variable):
    """OpenFisca reads a variable's attributes from its own class ``__dict__`` only; copy the inherited ones
    (value type, period, unit) into each concrete subclass so that the bases below can carry them."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attr in ("value_type", "definition_period", "unit", "default_value"):
            if attr not in cls.__dict__ and hasattr(cls, attr):
                setattr(cls, attr, getattr(cls, attr))


class Money(_Typed):
    """An amount in 分 (int64). ``label`` is the Chinese name shown in explanations."""

    value_type = int
    definition_period = MONTH
    unit = "fen"

    def __init__(self, baseline_variable: Any = None) -> None:
        super().__init__(baseline_variable)
        self.dtype = np.int64


class Count(_Typed):
    """An integer (age, months, a count, an enum code) as int64."""

    value_type = int
    definition_period = MONTH

    def __init__(self, baseline_variable: Any = None) -> None:
        super().__init__(baseline_variable)
        self.dtype = np.int64


class Flag(_Typed):
    value_type = bool
    definition_period = MONTH


def ctx(population: Any) -> EvalContext:
    return population.simulation.jz


def P(population: Any, key: str) -> np.ndarray:
    """Parameter ``key`` for every entity of ``population`` (household or person), int64-encoded."""
    return ctx(population).param(key, population)


def PA(population: Any, key: str) -> np.ndarray:
    """Parameter ``key`` per area (a short array); index it with :func:`area_of` — for computing a small
    per-area table first and gathering once, instead of arithmetic over millions of rows."""
    return ctx(population).column(key)


def area_of(population: Any) -> np.ndarray:
    return ctx(population).area_index(population)


def members_total(household: Any, variable: str, period: Any) -> np.ndarray:
    """Sum of a person variable over each household's members, as int64 (OpenFisca's sum returns float64)."""
    return household.sum(household.members(variable, period)).astype(np.int64)


def rural_urban(rural: np.ndarray, urban: np.ndarray) -> np.ndarray:
    """A per-(area, rural/urban) table from two per-area columns; index it with :func:`urban_key`."""
    return np.stack([rural, urban], axis=1).ravel()


def urban_key(population: Any, period: Any) -> np.ndarray:
    """Each entity's row in a :func:`rural_urban` table: area index × 2 + (1 if the household is urban)."""
    urban = population.household("urban", period) if population.entity.is_person else population("urban", period)
    return area_of(population) * 2 + urban


def on_ymd(population: Any) -> int:
    """The evaluation date as an integer YYYYMMDD (ages: ``(on_ymd - birth_ymd) // 10000``)."""
    return ctx(population).on_ymd


@cache
def tax_benefit_system() -> TaxBenefitSystem:
    from jiuzhu.policy.rules import all_variables

    tbs = TaxBenefitSystem([Person, Household])
    tbs.add_variables(*all_variables())
    return tbs
