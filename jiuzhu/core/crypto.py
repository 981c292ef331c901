"""One crypto provider for the whole platform (SECURITY CRY-SM4, CRY-KEYS).

Field encryption is SM4-GCM with a random 96-bit nonce per value and a key-id prefix, so keys can be rotated;
equality search uses an HMAC-SM3 blind index. The audit chain is keyed with HMAC-SM3 too. Keys live in a JSON
file (or the environment variable ``JIUZHU_KEYS``) outside the database. A hardware provider (SDF / GM/T 0018
密码机, a cloud KMS) implements the same four methods.

Token format: ``sm4gcm:<kid>:<base64url(nonce | ciphertext | tag)>``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PREFIX = "sm4gcm"


class CryptoError(Exception):
    """A value could not be decrypted: tampered, truncated, or encrypted under an unknown key."""


@dataclass(frozen=True)
class KeyRing:
    current: str
    data_keys: dict[str, bytes]
    index_key: bytes
    audit_key: bytes


def generate_keyring_json() -> str:
    kid = "k1"
    return json.dumps(
        {
            "current": kid,
            "data_keys": {kid: secrets.token_hex(16)},
            "index_key": secrets.token_hex(32),
            "audit_key": secrets.token_hex(32),
        },
        indent=2,
    )


def ensure_key_file(path: str | Path) -> Path:
    """Create a key file with fresh random keys if none exists (first start of a deployment)."""
    p = Path(path)
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(generate_keyring_json())
    return p


def _parse_keyring(raw: str) -> KeyRing:
    d = json.loads(raw)
    return KeyRing(
        current=d["current"],
        data_keys={k: bytes.fromhex(v) for k, v in d["data_keys"].items()},
        index_key=bytes.fromhex(d["index_key"]),
        audit_key=bytes.fromhex(d["audit_key"]),
    )


class SoftwareProvider:
    """SM4/SM3 from the ``cryptography`` package (OpenSSL). For development, tests and small deployments."""

    def __init__(self, keyring: KeyRing):
        self.keys = keyring

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        kid = self.keys.current
        nonce = os.urandom(12)
        enc = Cipher(algorithms.SM4(self.keys.data_keys[kid]), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(f"{kid}|{context}".encode())
        ct = enc.update(plaintext.encode("utf-8")) + enc.finalize()
        blob = base64.urlsafe_b64encode(nonce + ct + enc.tag).decode("ascii")
        return f"{PREFIX}:{kid}:{blob}"

    def decrypt(self, token: str, *, context: str = "") -> str:
        try:
            prefix, kid, blob = token.split(":", 2)
            if prefix != PREFIX or kid not in self.keys.data_keys:
                raise CryptoError("unknown key or format")
            raw = base64.urlsafe_b64decode(blob.encode("ascii"))
            if len(raw) < 12 + 16:
                raise CryptoError("truncated ciphertext")
            nonce, ct, tag = raw[:12], raw[12:-16], raw[-16:]
            dec = Cipher(algorithms.SM4(self.keys.data_keys[kid]), modes.GCM(nonce, tag)).decryptor()
            dec.authenticate_additional_data(f"{kid}|{context}".encode())
            return (dec.update(ct) + dec.finalize()).decode("utf-8")
        except (ValueError, InvalidTag, UnicodeDecodeError) as exc:
            raise CryptoError("value failed authentication") from exc

    def decrypt_many(self, tokens: Iterable[str], *, context: str = "") -> list[str]:
        """``decrypt`` for many tokens of one context (bulk exports): the same results and the same
        ``CryptoError``, with the per-key SM4 object and associated data made once per key instead of per value.
        Every value is still authenticated (its own nonce and tag)."""
        made: dict[str, tuple[algorithms.SM4, bytes]] = {}
        b64 = base64.urlsafe_b64decode
        gcm, cipher = modes.GCM, Cipher
        out: list[str] = []
        append = out.append
        try:
            for token in tokens:
                prefix, kid, blob = token.split(":", 2)
                key = made.get(kid)
                if key is None:
                    if prefix != PREFIX or kid not in self.keys.data_keys:
                        raise CryptoError("unknown key or format")
                    key = made[kid] = (algorithms.SM4(self.keys.data_keys[kid]), f"{kid}|{context}".encode())
                elif prefix != PREFIX:
                    raise CryptoError("unknown key or format")
                raw = b64(blob.encode("ascii"))
                if len(raw) < 12 + 16:
                    raise CryptoError("truncated ciphertext")
                dec = cipher(key[0], gcm(raw[:12], raw[-16:])).decryptor()
                dec.authenticate_additional_data(key[1])
                append((dec.update(raw[12:-16]) + dec.finalize()).decode("utf-8"))
        except (ValueError, InvalidTag, UnicodeDecodeError) as exc:
            raise CryptoError("value failed authentication") from exc
        return out

    def blind_index(self, value: str, *, purpose: str) -> str:
        """HMAC-SM3 over purpose and value; 32 hex chars are enough to make collisions negligible."""
        h = hmac.HMAC(self.keys.index_key, hashes.SM3())
        h.update(f"{purpose}\x00{value}".encode())
        return h.finalize().hex()[:32]

    def audit_mac(self, data: bytes) -> str:
        h = hmac.HMAC(self.keys.audit_key, hashes.SM3())
        h.update(data)
        return h.finalize().hex()

    def needs_rotation(self, token: str) -> bool:
        return not token.startswith(f"{PREFIX}:{self.keys.current}:")


@lru_cache(maxsize=1)
def provider() -> SoftwareProvider:
    from django.conf import settings

    raw = os.environ.get("JIUZHU_KEYS")
    if not raw:
        path = Path(str(settings.JIUZHU_KEY_FILE))
        if not path.exists():
            if settings.DEMO_MODE or os.environ.get("JIUZHU_CREATE_KEYS") == "1":
                ensure_key_file(path)
            else:
                raise CryptoError(
                    f"key file {path} not found; create it with `jiuzhu keys-init` (production never invents keys)"
                )
        raw = path.read_text(encoding="utf-8")
    return SoftwareProvider(_parse_keyring(raw))


def encrypt(value: str, *, context: str = "") -> str:
    return provider().encrypt(value, context=context)


def decrypt(token: str, *, context: str = "") -> str:
    return provider().decrypt(token, context=context)


def decrypt_many(tokens: Iterable[str], *, context: str = "") -> list[str]:
    """``[decrypt(t, context=context) for t in tokens]``, faster (one key set-up per key, not per value)."""
    return provider().decrypt_many(tokens, context=context)


def blind_index(value: str, *, purpose: str) -> str:
    return provider().blind_index(value, purpose=purpose)
