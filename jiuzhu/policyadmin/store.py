"""The ParameterStore of this deployment: shipped YAML packs plus the database's changes, cached per process
and rebuilt when a change is saved (any process notices through the latest change id)."""

from __future__ import annotations

import threading
from functools import cache

from django.conf import settings

from jiuzhu.policy.parameters.store import ParameterStore, ParamValue, load_packs

_lock = threading.Lock()
_cached: tuple[int, ParameterStore] | None = None


@cache
def shipped() -> ParameterStore:
    """The YAML packs only (validated once per process)."""
    return load_packs()


def as_value(change) -> ParamValue:  # type: ignore[no-untyped-def]
    from jiuzhu.policy.parameters.schema import spec

    kind = spec(change.key).kind
    value: object = change.value
    if kind == "int":
        value = int(change.value)
    elif kind == "bool":
        value = change.value in ("true", "True", "1")
    return ParamValue(key=change.key, scope=change.area_code, effective_from=change.effective_from, value=value,
                      source=change.source, article=change.article, confidence=change.confidence,
                      note=change.note, origin=f"db:{change.pk}")  # fmt: skip


def current_store() -> ParameterStore:
    """Packs + every stored change, in the order they were made (a later change of the same key, scope and
    date replaces an earlier one). Do not mutate the result: ``.copy()`` it to simulate a change."""
    global _cached
    from jiuzhu.policyadmin.models import ParameterChange

    latest = ParameterChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with _lock:
        if _cached is not None and _cached[0] == latest:
            return _cached[1]
        store = shipped().copy()
        for change in ParameterChange.objects.order_by("id"):
            store.add(as_value(change))
        _cached = (latest, store)
        return store


def allow_unconfirmed() -> bool:
    """Demo mode may use values marked L (labelled); production refuses them until confirmed."""
    return bool(settings.DEMO_MODE)
