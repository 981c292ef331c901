"""Reading back what ``core.pdf`` wrote, for tests: no PDF parser is a dependency, so this reads ReportLab's
output directly — the page tree, each page's content stream (compressed or not) and the strings it shows,
decoding the CID font's UTF-16BE literals. Checks that cannot hold (no CID font, a ``TJ`` array this reader
does not decode) fail loudly rather than reading nothing."""

from __future__ import annotations

import base64
import re
import zlib

_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(literal: bytes) -> bytes:
    def one(m: re.Match[bytes]) -> bytes:
        esc = m.group(1)
        return bytes([int(esc, 8)]) if esc[:1].isdigit() else _ESCAPES.get(esc, esc)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def page_strings(data: bytes) -> list[list[str]]:
    """Every string shown on each page, in page order."""
    objects = {int(n): body for n, body in re.findall(rb"(?ms)^(\d+) 0 obj\r?\n(.*?)\r?\nendobj", data)}
    cid = {m.group(1) for body in objects.values() if b"/BaseFont /STSong-Light" in body and b"/Type0" in body
           for m in [re.search(rb"/Name /(\w+)", body[body.rindex(b"/Encoding"):])] if m}  # fmt: skip
    kids = re.search(rb"/Kids \[([^\]]*)\]", data)
    assert kids and cid, "not a ReportLab PDF with the CID font"
    pages = []
    for page_id in map(int, re.findall(rb"(\d+) 0 R", kids.group(1))):
        contents = re.search(rb"/Contents (\d+) 0 R", objects[page_id])
        assert contents
        head, rest = objects[int(contents.group(1))].split(b"stream", 1)
        stream = rest.lstrip(b"\r\n").rsplit(b"endstream", 1)[0].rstrip(b"\r\n")
        if b"/ASCII85Decode" in head:
            stream = base64.a85decode(stream.strip(), adobe=True)
        if b"/FlateDecode" in head:
            stream = zlib.decompress(stream)
        assert b" TJ" not in stream  # only Tj shows are decoded below
        font, shown = b"", []
        for m in re.finditer(rb"/(\w+) [\d.]+ Tf|\(((?:\\.|[^\\()])*)\) Tj", stream, flags=re.S):
            if m.group(1):
                font = m.group(1)
                continue
            raw = _unescape(m.group(2))
            shown.append(raw.decode("utf-16-be") if font in cid else raw.decode("latin-1"))
        pages.append(shown)
    return pages


def text_of(data: bytes) -> str:
    """All shown strings, one per line."""
    return "\n".join(s for page in page_strings(data) for s in page)
