"""Scoped reads for pages, API, search and export. Everything starts from ``restrict(user, action)``."""

from __future__ import annotations

import re
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from jiuzhu.accounts.roles import VIEW_NAMES
from jiuzhu.core import crypto, idnumber
from jiuzhu.core.models import Division
from jiuzhu.core.scoping import can

from .models import ChangeRecord, Household, HouseholdStatus, Membership, Person

_ID_LIKE = re.compile(r"^(\d{17}[\dXx]|\d{15})$")


def is_id_query(q: str) -> bool:
    return bool(_ID_LIKE.match((q or "").replace(" ", "")))


def list_filters(params: Any) -> tuple[str, str, str]:
    """(q, village, status) from a list page's or export's GET parameters, trimmed and validated."""
    q = params.get("q", "").strip()[:40]
    village = params.get("village", "").strip()[:12]
    status = params.get("status", "")
    return q, village, status if status in HouseholdStatus.values else ""


def is_name_query(q: str) -> bool:
    q = (q or "").strip()
    return bool(q) and not is_id_query(q) and not (q.upper().startswith("H") and q[1:].isdigit())


def _name_filter(user: Any, q: str) -> dict[str, str]:
    """Roles that see masked names get exact matches only: a prefix search would let them spell a masked name
    out one character at a time from the result count. A prefix is given as a range, which equals "starts
    with" in code-point order (SQLite's binary collation, PostgreSQL's C collation — docs/architecture.md)."""
    if not can(user, VIEW_NAMES):
        return {"name": q}
    if ord(q[-1]) >= 0x10FFFF:
        return {"name__startswith": q}
    # The range alone (no LIKE as well): PostgreSQL multiplies the two selectivities, estimates one row and
    # then prefers a bitmap scan over every match to walking the (name, id) index for one page.
    return {"name__gte": q, "name__lt": q[:-1] + chr(ord(q[-1]) + 1)}


def household_search(
    user: Any, *, q: str = "", village: str = "", status: str = "", action: str = "view"
) -> QuerySet[Household]:
    """q: an ID number (exact, via the blind index), a household number, or a name (prefix, any member)."""
    qs = Household.objects.restrict(user, action)
    q = (q or "").strip()
    if village:
        qs = qs.filter(area_code__startswith=village) if village.isdigit() else qs.none()
    # Household numbers start with H + village code (a database constraint), so the area is also a range of
    # household_no: PostgreSQL then walks the household_no index in order instead of sorting the whole county.
    area = max((getattr(user, "area_id", "") or "", village if village.isdigit() else ""), key=len)
    if area:
        qs = qs.filter(household_no__gte=f"H{area}", household_no__lt=f"H{area}:")  # ':' sorts right after '9'
    if status:
        qs = qs.filter(status=status)
    if q:
        if _ID_LIKE.match(q.replace(" ", "")):
            try:
                value = idnumber.parse(q).value
            except idnumber.InvalidIdNumber:
                return qs.none()
            bi = crypto.blind_index(value, purpose="id_number")
            qs = qs.filter(pk__in=Person.objects.restrict(user, action).filter(id_number_bi=bi).values("household_id"))
        elif q.upper().startswith("H") and q[1:].isdigit():
            qs = qs.filter(household_no__startswith=q.upper())
        else:
            ids = Person.objects.restrict(user, action).filter(**_name_filter(user, q)).values("household_id")
            qs = qs.filter(pk__in=ids)
    return qs.order_by("household_no")


PAGE_SIZE = 25
# OFFSET paging reads every skipped row, so page N costs O(N): beyond this page the list asks the user to narrow
# the search (by village, name, status) instead. 400 pages = 10,000 households, more than anyone leafs through.
MAX_PAGE = 400


def page_of(qs: QuerySet[Any], page: int, size: int = PAGE_SIZE) -> tuple[list[Any], bool]:
    """Fetch one page without COUNT(*) (one row more tells whether there is a next page)."""
    page = min(max(1, page), MAX_PAGE)
    rows = list(qs[(page - 1) * size : page * size + 1])
    return rows[:size], len(rows) > size and page < MAX_PAGE


VILLAGES_VERSION_KEY = "jiuzhu:villages:version"  # bumped by core.divisions whenever villages change


def village_choices(prefix: str) -> list[tuple[str, str]]:
    """(code, name) of current villages under an area, for filters. Cached for five minutes: the village list
    changes only by import, and rendering it for every list page was most of that page's time."""
    key = f"jiuzhu:villages:{cache.get_or_set(VILLAGES_VERSION_KEY, 1)}:{prefix}"
    cached = cache.get(key)
    if cached is None:
        cached = list(Division.objects.filter(level=Division.Level.VILLAGE, code__startswith=prefix,
                                              valid_to__isnull=True).order_by("code").values_list("code", "name")[:2000])
        cache.set(key, cached, 300)
    return cached


def village_options_html(prefix: str, selected: str = "") -> str:
    """The ``<option>`` list of the village filter, rendered once per area and cached with the village list."""
    key = f"jiuzhu:village-options:{cache.get_or_set(VILLAGES_VERSION_KEY, 1)}:{prefix}"
    html = cache.get(key)
    if html is None:
        html = str(format_html_join("", '<option value="{}">{}</option>', village_choices(prefix)))
        cache.set(key, html, 300)
    if selected.isdigit():
        html = html.replace(f'<option value="{selected}">', f'<option value="{selected}" selected>', 1)
    return mark_safe(html)  # noqa: S308 - built by format_html_join from escaped values; `selected` is digits


def households_by_name_page(
    user: Any, *, q: str, village: str = "", status: str = "", page: int = 1, size: int = PAGE_SIZE
) -> tuple[list[Household], bool]:
    """One page of a name search, in name order. Walks the person-name index and stops after the page, so a
    common name or a one-character surname costs the same as a rare one (ordering a semi-join by household
    number had to read every match: seconds for 王 in a million-household county)."""
    page = min(max(1, page), MAX_PAGE)
    persons = Person.objects.restrict(user).filter(**_name_filter(user, q.strip()), household__isnull=False)
    if village:
        persons = persons.filter(area_code__startswith=village) if village.isdigit() else persons.none()
    if status:
        persons = persons.filter(household__status=status)
    # a household with two matching members appears once; fetch enough persons to fill the page after that
    wanted = page * size + 1
    seen: dict[int, None] = {}
    chunk = wanted * 2
    offset = 0
    while len(seen) < wanted:
        ids = list(persons.order_by("name", "id").values_list("household_id", flat=True)[offset:offset + chunk])
        for hid in ids:
            seen.setdefault(hid, None)
        if len(ids) < chunk:
            break
        offset += chunk
    page_ids = list(seen)[(page - 1) * size: page * size + 1]
    by_id = Household.objects.select_related("area").only(
        "id", "household_no", "head_name", "member_count", "urban_rural", "status", "area__name").in_bulk(page_ids)
    rows = [by_id[i] for i in page_ids if i in by_id]
    return rows[:size], len(rows) > size and page < MAX_PAGE


def household_members(household: Household) -> QuerySet[Person]:
    return Person.objects.filter(household=household).order_by("relation", "birth_date")


def household_history(user: Any, household: Household) -> QuerySet[ChangeRecord]:
    return ChangeRecord.objects.restrict(user).filter(household=household).select_related("actor")


def person_history(user: Any, person: Person) -> QuerySet[ChangeRecord]:
    return ChangeRecord.objects.restrict(user).filter(object_type="person", object_id=person.pk)


def membership_history(person: Person) -> QuerySet[Membership]:
    return Membership.objects.filter(person=person).select_related("household").order_by("joined_on")
