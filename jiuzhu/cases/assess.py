"""The policy engine on a case's household — the only place the case workflow asks for amounts and eligibility.

Nothing here does benefit arithmetic: it builds the engine input from the registry (``registry.policy_input``),
adds what the case itself knows (the 临时救助 type, tier and 一事一议), and returns the engine's explained result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from jiuzhu.policy.errors import ParameterMissing, PolicyInputError

from .models import Case, Programme


@dataclass
class Assessment:
    programme: str
    ok: bool  # the engine ran and gave a result for the programme
    eligible: bool = False
    amount: Decimal | None = None
    reasons: list[str] = field(default_factory=list)
    problem: str = ""  # why there is no result (no household, missing incomes, parameter missing, blocked)
    details: dict[str, Any] = field(default_factory=dict)
    parameters: list[dict[str, Any]] = field(default_factory=list)  # cited: key, value, source, article, confidence
    mode: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"programme": self.programme, "ok": self.ok, "eligible": self.eligible,
                "amount": str(self.amount) if self.amount is not None else None, "reasons": self.reasons,
                "problem": self.problem, "details": self.details, "parameters": self.parameters, "mode": self.mode}  # fmt: skip


def household_data(case: Case, on: dt.date) -> dict[str, Any] | None:
    from jiuzhu.registry.policy_input import household_input

    if case.household is None:
        return None
    data = household_input(case.household, on)
    if case.programme == Programme.TEMPORARY and case.temp_type:
        data["temporary"] = {"type": case.temp_type, "tier": case.temp_tier or 1, "one_matter": case.one_matter}
    return data


def run(case: Case, on: dt.date, programmes: list[str] | None = None) -> dict[str, Assessment]:
    """Engine results for ``programmes`` (default: the case's own) on ``on``, keyed by programme."""
    from jiuzhu.policy.engine import evaluate
    from jiuzhu.policyadmin.management.evaluation import parameter_missing_message
    from jiuzhu.policyadmin.store import allow_unconfirmed, current_store

    wanted = programmes or [case.programme]
    data = household_data(case, on)
    if data is None:
        return {p: Assessment(p, False, problem="尚未关联在册家庭，无法计算") for p in wanted}
    if data.pop("facts", None) == "missing":
        return {p: Assessment(p, False, problem="该户尚未登记收入和财产，无法计算") for p in wanted}
    if not data["members"]:
        return {p: Assessment(p, False, problem="该户没有在册成员") for p in wanted}
    out: dict[str, Assessment] = {}
    for p in wanted:
        try:
            r = evaluate(data, current_store(), on=on, allow_unconfirmed=allow_unconfirmed(), trace=True,
                         programmes=[p])  # fmt: skip
        except ParameterMissing as e:
            out[p] = Assessment(p, False, problem=parameter_missing_message(e))
            continue
        except PolicyInputError as e:
            out[p] = Assessment(p, False, problem="；".join(f"{f}: {m}" for f, m in e.errors[:5]))
            continue
        prog = r["programmes"][p]
        params = [{k: q.get(k) for k in ("key", "label", "value", "source", "article", "confidence")}
                  for q in r.get("trace", {}).get("parameters", [])]  # fmt: skip
        if prog["status"] == "blocked":
            out[p] = Assessment(p, False, problem="；".join(prog["reasons"]), parameters=params, mode=r["mode"])
            continue
        details = {k: v for k, v in prog.items() if k not in ("label", "status", "eligible", "amount", "reasons")}
        out[p] = Assessment(p, True, bool(prog["eligible"]), Decimal(prog["amount"]), list(prog["reasons"]),
                            details=details, parameters=params, mode=r["mode"])  # fmt: skip
    return out


def needs_check(case: Case, on: dt.date) -> dict[str, Assessment]:
    """政策找人 at the window: every programme evaluated on what the registry knows about the household."""
    from jiuzhu.policy.rules import PROGRAMMES

    keys = [k for k in PROGRAMMES if k in Programme.values]
    return run(case, on, keys)
