"""``jiuzhu evaluate``: run the policy engine on one household (JSON) or on a Parquet batch of persons.

Output is the engine's explained JSON (docs/policy-input.md); every error a caller can fix — a field of the
household, a parameter with no value on the date, an unreadable file, a bad date — is printed on stderr, one
line per problem naming the field, with exit code 2 and never a traceback. See docs/policy-engine-cli.md."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from jiuzhu.policy.errors import ParameterFileError, ParameterMissing, PolicyInputError
from jiuzhu.policy.parameters.store import ParameterStore
from jiuzhu.policyadmin.management import evaluation

EXIT_BAD_INPUT = 2


class BadInput(Exception):
    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


def read_household(path: str) -> Any:
    """The household JSON (``-`` = stdin). Numbers with a fraction become Decimal, never float."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput([f"{path}: cannot read the file: {e}"]) from None
    try:
        return evaluation.loads(text)
    except ValueError as e:
        raise BadInput([f"{path}: not valid JSON: {e}"]) from None


def problem_lines(exc: Exception) -> list[str]:
    """One line per problem, each naming the field (or the parameter, area and date)."""
    return [f"{field}: {message}" if field else message for field, message in evaluation.problems(exc)]


class Command(BaseCommand):
    help = (
        "Evaluate social-assistance programmes for one household (JSON, docs/policy-input.md) or a Parquet batch "
        "of persons (--batch … --out …). Prints the explained result as JSON; exit code 2 on bad input."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("household", nargs="?", help="household JSON file (- for stdin)")
        parser.add_argument("--date", required=True, help="evaluation date YYYY-MM-DD (ages, parameters in force)")
        parser.add_argument("--area", help="division code that replaces the household's area")
        parser.add_argument("--trace", action="store_true",
                            help="add every intermediate variable and every parameter used (value, source, "
                                 "article, confidence)")  # fmt: skip
        parser.add_argument("--mode", choices=("demo", "production"),
                            help="demo: values marked L are used (labelled); production: programmes needing one "
                                 "are blocked. Default: this deployment's mode")  # fmt: skip
        parser.add_argument("--batch", metavar="PERSONS.parquet", help="evaluate a Parquet file of persons")
        parser.add_argument("--out", metavar="RESULTS.parquet", help="with --batch: where to write the results")
        parser.add_argument("--programmes", metavar="P1,P2",
                            help="only these programmes (comma-separated keys, e.g. dibao,tekun); default: all")
        parser.add_argument("--packs-only", action="store_true",
                            help="use the shipped policy packs only, without the database's parameter changes")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            self._handle(opts)
        except BadInput as e:
            self._fail(e.lines)
        except (PolicyInputError, ParameterMissing) as e:
            self._fail(problem_lines(e))
        except ParameterFileError as e:
            self._fail([f"policy pack: {e}"])

    def _fail(self, lines: list[str]) -> NoReturn:
        if len(lines) == 1:
            self.stderr.write(f"error: {lines[0]}")
        else:
            self.stderr.write(f"error: {len(lines)} problems:\n" + "\n".join(f"  {line}" for line in lines))
        sys.exit(EXIT_BAD_INPUT)

    def _store(self, opts: dict[str, Any]) -> ParameterStore:
        from jiuzhu.policyadmin import store

        if opts["packs_only"]:
            return store.shipped()
        try:
            return store.current_store()
        except DatabaseError as e:
            raise BadInput([f"database: cannot read the stored parameter changes ({e}); run `jiuzhu migrate`, "
                            "or pass --packs-only to use the shipped policy packs alone"]) from None

    def _allow_unconfirmed(self, opts: dict[str, Any]) -> bool:
        from jiuzhu.policyadmin.store import allow_unconfirmed

        return allow_unconfirmed() if opts["mode"] is None else opts["mode"] == "demo"

    @staticmethod
    def _programmes(opts: dict[str, Any]) -> list[str] | None:
        if not opts["programmes"]:
            return None
        return [p.strip() for p in opts["programmes"].split(",") if p.strip()]

    def _handle(self, opts: dict[str, Any]) -> None:
        try:
            on = evaluation.parse_date(opts["date"])
        except ValueError as e:
            raise BadInput([f"--date: {e}"]) from None
        if opts["batch"]:
            if opts["household"]:
                raise BadInput(["give either a household JSON file or --batch, not both"])
            if not opts["out"]:
                raise BadInput(["--out: required with --batch (the results Parquet file)"])
            if opts["trace"]:
                raise BadInput(["--trace: only for one household (JSON)"])
            self._batch(opts, on)
            return
        if not opts["household"]:
            raise BadInput(["household: give a household JSON file (or - for stdin), or --batch PERSONS.parquet"])
        household = read_household(opts["household"])
        if not isinstance(household, dict):
            raise BadInput([f"{opts['household']}: the JSON must be one household object (docs/policy-input.md)"])
        if opts["area"] is not None:
            household = {**household, "area": opts["area"]}
        from jiuzhu.policy.engine import evaluate

        result = evaluate(household, self._store(opts), on=on, allow_unconfirmed=self._allow_unconfirmed(opts),
                          trace=opts["trace"], programmes=self._programmes(opts))  # fmt: skip
        self.stdout.write(evaluation.dumps(result))

    def _batch(self, opts: dict[str, Any], on: dt.date) -> None:
        import pyarrow.compute as pc

        from jiuzhu.policy.engine import evaluate_columns
        from jiuzhu.policyadmin.management import parquet

        t0 = time.perf_counter()
        batch = parquet.read_persons(opts["batch"], on, area=opts["area"])
        res = evaluate_columns(batch.columns, self._store(opts), on=on, programmes=self._programmes(opts),
                               allow_unconfirmed=self._allow_unconfirmed(opts))  # fmt: skip
        table = parquet.results_table(res, batch)
        try:
            parquet.write_results(table, opts["out"])
        except OSError as e:
            raise BadInput([f"--out: cannot write {opts['out']}: {e}"]) from None
        lines = [f"{table.num_rows} households, {batch.n_rows} persons, {on.isoformat()}, "
                 f"{table.schema.metadata[b'mode'].decode()} mode → {opts['out']} "
                 f"({time.perf_counter() - t0:.1f} s)"]  # fmt: skip
        for p in res.programmes:
            elig = table.column(f"{p}_eligible")
            total = table.column(f"{p}_amount").combine_chunks()
            blocked = int(pc.sum(table.column(f"{p}_blocked")).as_py() or 0)
            lines.append(f"  {p}: {int(pc.sum(elig).as_py() or 0)} eligible, total "
                         f"{pc.sum(total).as_py() or '0.00'} yuan, {blocked} blocked")  # fmt: skip
        self.stdout.write("\n".join(lines))
