"""``crypto.decrypt_many``: the same values and the same refusals as ``decrypt``, one token at a time."""

from __future__ import annotations

import pytest

from jiuzhu.core import crypto
from jiuzhu.core.crypto import CryptoError, KeyRing, SoftwareProvider


def _provider() -> SoftwareProvider:
    old, new = bytes(range(16)), bytes(range(16, 32))
    return SoftwareProvider(KeyRing(current="k2", data_keys={"k1": old, "k2": new}, index_key=b"i" * 32,
                                    audit_key=b"a" * 32))  # fmt: skip


def test_same_values_as_decrypt_across_keys():
    p = _provider()
    values = ["6228480402564890018", "", "账号 & <x>", "6" * 40]
    tokens = [p.encrypt(v, context="household.bank_account") for v in values]
    old = SoftwareProvider(
        KeyRing(current="k1", data_keys=p.keys.data_keys, index_key=b"i" * 32, audit_key=b"a" * 32)
    )
    tokens.append(old.encrypt("6217000010001234567", context="household.bank_account"))
    want = [p.decrypt(t, context="household.bank_account") for t in tokens]
    assert (
        p.decrypt_many(tokens, context="household.bank_account") == want == [*values, "6217000010001234567"]
    )
    assert p.decrypt_many(iter(tokens), context="household.bank_account") == want  # any iterable
    assert p.decrypt_many([], context="household.bank_account") == []


def test_module_function_uses_the_platform_provider():
    tokens = [crypto.encrypt(f"62284804{i:011d}", context="household.bank_account") for i in range(50)]
    assert crypto.decrypt_many(tokens, context="household.bank_account") == [
        crypto.decrypt(t, context="household.bank_account") for t in tokens
    ]


def test_every_value_is_still_authenticated():
    p = _provider()
    good = p.encrypt("13800138000", context="person.phone")
    prefix, kid, blob = good.split(":", 2)
    bad = [
        f"{prefix}:{kid}:{blob[:10]}{'A' if blob[10] != 'A' else 'B'}{blob[11:]}",  # tampered
        f"{prefix}:{kid}:{blob[:20]}",  # truncated
        f"{prefix}:k9:{blob}",  # unknown key
        f"aes:{kid}:{blob}",  # unknown format, after a good token of the same key
        "garbage",
    ]
    for token in bad:
        for variant in ([token], [good, token]):
            with pytest.raises(CryptoError):
                p.decrypt(token, context="person.phone")
            with pytest.raises(CryptoError):
                p.decrypt_many(variant, context="person.phone")
    with pytest.raises(CryptoError):  # bound to its context as decrypt is
        p.decrypt_many([good], context="person.id_number")
