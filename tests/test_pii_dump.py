"""Acceptance 3: 0 plaintext ID numbers, bank accounts or phone numbers in a database dump; the scanner itself
is shown to find them when they are there."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from jiuzhu.core.pii_scan import dump_database, scan_lines, scan_text
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, make_household, new_id, villages

pytestmark = pytest.mark.django_db(transaction=True)


def test_scanner_finds_each_kind():
    kinds = {f.kind for f in scan_text(f"x {new_id()} y 6228480402564890018 z 13912345678 ")}
    assert kinds == {"id_number", "card", "phone"}
    # full-width digits are still an ID number
    assert scan_text(new_id().translate(str.maketrans("0123456789", "０１２３４５６７８９")))
    # hex digests and ciphertext are not
    assert not scan_text("a3f13912345678bb 7d8e6228480402564890018c")


def test_dump_has_no_plaintext_after_registry_writes(personas):
    for town in (TOWN_A, TOWN_B):
        for v in villages(town):
            make_household(personas.caseworker_a if town == TOWN_A else personas.caseworker_b, v, size=3)
    lines = list(dump_database())
    assert any("registry_person" in line for line in lines), "dump did not include the registry"
    assert scan_lines(lines, "dump") == []
    call_command("scan_pii")


def test_scan_command_fails_when_plaintext_is_present(personas):
    make_household(personas.caseworker_a, villages(TOWN_A)[0])
    with connection.cursor() as cur:
        cur.execute("UPDATE registry_household SET address = %s", [f"身份证 {new_id()}"])
    with pytest.raises(CommandError):
        call_command("scan_pii")
