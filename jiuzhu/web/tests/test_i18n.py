"""English interface: chosen by the language cookie (the footer's switcher) or Accept-Language, Chinese by
default; the English catalogue is complete; spreadsheet data stays Chinese whatever the language."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from jiuzhu.batch.models import JobRun
from jiuzhu.core.models import AuditEvent
from jiuzhu.registry import importers
from jiuzhu.registry.models import Household
from jiuzhu.registry.validation import clean_person
from jiuzhu.testing.fixtures import TOWN_A, make_household, new_id, villages

PO = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
CJK = re.compile(r"[\u3400-\u9fff]")
# Interface labels that must not survive in English navigation and headings.
CHINESE_LABELS = ("家庭户", "批量导入", "审计日志", "账号管理", "修改密码", "退出", "登录", "户主", "家庭成员", "变更记录",
                  "状态", "查询", "最近的导入")  # fmt: skip
# Chinese the English messages quote on purpose: what the user must type or find in the Chinese spreadsheet.
SPREADSHEET_WORDS = ("村（社区）代码", "姓名", "身份证号", "户编号", "城市", "农村", "是", "否")


# --- helpers ---------------------------------------------------------------------------------------------------


def english(client: Client, via: str) -> Client:
    """A client that asks for English the way a browser would: the language cookie the footer's switcher sets,
    or the Accept-Language header."""
    if via == "cookie":
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    else:
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def chrome(html: str, *data: str) -> str:
    """The interface text of a page: navigation (without the who-am-I data), title, headings, table headers,
    term labels, form labels and buttons, before the footer (whose language switcher names 简体中文 on
    purpose). ``data`` (names, division names, household numbers) is removed."""
    html = html.split("<footer", 1)[0]
    html = re.sub(r'<span[^>]*data-testid="whoami".*?</span>', "", html, flags=re.S)
    parts = re.findall(r"<(nav|title|h[1-6]|th|dt|label|button)\b[^>]*>(.*?)</\1>", html, flags=re.S)
    text = "\n".join(re.sub(r"<[^>]+>", " ", inner) for _, inner in parts)
    for d in data:
        text = text.replace(d, "")
    return text


def assert_english_chrome(text: str) -> None:
    for label in CHINESE_LABELS:
        assert label not in text, f"{label!r} left untranslated in: {text!r}"
    assert not CJK.search(text), f"Chinese left in the interface text: {CJK.findall(text)} in {text!r}"


@pytest.fixture
def hh(personas):
    return make_household(personas.caseworker_a, villages(TOWN_A)[0], size=3, name="李四")


# --- pages -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["cookie", "header"])
def test_login_page_in_english(db, via):
    body = english(Client(), via).get("/login/").content.decode()
    assert '<html lang="en">' in body
    for s in ("Staff sign-in", "Username", "Password", "Sign in", "failed sign-ins in a row"):
        assert s in body
    assert_english_chrome(chrome(body))
    assert not CJK.search(body.split("<footer", 1)[0])  # the whole page, not only its headings


@pytest.mark.parametrize("via", ["cookie", "header"])
def test_household_list_in_english(client, personas, hh, via):
    client.force_login(personas.caseworker_a)
    body = english(client, via).get("/households/").content.decode()
    for s in (">Households<", "Register a household", "Export to Excel", "Household head", "Search", "Rural", "Enrolled",
              "All statuses", "Township caseworker"):  # fmt: skip
        assert s in body, s
    assert hh.household_no in body
    assert_english_chrome(chrome(body, personas.caseworker_a.area.name))


@pytest.mark.parametrize("via", ["cookie", "header"])
def test_household_detail_in_english(client, personas, hh, via):
    client.force_login(personas.caseworker_a)
    body = english(client, via).get(f"/households/{hh.pk}/").content.decode()
    for s in ("Household members", "Relation", "Household head", "Date of birth", "Change history", "Urban/rural",
              "Rural", "Enrolled", "Bank account", "Show in full", "Created"):  # fmt: skip
        assert s in body, s
    assert "李四" in body  # data is data
    assert_english_chrome(chrome(body, hh.head_name, hh.household_no))


@pytest.mark.parametrize("via", ["cookie", "header"])
def test_import_page_in_english(client, personas, via):
    client.force_login(personas.caseworker_a)
    body = english(client, via).get("/import/").content.decode()
    for s in ("Import households and household members", "Upload and validate", "Download the blank template",
              "Recent imports", "Column headers (red ones are required)", "None yet"):  # fmt: skip
        assert s in body, s
    assert "户编号" in body  # the file's column headers are the import format, Chinese on purpose
    assert_english_chrome(chrome(body))


@pytest.mark.parametrize("via", ["cookie", "header"])
def test_audit_page_in_english(client, personas, hh, via):
    assert AuditEvent.objects.exists()
    client.force_login(personas.auditor)
    body = english(client, via).get("/audit/").content.decode()
    for s in ("Audit log", "read-only", "Filter", "Action", "Result", "Auditor"):
        assert s in body, s
    assert_english_chrome(chrome(body))


def test_default_is_chinese(client, personas, hh):
    assert Client().get("/login/").content.decode().count("工作人员登录") == 1
    client.force_login(personas.caseworker_a)
    pages = {
        "/households/": ("家庭户", "登记家庭户", "户主", "农村", "在册", "乡镇经办员"),
        f"/households/{hh.pk}/": ("家庭成员", "关系", "户主", "变更记录", "城乡类别"),
        "/import/": ("批量导入家庭户和家庭成员", "上传并校验"),
    }
    for url, labels in pages.items():
        body = client.get(url).content.decode()
        assert '<html lang="zh-hans">' in body
        for s in labels:
            assert s in body, (url, s)
        assert "Households" not in body and "Register a household" not in body
    client.force_login(personas.auditor)
    body = client.get("/audit/").content.decode()
    assert "审计日志" in body and "Audit log" not in body


def test_footer_switcher_sets_english_and_back(client, personas):
    client.force_login(personas.caseworker_a)
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/households/"})
    assert r.status_code == 302 and r.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Register a household" in client.get("/households/").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/households/"})
    assert "登记家庭户" in client.get("/households/").content.decode()


def test_form_errors_and_messages_in_english(client, personas):
    client.force_login(personas.caseworker_a)
    english(client, "cookie")
    base = {"area_code": villages(TOWN_A)[0], "household_urban_rural": "rural", "name": "赵六", "relation": "02",
            "schooling": "none", "labour_capacity": "full", "self_care": "full", "urban_rural": "rural"}  # fmt: skip
    body = client.post("/households/new/", {**base, "id_number": "610902199001011230"}).content.decode()
    assert "check digit is wrong" in body and "校验位" not in body
    assert "Relation to household head" in body and "与户主关系" not in body  # field label
    r = client.post("/households/new/", {**base, "id_number": new_id()}, follow=True)
    h = Household.objects.get(head_name="赵六")
    assert f"Household {h.household_no} registered" in r.content.decode()


# --- data stays Chinese -----------------------------------------------------------------------------------------


def test_spreadsheet_labels_are_chinese_in_any_language(db):
    """Townships type the Chinese labels; an English interface must not change what the importer accepts."""
    with translation.override("en"):
        out = clean_person({"relation": "户主", "urban_rural": "农村", "schooling": "小学在校", "self_care": "部分不能自理"},
                           partial=True)  # fmt: skip
        assert out == {"relation": "02", "urban_rural": "rural", "schooling": "primary", "self_care": "partial"}
        with pytest.raises(ValidationError) as exc:
            clean_person({"relation": "Household head"}, partial=True)
        message = exc.value.message_dict["relation"][0]
        assert message.startswith("Relation to household head “Household head” is invalid") and "户主、配偶" in message


def test_import_template_stays_chinese_in_english(personas):
    from io import BytesIO

    from openpyxl import load_workbook

    with translation.override("en"):
        wb = load_workbook(BytesIO(importers.template_workbook(personas.caseworker_a)))
    assert [c.value for c in wb["家庭成员"][1]][:5] == ["户编号", "村(社区)代码", "城乡类别", "居住地址", "姓名"]
    codes = {(r[0], r[2]) for r in wb["代码表"].iter_rows(min_row=2, values_only=True)}
    assert ("与户主关系", "户主") in codes and ("城乡类别", "农村") in codes


def test_export_stays_chinese_in_english(client, personas, hh):
    client.force_login(personas.caseworker_a)
    r = english(client, "cookie").get("/households/export/", {"format": "csv"})
    text = b"".join(r.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert text.startswith("户编号,") and hh.household_no in text
    assert ",农村," in text and ",在册," in text and "Rural" not in text and "Enrolled" not in text


def test_import_job_messages_use_the_upload_language(personas, tmp_path, settings):
    """The job may run in a background thread; its stored messages follow the language of the upload."""
    from jiuzhu.registry.tests import importkit as kit

    settings.MEDIA_ROOT = tmp_path / "media"
    village = villages(TOWN_A)[0]
    rows = kit.household("1", village, 2)
    rows[1]["与户主关系"] = "户主"  # two heads
    path = kit.write_xlsx(tmp_path / "bad.xlsx", rows)
    with open(path, "rb") as f:
        staged = importers.stage_upload(iter(lambda: f.read(65536), b""))
    with translation.override("en"):
        job = importers.import_prepare(actor=personas.caseworker_a, path=staged, filename="bad.xlsx")
    assert job.message == "Waiting to start"
    job = importers.import_run(job.pk)  # outside the request: the default language is active here
    assert job.status == JobRun.Status.FAILED
    assert job.message.startswith("Found 1 error; nothing was imported")
    assert "has more than one household head" in job.errors[0]["message"]
    assert job.errors[0]["column"] == "与户主关系"  # the header as written in the user's file


# --- the catalogue ----------------------------------------------------------------------------------------------


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (dict index -> text), flags."""
    entries: list[dict] = []
    cur: dict = {}
    key: tuple[str, int] | None = None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if "msgid" in cur:
                entries.append(cur)
            cur, key = {}, None
            continue
        cur.setdefault("flags", set())
        cur.setdefault("msgstr", {})
        if line.startswith("#,"):
            cur["flags"].update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif m := re.match(r"^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")$", line):
            key = (m.group(1), int(m.group(2) or 0))
            value = ast.literal_eval(m.group(3))
            if key[0] == "msgstr":
                cur["msgstr"][key[1]] = value
            else:
                cur[key[0]] = value
        elif line.startswith('"') and key is not None:
            value = ast.literal_eval(line)
            if key[0] == "msgstr":
                cur["msgstr"][key[1]] += value
            else:
                cur[key[0]] += value
    return entries


def test_english_catalogue_is_complete_and_compiled():
    entries = parse_po(PO)
    header, messages = entries[0], entries[1:]
    assert header["msgid"] == "" and "fuzzy" not in header["flags"] and "Language: en" in header["msgstr"][0]
    assert len(messages) > 300
    placeholder = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdif]")
    for e in messages:
        where = (e.get("msgctxt"), e["msgid"])
        assert "fuzzy" not in e["flags"], f"fuzzy: {where}"
        forms = 2 if "msgid_plural" in e else 1
        assert sorted(e["msgstr"]) == list(range(forms)), f"plural forms: {where}"
        for text in e["msgstr"].values():
            assert text.strip(), f"untranslated: {where}"
            assert sorted(placeholder.findall(text)) == sorted(placeholder.findall(e["msgid"])), f"placeholders: {where}"
            for word in SPREADSHEET_WORDS:
                text = text.replace(word, "")
            assert not CJK.search(text), f"Chinese left in the English text: {where}"
    # The committed .mo is the compiled .po (a fresh clone needs no gettext tools).
    with open(MO, "rb") as f:
        catalog = gettext.GNUTranslations(f)
    for e in messages:
        msgid = e["msgid"] if "msgctxt" not in e else f"{e['msgctxt']}\x04{e['msgid']}"
        if "msgid_plural" in e:
            assert catalog.ngettext(msgid, e["msgid_plural"], 1) == e["msgstr"][0]
            assert catalog.ngettext(msgid, e["msgid_plural"], 2) == e["msgstr"][1]
        else:
            assert catalog.gettext(msgid) == e["msgstr"][0], f"stale .mo for {msgid!r}"
