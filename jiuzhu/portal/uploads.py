"""Files sent to the portal: limits applied while the request is read, then every file checked before anything
is stored.

Django does not cap the size of uploaded files (``DATA_UPLOAD_MAX_MEMORY_SIZE`` counts the other fields only),
and the CSRF check reads the body before any view runs. So the portal's upload views are wrapped by
``upload_view``: a request whose declared length exceeds ``MAX_BODY`` is refused with 413 before a byte is read,
then the CSRF check runs with ``CappedUploadHandler`` first in the chain: it passes on at most ``MAX_BYTES + 1``
bytes of each file (enough for ``storage.check`` to refuse it by name as too large) and drops files beyond the
eleventh, so no request can fill the disk with temporary files.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import (
    FileUploadHandler,
    MemoryFileUploadHandler,
    SkipFile,
    TemporaryFileUploadHandler,
)
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from jiuzhu.cases import storage

MAX_FILES = storage.MAX_FILES
MAX_BYTES = storage.MAX_BYTES
MAX_BODY = MAX_FILES * MAX_BYTES + 2 * 1024 * 1024  # ten full files and the form's text


class CappedUploadHandler(FileUploadHandler):
    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.files = 0
        self.seen = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.files += 1
        self.seen = 0
        if self.files > MAX_FILES + 1:  # one more than allowed is kept, so the form can say "at most 10"
            raise SkipFile()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        room = MAX_BYTES + 1 - self.seen
        if room <= 0:
            return None  # the rest of an oversized file goes nowhere
        chunk = raw_data[:room]
        self.seen += len(chunk)
        return chunk

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) builds the file object


def body_too_large(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > MAX_BODY


def upload_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """CSRF-protected like every POST, but the body limits are set up before the CSRF check reads the body."""
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            if body_too_large(request):
                return render(request, "portal/message.html", {
                    "title": _("提交的内容过大"),
                    "message": _("所有文件合计不能超过 %(total)d MB，单个文件不能超过 %(one)d MB。请压缩图片或分页扫描后重新填写提交。")
                    % {"total": MAX_BODY // 2**20, "one": MAX_BYTES // 2**20}, "status": 413,
                }, status=413)  # fmt: skip
            request.upload_handlers = [
                CappedUploadHandler(request), MemoryFileUploadHandler(request), TemporaryFileUploadHandler(request),
            ]  # fmt: skip
        return protected(request, *args, **kwargs)

    return wrapper


def check_files(files: list[UploadedFile]) -> tuple[list[storage.Checked], list[str]]:
    """Every file checked (type by content, size, completeness) before any is stored: all or nothing."""
    if len(files) > MAX_FILES:
        return [], [_("最多上传 %(n)d 个文件。") % {"n": MAX_FILES}]
    checked, errors = [], []
    for f in files:
        name = f.name or "file"
        try:
            if f.size is not None and f.size > MAX_BYTES:
                raise storage.UploadRefused(
                    _("文件“%(name)s”超过 %(mb)d MB，请压缩或分页扫描后再上传。") % {"name": name, "mb": MAX_BYTES // 2**20})
            checked.append(storage.check(name, f.read()))
        except storage.UploadRefused as e:
            errors.append(str(e))
    return checked, errors
