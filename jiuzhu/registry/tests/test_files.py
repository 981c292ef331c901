"""SECURITY FILE-UP: every file in the hostile corpus is refused with a clear Chinese message in ≤ 2 s, before
any spreadsheet parser sees it; ordinary files pass and get their encoding detected."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from jiuzhu.core.files import RejectedFile, check_upload, detect_csv_encoding, display_name

from . import importkit as kit

LIMIT = 20 * 1024 * 1024
CJK = re.compile(r"[\u4e00-\u9fff]")

# builder, expected code, a word the message must contain
CORPUS = [
    (kit.zip_bomb, {"zip_bomb", "zip_ratio"}, "压缩炸弹"),
    (kit.lying_zip_bomb, {"bad_zip"}, "损坏"),
    (kit.nested_zip, {"nested_zip"}, "压缩包"),
    (kit.billion_laughs, {"xml_dtd"}, "实体"),
    (kit.xxe, {"xml_dtd"}, "外部实体"),
    (kit.zip_slip, {"zip_path"}, "路径"),
    (kit.absolute_member, {"zip_path"}, "路径"),
    (kit.sparse_sheet, {"sheet_rows", "sheet_cols", "sheet_cells"}, "上限"),
    (kit.missing_refs, {"sheet_refs"}, "另存"),
    (kit.renamed_binary, {"not_zip"}, "改了扩展名"),
    (kit.xlsm, {"macro"}, "宏"),
    (kit.xlsm_renamed, {"macro"}, "宏"),
    (kit.xls, {"xls"}, ".xls"),
    (kit.xls_renamed, {"ole"}, ".xls"),
    (kit.csv_nul, {"csv_nul"}, "空字符"),
    (kit.csv_gbk, {"csv_encoding"}, "编码"),
    (kit.csv_mixed, {"csv_mixed"}, "编码混杂"),
    (lambda d: kit.oversize(d, LIMIT), {"too_large"}, "超过上限"),
    (kit.zip_many_entries, {"zip_entries"}, "文件数"),
    (kit.utf16_xml, {"xml_encoding"}, "UTF-8"),
    (lambda d: kit.r_not_first(d, far=True), {"sheet_rows", "sheet_cols"}, "上限"),
    (kit.wide_rectangle, {"sheet_cells"}, "范围过大"),
]


@pytest.mark.parametrize(("build", "codes", "word"), CORPUS, ids=[f"{i}-{c[1] and sorted(c[1])[0]}" for i, c in enumerate(CORPUS)])
def test_hostile_file_refused_quickly_with_a_clear_message(tmp_path: Path, settings, build, codes, word) -> None:
    settings.IMPORT_MAX_BYTES = LIMIT
    path = build(tmp_path)
    start = time.perf_counter()
    with pytest.raises(RejectedFile) as info:
        check_upload(path, path.name)
    elapsed = time.perf_counter() - start
    assert elapsed <= 2.0, f"{path.name} took {elapsed:.2f} s"
    assert info.value.code in codes, (info.value.code, info.value.message)
    assert word in info.value.message
    assert CJK.search(info.value.message)


def test_nothing_is_extracted_from_a_zip_slip_file(tmp_path: Path) -> None:
    path = kit.zip_slip(tmp_path)
    with pytest.raises(RejectedFile):
        check_upload(path, path.name)
    assert not Path("/tmp/evil.sh").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.xlsx", "zip_slip.xlsx"]


def test_unusual_but_legal_sheet_markup_passes(tmp_path: Path) -> None:
    path = kit.r_not_first(tmp_path)
    assert check_upload(path, path.name).kind == "xlsx"


def test_wrong_extensions_refused(tmp_path: Path) -> None:
    path = kit.write_xlsx(tmp_path / "ok.xlsx", kit.household("1", "610902100001"))
    for name, code in (("a.xlsb", "xlsb"), ("a.ods", "extension"), ("a.exe", "extension"), ("a", "extension")):
        with pytest.raises(RejectedFile) as info:
            check_upload(path, name)
        assert info.value.code == code


def test_xlsx_renamed_to_csv_refused(tmp_path: Path) -> None:
    path = kit.write_xlsx(tmp_path / "ok.xlsx", kit.household("1", "610902100001"))
    with pytest.raises(RejectedFile) as info:
        check_upload(path, "data.csv")
    assert info.value.code == "csv_binary"


def test_an_ordinary_workbook_passes_and_is_hashed(tmp_path: Path) -> None:
    path = kit.write_xlsx(tmp_path / "ok.xlsx", kit.household("1", "610902100001") * 50)
    checked = check_upload(path, "户籍 名单.xlsx")
    assert checked.kind == "xlsx"
    assert re.fullmatch(r"[0-9a-f]{64}", checked.sha256)
    assert re.fullmatch(r"[0-9a-f]{64}", checked.sm3)
    assert checked.sha256 != checked.sm3


@pytest.mark.parametrize(("encoding", "expected"), [("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8"), ("gbk", "gb18030"),
                                                    ("gb18030", "gb18030")])  # fmt: skip
def test_csv_encodings_detected(tmp_path: Path, encoding: str, expected: str) -> None:
    path = kit.write_csv(tmp_path / "a.csv", kit.household("1", "610902100001"), encoding=encoding)
    assert check_upload(path, "a.csv").encoding == expected


def test_bom_followed_by_gbk_is_mixed() -> None:
    with pytest.raises(RejectedFile) as info:
        detect_csv_encoding(b"\xef\xbb\xbf" + "姓名\n张三\n".encode("gbk"))
    assert info.value.code == "csv_mixed"


def test_display_name_is_safe() -> None:
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("C:\\Users\\张三\\名单.xlsx") == "名单.xlsx"
    assert display_name("a\r\nb\x00.xlsx") == "ab.xlsx"
    assert display_name("") == "upload"
    assert len(display_name("很" * 500 + ".xlsx")) == 120
