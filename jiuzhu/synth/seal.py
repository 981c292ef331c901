"""Encrypting the protected fields of a chunk of synthetic households, in this process or in a worker process.

The tokens and blind indexes are made by ``core.crypto.SoftwareProvider`` — the same code path that
``registry.services`` uses through ``crypto.encrypt`` / ``crypto.blind_index`` — so a synthetic record is
indistinguishable from one registered through the forms. This module imports no Django code, so a
``spawn`` worker starts quickly and never touches the database connection of its parent."""

from __future__ import annotations

from dataclasses import dataclass

from jiuzhu.core.crypto import KeyRing, SoftwareProvider

_provider: SoftwareProvider | None = None


def init_worker(keyring: KeyRing) -> None:
    global _provider
    _provider = SoftwareProvider(keyring)


def use_provider(provider: SoftwareProvider) -> None:
    """In-process sealing (small runs): use the application's provider."""
    global _provider
    _provider = provider


@dataclass(slots=True)
class Plain:
    """Protected plaintexts of one chunk, in order. Empty phones and diagnoses are left out by the caller."""

    ids: list[str]
    phones: list[str]
    diagnoses: list[str]
    accounts: list[str]


@dataclass(slots=True)
class Sealed:
    id_enc: list[str]
    id_bi: list[str]
    phone_enc: list[str]
    phone_bi: list[str]
    diagnosis_enc: list[str]
    account_enc: list[str]
    account_bi: list[str]


def seal(plain: Plain) -> Sealed:
    p = _provider
    if p is None:
        raise RuntimeError("seal() before init_worker()/use_provider()")
    enc, bi = p.encrypt, p.blind_index
    return Sealed(
        id_enc=[enc(v, context="person.id_number") for v in plain.ids],
        id_bi=[bi(v, purpose="id_number") for v in plain.ids],
        phone_enc=[enc(v, context="person.phone") for v in plain.phones],
        phone_bi=[bi(v, purpose="phone") for v in plain.phones],
        diagnosis_enc=[enc(v, context="person.diagnosis") for v in plain.diagnoses],
        account_enc=[enc(v, context="household.bank_account") for v in plain.accounts],
        account_bi=[bi(v, purpose="bank_account") for v in plain.accounts],
    )
