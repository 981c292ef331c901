"""Form helpers shared by every app's pages."""

from __future__ import annotations

from typing import Any

from django import forms

INDENT = "\u3000"  # an ideographic space per level below the user's own area


def bootstrap(form: forms.BaseForm) -> None:
    """Bootstrap classes on every widget, so templates stay loops over fields. Checkbox lists are rendered
    option by option by the templates and left alone."""
    for field in form.fields.values():
        w = field.widget
        if isinstance(w, forms.CheckboxSelectMultiple):
            continue
        if isinstance(w, forms.CheckboxInput | forms.RadioSelect):
            w.attrs.setdefault("class", "form-check-input")
        elif isinstance(w, forms.Select):
            w.attrs.setdefault("class", "form-select")
        elif not isinstance(w, forms.HiddenInput):
            w.attrs.setdefault("class", "form-control")


def area_choices(user: Any, *, levels_down: int | None = None) -> list[tuple[str, str]]:
    """The user's own area and the current areas under it, down to the township at the deepest (a village is
    handled with its township), indented by level: the choices of a form that starts work for an area.
    ``levels_down`` limits the depth further (2: a county's officer picks the county or one of its townships)."""
    from django.db.models import Q

    from jiuzhu.core.models import Division

    code = getattr(user, "area_id", "") or ""
    own = Division.objects.filter(code=code).first()
    if own is None:
        return []
    deepest = Division.Level.TOWNSHIP if levels_down is None else min(own.level + levels_down, Division.Level.TOWNSHIP)
    deepest = max(own.level, deepest)
    rows = (Division.objects.filter(Q(code=code) | Q(code__startswith=code, level__gt=own.level, level__lte=deepest,
                                                     valid_to__isnull=True))
            .order_by("code").values_list("code", "name", "level"))  # fmt: skip
    return [(c, f"{INDENT * (level - own.level)}{name}（{c}）") for c, name, level in rows]
