"""SECURITY AC-MASS: write bodies with protected or unknown keys (top level or inside a member) are rejected
with 422 and change nothing — ≥200 Hypothesis examples per write operation."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiuzhu.api.tests.conftest import ApiClient
from jiuzhu.core.models import AuditEvent
from jiuzhu.registry.models import ChangeRecord, Household, Membership, Person
from jiuzhu.testing.fixtures import new_id

PROTECTED = [
    "id", "pk", "area", "area_id", "area_code", "household", "household_id", "household_no", "status", "version",
    "created_by", "created_at", "updated_at", "approved_by", "amount", "member_count", "head_name", "is_synthetic",
    "id_number_enc", "id_number_bi", "id_number_masked", "phone_enc", "phone_bi", "phone_masked", "diagnosis_enc",
    "bank_account_enc", "bank_account_bi", "bank_account_masked", "birth_date", "sex", "role", "is_staff",
    "is_superuser", "user", "actor", "__proto__", "constructor", "Version", "AREA_CODE", "area_code ",
]  # fmt: skip
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=24),
    st.just("610902100001"), st.just(99), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)  # fmt: skip
SETTINGS = settings(
    max_examples=200, deadline=None, database=None, derandomize=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip

PERSON_KEYS = {
    "name", "id_number", "relation", "phone", "disability_category", "disability_grade", "serious_illness",
    "diagnosis", "schooling", "labour_capacity", "self_care", "hukou_area_code", "residence_area_code",
    "urban_rural", "death_date",
}  # fmt: skip
ALLOWED = {
    "household_create": {"area_code", "urban_rural", "address", "bank_name", "bank_account", "members", "reason", "joined_on"},
    "household_patch": {"version", "reason", "address", "urban_rural", "bank_name", "bank_account", "status"},
    "person_add": PERSON_KEYS | {"reason", "joined_on"},
    "person_patch": PERSON_KEYS | {"version", "reason"},
    "member": PERSON_KEYS,
    "reveal": {"field", "reason"},
}


def extra_keys(op: str):
    allowed = ALLOWED[op]
    key = st.one_of(st.sampled_from([k for k in PROTECTED if k not in allowed]),
                    st.text(min_size=1, max_size=16).filter(lambda k: k not in allowed))
    return st.dictionaries(key, VALUES, min_size=1, max_size=4)


def snapshot():
    return (
        list(Household.objects.order_by("pk").values()), list(Person.objects.order_by("pk").values()),
        Membership.objects.count(), ChangeRecord.objects.count(),
        AuditEvent.objects.filter(action__startswith="registry.").count(),
    )  # fmt: skip


def _check(api: ApiClient, method: str, path: str, body: dict) -> None:
    before = snapshot()
    r = api.send(method, path, body)
    assert r.status_code == 422, (path, body, r.content)
    assert snapshot() == before


def test_household_create(personas, village_a):
    api = ApiClient(personas.caseworker_a)

    @SETTINGS
    @given(extra=extra_keys("household_create"), member_extra=st.one_of(st.just({}), extra_keys("member")),
           nested=st.booleans())
    def run(extra, member_extra, nested):
        member = {"name": "赵六", "id_number": new_id(), "relation": "02"}
        body = {"area_code": village_a, "urban_rural": "rural", "members": [member]}
        if nested and member_extra:
            member.update(member_extra)
        else:
            body.update(extra)
        _check(api, "POST", "/households", body)

    run()
    assert not Household.objects.exists()


def test_household_patch(personas, hh_a):
    api = ApiClient(personas.caseworker_a)

    @SETTINGS
    @given(extra=extra_keys("household_patch"), address=st.text(max_size=10))
    def run(extra, address):
        _check(api, "PATCH", f"/households/{hh_a.pk}", {"version": 1, "reason": "核对", "address": address, **extra})

    run()
    hh_a.refresh_from_db()
    assert hh_a.version == 1 and hh_a.address == "一组"


def test_person_add(personas, hh_a):
    api = ApiClient(personas.caseworker_a)

    @SETTINGS
    @given(extra=extra_keys("person_add"))
    def run(extra):
        _check(api, "POST", f"/households/{hh_a.pk}/persons", {"name": "欧阳小明", "id_number": new_id(), "relation": "20", **extra})

    run()


def test_person_patch(personas, hh_a):
    api = ApiClient(personas.caseworker_a)
    person = Person.objects.filter(household=hh_a).first()

    @SETTINGS
    @given(extra=extra_keys("person_patch"))
    def run(extra):
        _check(api, "PATCH", f"/persons/{person.pk}", {"version": 1, "reason": "核对", "phone": "13911112222", **extra})

    run()


def test_reveal(personas, hh_a):
    api = ApiClient(personas.caseworker_a)
    person = Person.objects.filter(household=hh_a).first()

    @SETTINGS
    @given(extra=extra_keys("reveal"), on_household=st.booleans())
    def run(extra, on_household):
        if on_household:
            path, body = f"/households/{hh_a.pk}/reveal", {"field": "bank_account", "reason": "核对"}
        else:
            path, body = f"/persons/{person.pk}/reveal", {"field": "id_number", "reason": "核对"}
        _check(api, "POST", path, {**body, **extra})

    run()


def test_the_editable_path_still_works_after_the_noise(personas, hh_a):
    """The same body without the extra keys is accepted — the 422s above were about the extra keys."""
    api = ApiClient(personas.caseworker_a)
    assert api.patch(f"/households/{hh_a.pk}", {"version": 1, "reason": "核对", "address": "二组"}).status_code == 200
    r = api.patch(f"/households/{hh_a.pk}", {"version": 2, "reason": "核对", "area_code": "610921100001"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "payload", "area_code"]
    hh_a.refresh_from_db()
    assert hh_a.area_code != "610921100001" and hh_a.version == 2
