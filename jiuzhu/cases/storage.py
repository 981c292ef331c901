"""Case attachments (materials, signed forms, scans): checked, then kept encrypted (SM4-GCM) under
``VAR_DIR/attachments`` with a random name; the database holds the name, size, type and SHA-256.

Accepted: PDF, JPEG and PNG up to ``MAX_BYTES``, recognised by their first bytes — the file name and the
browser's content type are not trusted. Anything else is refused with a message the applicant can act on.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from jiuzhu.core import crypto

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 10
KINDS = {b"%PDF-": ("application/pdf", ".pdf"), b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
         b"\x89PNG\r\n\x1a\n": ("image/png", ".png")}  # fmt: skip


class UploadRefused(ValueError):
    pass


@dataclass
class Checked:
    data: bytes
    filename: str
    content_type: str
    sha256: str


def root() -> Path:
    d = Path(settings.VAR_DIR) / "attachments"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _clean_name(name: str, ext: str) -> str:
    name = unicodedata.normalize("NFC", Path(name or "").name)
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"/\\|?*&;`$')[:80].strip() or "file"
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem}{ext}"


def check(name: str, data: bytes) -> Checked:
    if not data:
        raise UploadRefused(_("文件“%(name)s”是空的。") % {"name": name})
    if len(data) > MAX_BYTES:
        raise UploadRefused(_("文件“%(name)s”超过 %(mb)d MB，请压缩或分页扫描后再上传。") % {"name": name, "mb": MAX_BYTES // 2**20})
    for magic, (ctype, ext) in KINDS.items():
        if data.startswith(magic):
            if ctype == "application/pdf" and b"%%EOF" not in data[-2048:]:
                raise UploadRefused(_("文件“%(name)s”不是完整的 PDF（可能未上传完）。") % {"name": name})
            return Checked(data, _clean_name(name, ext), ctype, hashlib.sha256(data).hexdigest())
    raise UploadRefused(_("文件“%(name)s”不是 PDF、JPG 或 PNG 格式（按文件内容判断，改扩展名无效）。") % {"name": name})


def save(checked: Checked) -> str:
    """Encrypt and write; returns the storage name."""
    storage_name = secrets.token_hex(16)
    token = crypto.encrypt(base64.b64encode(checked.data).decode("ascii"), context=f"attachment:{storage_name}")
    (root() / storage_name).write_text(token, encoding="ascii")
    return storage_name


def load(storage_name: str) -> bytes:
    token = (root() / storage_name).read_text(encoding="ascii")
    return base64.b64decode(crypto.decrypt(token, context=f"attachment:{storage_name}"))


def remove(storage_name: str) -> None:
    (root() / storage_name).unlink(missing_ok=True)
