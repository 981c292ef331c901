from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from jiuzhu.core.divisions import is_known_address_code, known_county_codes
from jiuzhu.core.models import Division

pytestmark = pytest.mark.django_db


def test_tree_levels_and_retired_codes(tree):
    assert Division.objects.get(code="610902").name == "汉滨区"
    assert Division.objects.get(code="610902100").parent_id == "610902"
    xunyang = Division.objects.get(code="610928")
    assert xunyang.valid_to is not None and xunyang.replaced_by_id == "610981"
    known_county_codes.cache_clear()
    assert is_known_address_code("610928") and is_known_address_code("610902")
    assert not is_known_address_code("619999")
    v = Division.objects.filter(level=5, code__startswith="610902100").first()
    assert v.is_synthetic and len(v.code) == 12 and v.urban_rural_class in {"121", "220"}
    assert v.full_name().startswith("陕西省安康市汉滨区")


def test_import_villages_all_or_nothing(tree, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,urban_rural_class\n610902100901,新村,220\n61090210090,短码,220\n610902100902,,999\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_villages", str(bad))
    assert not Division.objects.filter(code="610902100901").exists()
    good = tmp_path / "good.csv"
    good.write_text("code,name,urban_rural_class\n610902100901,新村村委会,220\n", encoding="utf-8")
    call_command("import_villages", str(good))
    d = Division.objects.get(code="610902100901")
    assert not d.is_synthetic and d.parent_id == "610902100"
