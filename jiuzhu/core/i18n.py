"""Translation helpers. The source language is Chinese: every msgid is the Chinese text, English comes from
``jiuzhu/locale/en``. The default language (``zh-hans``) has no catalogue, so it shows the msgids.

Some Chinese text is data rather than interface: the codes townships type into the import spreadsheet
(``户主``, ``农村``), the import template and the export columns. Those stay Chinese whatever language the
user picked; ``source`` and ``source_labels`` give the Chinese text of a translatable string.

After changing interface text, update the catalogue and commit both files (a fresh clone needs no gettext)::

    cd jiuzhu && ../.venv/bin/python ../manage.py makemessages -l en --ignore "*/tests/*"
    # translate every new or fuzzy entry in locale/en/LC_MESSAGES/django.po, then
    ../.venv/bin/python ../manage.py compilemessages -l en

``web/tests/test_i18n.py`` fails while an entry is untranslated or fuzzy, or the .mo is stale."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.utils import translation


def source(text: Any) -> str:
    """The Chinese (msgid) text of a possibly lazy translatable string, whatever language is active."""
    with translation.override(None):
        return str(text)


@cache
def source_labels(choices: Any) -> tuple[tuple[str, str], ...]:
    """``(code, Chinese label)`` for a ``TextChoices`` class (cached: msgids never change)."""
    with translation.override(None):
        return tuple((str(code), str(label)) for code, label in choices.choices)
