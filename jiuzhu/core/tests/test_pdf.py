"""Printable notices (docs/printing.md): layout facts read back from the PDF itself.

No PDF parser is a dependency, so ``page_strings`` reads the uncompressed (``compress=False``) output of
ReportLab directly: the page tree's ``/Kids`` gives the page order, each page's ``/Contents`` stream holds
``(...) Tj`` string shows, and strings set in the STSong-Light CID font (UniGB-UCS2-H) are UTF-16BE bytes
under PDF literal-string escapes. Every string shown on a page is returned, in drawing order.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from jiuzhu.core import pdf
from jiuzhu.core.pdf import Checklist, Doc, Fields, Heading, Para, Spacer, Table
from jiuzhu.testing.pdftext import page_strings

HOSTILE = ["<script>alert(1)</script>", "&amp;", "<b>", "]]> \\ ( ) &lt;"]
HEADER = ["序号", "户主", "村（社区）", "人口", "月保障金（元）"]
ROWS = 300

def notice(**overrides) -> Doc:
    rows = [
        [f"第{i}户", f"张*{i % 10}", "关庙镇石岭村", "3", f"{i * 7 % 900 + 100}.00"]
        for i in range(1, ROWS + 1)
    ]
    fields = dict(
        title="最低生活保障申请受理通知书",
        authority="安康市汉滨区关庙镇人民政府",
        case_no="HB-2024-000123",
        verification_code="K7Q9-4MXT-2PHD",
        issued_on=date(2024, 5, 6),
        blocks=[
            Para("王某某：", indent=False),
            Para("你（户）于2024年5月6日提出的最低生活保障申请，经审查，材料齐全，现予受理。" * 4),
            Heading("一、申请人基本情况"),
            Fields([("申请人", "王某某"), ("家庭人口", "3"), ("住址", "关庙镇石岭村三组")]),
            Heading("二、尚需补充的材料"),
            Checklist([("户口簿复印件", True), ("核对授权书", False), ("残疾证", True)]),
            Spacer(5),
            Para("\n".join(HOSTILE), indent=False),
            Fields([("备注", HOSTILE[0])], columns=1),
            Table(["用户输入"], [[s] for s in HOSTILE] + [["<i>" + "很长的备注" * 30]]),
            Heading("三、公示名单"),
            Table(HEADER, rows, col_widths=[1, 2, 3, 1, 2]),
        ],
        signature_lines=["经办人", "申请人（签字）"],
        seal=True,
        watermark="演示数据",
    )
    fields.update(overrides)
    return Doc(**fields)


@pytest.fixture(scope="module")
def raw() -> bytes:
    return pdf.render(notice(), invariant=True, compress=False)


@pytest.fixture(scope="module")
def pages(raw: bytes) -> list[list[str]]:
    return page_strings(raw)


def test_is_a_pdf_with_the_page_count_it_prints(raw, pages):
    assert raw.startswith(b"%PDF-")
    total = len(pages)
    assert total > 1
    assert len(re.findall(rb"/Type /Page\b(?!s)", raw)) == total
    assert re.search(rb"/Count %d\b" % total, raw)
    for number, strings in enumerate(pages, start=1):
        assert f"第 {number} 页 共 {total} 页" in strings


def test_header_footer_and_title(pages):
    texts = ["".join(strings) for strings in pages]
    assert "最低生活保障申请受理通知书" in texts[0]
    assert all("最低生活保障申请受理通知书" not in t for t in texts[1:])  # the extractor tells pages apart
    for t in texts:
        assert "案件编号：HB-2024-000123" in t
        assert "核验码：K7Q9-4MXT-2PHD（可在 /verify/ 核验）" in t
        assert "演示数据" in t
    assert "不在文档里的字" not in "".join(texts)


def test_long_table_breaks_with_repeated_header_and_no_lost_rows(pages):
    with_rows = [strings for strings in pages if any(re.fullmatch(r"第\d+户", s) for s in strings)]
    assert len(with_rows) > 2
    for strings in with_rows:
        assert strings[strings.index("序号") : strings.index("序号") + len(HEADER)] == HEADER
    markers = [s for strings in pages for s in strings if re.fullmatch(r"第\d+户", s)]
    assert markers == [f"第{i}户" for i in range(1, ROWS + 1)]


def test_hostile_text_prints_literally(pages):
    """In a paragraph, a key-value grid, one-line table cells (plain strings) and a wrapping cell (paragraph)."""
    strings = [s for page in pages[:2] for s in page]
    for s in HOSTILE:
        assert strings.count(s) == (3 if s == HOSTILE[0] else 2)  # paragraph line, table cell (and grid cell)
    assert any(s.startswith("<i>很长的备注") for s in strings)
    assert not any("<br/>" in s for s in strings)


def test_checklist_ticks_and_closing(raw, pages):
    # a tick is one stroked path of two segments; a box is a stroked rectangle
    ticks = re.findall(rb"\nn [-\d. ]+ m [-\d. ]+ l [-\d. ]+ l\s*S\n", raw)
    boxes = re.findall(rb" re S\n", raw)
    assert (len(ticks), len(boxes)) == (2, 3)
    last = "".join(pages[-1])
    assert "经办人：" in last and "申请人（签字）：" in last and "日期：" in last
    assert "安康市汉滨区关庙镇人民政府（盖章）" in last and "2024年5月6日" in last


def test_uses_the_cid_font_and_embeds_nothing(raw):
    """A server-side PDF must embed its font or use a CID font: STSong-Light is one of the Adobe-GB1 CID fonts
    every reader substitutes with its own Song face, so nothing is embedded and no font ships with the server."""
    assert set(re.findall(rb"/BaseFont /([\w-]+)", raw)) == {b"STSong-Light"}
    assert b"/Encoding /UniGB-UCS2-H" in raw
    assert b"/FontFile" not in raw


def test_watermark_only_when_asked():
    plain = page_strings(
        pdf.render(notice(watermark="", blocks=[Para("正文")]), invariant=True, compress=False)
    )
    assert "演示数据" not in "".join(plain[0])
    marked = page_strings(
        pdf.render(notice(watermark="模拟核对结果", blocks=[]), invariant=True, compress=False)
    )
    assert "模拟核对结果" in marked[0]


def test_invariant_output_is_deterministic():
    assert pdf.render(notice(), invariant=True) == pdf.render(notice(), invariant=True)
    assert pdf.render(notice(), invariant=True) != pdf.render(
        notice(case_no="HB-2024-000124"), invariant=True
    )


def test_characters_outside_the_font_become_the_geta_mark():
    assert pdf.printable("𠀀三\u00a0A\u200b☐¥") == "〓三 A□￥"
    strings = page_strings(
        pdf.render(notice(blocks=[Para("王𠀀明", indent=False)]), invariant=True, compress=False)
    )
    assert "王〓明" in strings[0]


@pytest.mark.parametrize("where", ["table", "fields", "checklist"])
def test_a_cell_taller_than_a_page_is_split_not_lost(where):
    narrative = "入户调查情况记录。" * 600  # an 调查 narrative: several pages inside one table row
    block = {
        "table": Table(["项目", "情况"], [["调查情况", narrative], ["结论", "符合"]]),
        "fields": Fields([("调查情况", narrative), ("结论", "符合")], columns=1),
        "checklist": Checklist([(narrative, True), ("结论", False)]),
    }[where]
    pages = page_strings(pdf.render(notice(blocks=[block]), invariant=True, compress=False))
    assert len(pages) >= 3
    furniture = {"安康市汉滨区关庙镇人民政府", "案件编号：HB-2024-000123", "演示数据", "项目", "情况"}
    body = [s for page in pages for s in page if s not in furniture and not s.startswith(("核验码：", "第 "))]
    text = "".join(body)  # a sentence broken across pages reads on without page furniture and repeated header
    assert text.count("入户调查情况记录。") == 600 and "结论" in text


def test_lazy_translations_print_as_text():
    from django.utils.translation import gettext_lazy

    lazy = gettext_lazy("受理回执")
    doc = notice(
        title=lazy, authority=gettext_lazy("关庙镇人民政府"), watermark=lazy, blocks=[Table([lazy], [[lazy]])]
    )
    text = "".join(page_strings(pdf.render(doc, invariant=True, compress=False))[0])
    assert text.count("受理回执") == 4 and "关庙镇人民政府（盖章）" in text


def test_blocks_are_validated():
    with pytest.raises(ValueError, match="row 2 has 1 cells"):
        Table(["a", "b"], [["1", "2"], ["3"]])
    with pytest.raises(ValueError):
        Table(["a"], [], col_widths=[1, 2])
    with pytest.raises(ValueError):
        Fields([("a", "b")], columns=3)


def test_response_headers():
    response = pdf.render_response(notice(blocks=[]), "受理通知书 HB-2024/000123")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "inline; filename*=UTF-8''%E5%8F%97%E7%90%86%E9%80%9A%E7%9F%A5%E4%B9%A6%20HB-2024000123.pdf"
    )
    assert response["Cache-Control"] == "no-store"
    assert response.content.startswith(b"%PDF-")


def test_verification_code_is_keyed_stable_and_typable():
    code = pdf.make_verification_code("notice.accept", "HB-2024-000123", "2024-05-06")
    assert re.fullmatch(
        r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}(-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}){2}", code
    )
    assert code == pdf.make_verification_code("notice.accept", "HB-2024-000123", "2024-05-06")
    assert code != pdf.make_verification_code("notice.accept", "HB-2024-000124", "2024-05-06")
    assert pdf.make_verification_code("a", "bc") != pdf.make_verification_code("ab", "c")
    assert not set("01OIL") & set(pdf.CODE_ALPHABET) and len(set(pdf.CODE_ALPHABET)) == 31
    codes = {pdf.make_verification_code("case", str(i)) for i in range(2000)}
    assert len(codes) == 2000
    assert set("".join(codes).replace("-", "")) == set(pdf.CODE_ALPHABET)


def test_verification_code_comes_from_the_keyed_provider(monkeypatch):
    from jiuzhu.core import crypto

    seen = []
    monkeypatch.setattr(crypto, "blind_index", lambda value, *, purpose: seen.append(purpose) or "0" * 32)
    assert pdf.make_verification_code("x") == "2222-2222-2222"
    assert seen == ["document.verification"]


def test_normalise_verification_code():
    code = pdf.make_verification_code("notice.accept", "HB-2024-000123")
    typed = [
        code,
        code.lower(),
        code.replace("-", ""),
        " ".join(code.replace("-", "")),
        code.lower().replace("-", " — "),
    ]
    typed.append(code.translate({ord(c): ord(c) + 0xFEE0 for c in code}))  # full-width, as an IME types it
    assert {pdf.normalise_verification_code(t) for t in typed} == {code}
    for bad in ["", "K7Q9-4MXT-2PH", "K7Q9-4MXT-2PHDX", "K7Q9-4MXT-2PH0", "K7Q9-4MXT-2PHI", "案件-4MXT-2PHD"]:
        with pytest.raises(ValueError):
            pdf.normalise_verification_code(bad)
