from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jiuzhu.core.masking import mask_account, mask_id, mask_name, mask_phone


def test_canonical_forms():
    assert mask_id("610902199001011234") == "6109**********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_account("6228480000123456789") == "***************6789"
    assert mask_name("张三") == "张*"
    assert mask_name("张小三") == "张*三"
    assert mask_name("欧阳小明") == "欧阳**"
    assert mask_name("买买提·艾力") == "买买提·**"
    assert mask_name("𠀋小明") == "𠀋*明"  # CJK Ext-B counts as one character


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=2, max_size=6))
def test_names_reveal_at_most_two_characters(name):
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert sum(1 for a, b in zip(masked, name, strict=True) if a == b) <= 2


@given(st.from_regex(r"\A\d{17}[\dX]\Z"))
def test_id_reveals_eight_positions(value):
    m = mask_id(value)
    assert m[:4] == value[:4] and m[-4:] == value[-4:] and set(m[4:-4]) == {"*"}
