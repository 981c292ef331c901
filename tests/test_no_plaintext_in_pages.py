"""Acceptance 3, pages side: no full ID, card or phone number in any page or export for any role unless it
was explicitly revealed (the API side is jiuzhu/api/tests)."""

from __future__ import annotations

import pytest

from jiuzhu.core.pii_scan import scan_text
from jiuzhu.registry.models import Person
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, make_household, villages

pytestmark = pytest.mark.django_db


def test_crawl_every_registry_page_as_every_role(client, personas):
    households = [make_household(personas.caseworker_a, v, size=3) for v in villages(TOWN_A)[:2]]
    households.append(make_household(personas.caseworker_b, villages(TOWN_B)[0], size=2))
    persons = list(Person.objects.all())
    pages = ["/households/", "/households/?q=张", "/households/export/?format=csv", "/households/export/?format=xlsx",
             "/audit/", "/import/"]
    pages += [f"/households/{h.pk}/" for h in households] + [f"/households/{h.pk}/edit/" for h in households]
    pages += [f"/persons/{p.pk}/" for p in persons] + [f"/persons/{p.pk}/edit/" for p in persons]
    crawled = 0
    for name, user in vars(personas).items():
        client.force_login(user)
        for url in pages:
            r = client.get(url)
            if r.status_code != 200:
                continue
            body = b"".join(r.streaming_content) if r.streaming else r.content
            if url.endswith("xlsx"):
                import io

                import openpyxl

                wb = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
                text = " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c)
            else:
                text = body.decode("utf-8-sig")
            assert scan_text(text, f"{name} {url}") == [], f"{name} {url}"
            crawled += 1
    assert crawled > 100
