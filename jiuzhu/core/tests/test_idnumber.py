import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiuzhu.core import idnumber
from jiuzhu.core.idnumber import InvalidIdNumber


@pytest.mark.parametrize("value", ["11010519491231002X", "440524188001010014", "53010219200508011X"])
def test_reference_vectors_are_valid(value):
    assert idnumber.parse(value).value == value


def test_bad_check_digit_refused():
    with pytest.raises(InvalidIdNumber) as e:
        idnumber.parse("530102192005080119")
    assert e.value.code == "check"


def test_lowercase_x_normalised_and_sex_derived():
    p = idnumber.parse("11010519491231002x")
    assert p.value == "11010519491231002X"
    assert p.sex == "2" and p.birth_date == dt.date(1949, 12, 31)


def test_fifteen_digit_converted():
    p = idnumber.parse("110105491231002")
    assert p.value == "11010519491231002X" and p.converted_from_15


@pytest.mark.parametrize("value,code", [("11010519490231002X", "birth_date"), ("1101051949", "format"),
                                         ("110105" + "20990101" + "0011", "birth_date")])
def test_invalid(value, code):
    v = value if len(value) != 18 or code != "birth_date" else value
    with pytest.raises(InvalidIdNumber) as e:
        idnumber.parse(v)
    assert e.value.code == code


def test_unknown_address_code_refused():
    with pytest.raises(InvalidIdNumber) as e:
        idnumber.parse("11010519491231002X", known_address=lambda c: c != "110105")
    assert e.value.code == "address"


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31)), st.integers(0, 999))
def test_make_then_parse_roundtrip(birth, seq):
    value = idnumber.make("610902", birth, seq)
    p = idnumber.parse(value)
    assert p.birth_date == birth and p.sex == ("1" if seq % 2 else "2")
    # any single-character change of the first 17 digits breaks the check (ISO 7064 detects all single errors)
    i = seq % 17
    d = str((int(value[i]) + 1) % 10)
    with pytest.raises(InvalidIdNumber):
        idnumber.parse(value[:i] + d + value[i + 1:], today=dt.date(2100, 1, 1))
