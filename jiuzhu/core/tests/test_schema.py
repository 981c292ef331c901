"""The database the migrations build holds every constraint and index the models declare.

Django's ``AlterField`` can drop more than it means to: changing a foreign key's ``db_index`` on PostgreSQL drops
every index on that column it finds, a partial unique constraint included, and nothing recreates it (this is how
``payments_one_live_reissue`` went missing from PostgreSQL databases between payments 0006 and 0007). Models and
migrations agree (``makemigrations --check``), so only the database itself can show it."""

from __future__ import annotations

from django.apps import apps
from django.db import connection


def test_every_declared_constraint_and_index_exists(db):
    missing = []
    with connection.cursor() as cur:
        for model in apps.get_models():
            meta = model._meta
            if not model.__module__.startswith("jiuzhu.") or meta.proxy or not meta.managed:
                continue
            declared = [*meta.constraints, *meta.indexes]
            if not declared:
                continue
            present = connection.introspection.get_constraints(cur, meta.db_table)
            missing += [f"{meta.db_table}.{c.name}" for c in declared if c.name not in present]
    assert missing == []
