"""Errors the engine raises. Each names the field or parameter at fault; nothing is guessed silently."""

from __future__ import annotations


class PolicyError(Exception):
    """Base class: something the caller must fix before an amount can be computed."""


class PolicyInputError(PolicyError):
    """Bad input. ``field`` is a JSON path such as ``members[1].birth_date``; ``errors`` lists every problem found
    (the input is validated in full before any rule runs)."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in errors))

    @property
    def field(self) -> str:
        return self.errors[0][0]


class ParameterMissing(PolicyError):
    """No value of a required parameter is in force for an area on a date."""

    def __init__(self, key: str, area: str, on: object):
        self.key, self.area, self.on = key, area, on
        super().__init__(f"no value of parameter {key} is in force for area {area} on {on}")


class ParameterFileError(PolicyError):
    """A policy pack (YAML) or a stored value is malformed."""
