"""SECURITY CRY-SM4: known-answer tests, authenticated encryption, blind index."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from jiuzhu.core import crypto


def test_sm4_known_answer():
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - KAT only
    assert (enc.update(key) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm3_known_answer():
    assert hashlib.new("sm3", b"abc").hexdigest() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_roundtrip_and_randomised():
    a = crypto.encrypt("610902199001011234", context="person.id_number")
    b = crypto.encrypt("610902199001011234", context="person.id_number")
    assert a != b and a.startswith("sm4gcm:k1:")
    assert crypto.decrypt(a, context="person.id_number") == "610902199001011234"
    assert "610902199001011234" not in a


def test_tampered_ciphertext_rejected():
    token = crypto.encrypt("13800138000", context="person.phone")
    prefix, kid, blob = token.split(":", 2)
    for i in range(0, len(blob) - 2, 3):
        flipped = blob[:i] + ("A" if blob[i] != "A" else "B") + blob[i + 1:]
        with pytest.raises(crypto.CryptoError):
            crypto.decrypt(f"{prefix}:{kid}:{flipped}", context="person.phone")


def test_context_binding():
    token = crypto.encrypt("x", context="person.phone")
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(token, context="person.id_number")


@given(st.text(min_size=1, max_size=40))
def test_blind_index_deterministic_and_purpose_separated(value):
    assert crypto.blind_index(value, purpose="id_number") == crypto.blind_index(value, purpose="id_number")
    assert crypto.blind_index(value, purpose="id_number") != crypto.blind_index(value, purpose="phone")
