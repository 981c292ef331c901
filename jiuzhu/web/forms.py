"""Form helpers shared by every app's pages."""

from __future__ import annotations

from django import forms


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
