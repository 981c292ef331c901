"""Asking a department's service at run time (docs/verification-http.md): the adapter ``adapters.adapter_for``
returns for a source configured as ``settings.VERIFICATION_SOURCES[source] = {"kind": "http", "url": …}``.

``HttpSource.fetch`` POSTs one JSON request per run and source::

    {"request_id", "source", "as_of", "persons": [blind index, …], "purpose": "家庭经济状况核对",
     "case", "authorisation"}

Persons travel as the platform's keyed blind index of the ID number (``crypto.blind_index(id, purpose=
"id_number")``, HMAC-SM3): the department's exchange platform holds the same index key and matches on it. No
plaintext ID number is ever sent, logged or put in a message.

* Time: each attempt has a hard budget of ``timeout`` seconds (default 5) for connecting, sending and reading the
  whole response; a watchdog closes the socket when it runs out. A timeout is not retried (the run is
  interactive); connection errors and 5xx are retried ``retries`` times (default 2) with backoff, 4xx never. One
  ``request_id`` for all attempts of a query, so the department can de-duplicate.
* TLS: ``https`` with certificate and host-name verification always on (``ca_file`` for a private CA); plain
  ``http`` only to a loopback address (a local gateway, the tests).
* The response ``{"records": [{"kind", "person", "period", "amount", "quantity", "category", "event_date",
  "ref"}, …]}`` is checked as a whole before anything is stored: a record of a kind the source does not
  produce, about a person not asked for, with an unknown field, a bad date or amount refuses the whole response
  (``SourceUnavailable("error")``), nothing is applied.
* Valid records are stored as ``FeedRecord`` rows (no feed file) under the same ``natural_key`` as the file
  ingestion (``ingest.natural_key``), so a repeated query — or the same record in a file drop — stores nothing
  new; ``raw_enc`` is the normalised record, SM4-encrypted with context ``feed:<source>``.
* Circuit breaker per source, shared by the threads of the process: three consecutive failed queries
  (timeout, 5xx, connection error, after their retries) open it; while open ``fetch`` refuses at once
  (``SourceUnavailable("open")``) without calling out; after ``cooldown`` seconds (default 60) one trial query
  (a single attempt) is let through: success closes the breaker, failure opens it for another cooldown.
  Any HTTP answer below 500 counts as the service being reachable.
* One log line (logger ``jiuzhu.verification.http``) per attempt: source, request id, attempt, outcome, ms.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import logging
import os
import re
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.translation import gettext as _

from jiuzhu.core import crypto

from .adapters import SourceUnavailable
from .assess import Record
from .ingest import CATEGORIES, MAX_AMOUNT, MAX_QUANTITY, natural_key
from .ingest import _scrub as scrub  # masks an ID, card or phone number, as for a file drop
from .models import FeedRecord
from .sources import SOURCES

log = logging.getLogger(__name__)

PURPOSE = "家庭经济状况核对"
FAILURES_TO_OPEN = 3
BACKOFF = 0.2  # seconds before the first retry, doubled for each further one
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_RECORDS = 100_000
FIELDS = frozenset({"kind", "person", "period", "amount", "quantity", "category", "event_date", "ref"})
NEEDS_AMOUNT = frozenset({"wage", "pension", "unemployment", "fund_balance", "deposit", "securities", "insurance"})
NEEDS_EVENT_DATE = frozenset({"death", "marriage"})
CENT = Decimal("0.01")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"\d{4}-\d{2}")


# --- circuit breaker ---------------------------------------------------------------------------------------


class Breaker:
    """closed → open after ``FAILURES_TO_OPEN`` consecutive failures → half-open after the cooldown (one trial)."""

    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.state = self.CLOSED
        self.failures = 0
        self.opened_at = 0.0

    def acquire(self, cooldown: float) -> str | None:
        """``"call"`` (closed: go ahead), ``"trial"`` (the one half-open trial), or None (refuse)."""
        with self._lock:
            if self.state == self.CLOSED:
                return "call"
            if self.state == self.OPEN and time.monotonic() - self.opened_at >= cooldown:
                self.state = self.HALF_OPEN
                return "trial"
            return None

    def succeeded(self) -> None:
        with self._lock:
            self.state, self.failures = self.CLOSED, 0

    def failed(self) -> None:
        with self._lock:
            self.failures += 1
            if self.state == self.HALF_OPEN or self.failures >= FAILURES_TO_OPEN:
                self.state, self.opened_at = self.OPEN, time.monotonic()


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker(source: str) -> Breaker:
    with _breakers_lock:
        return _breakers.setdefault(source, Breaker())


def reset_breakers() -> None:
    """Forget every breaker's state (tests; an operator after fixing a source)."""
    with _breakers_lock:
        _breakers.clear()


# --- the adapter -------------------------------------------------------------------------------------------


class _Timeout(Exception):
    pass


@dataclass(frozen=True)
class Checked:
    record: Record
    ref: str
    key: str
    raw: dict[str, Any]


class HttpSource:
    def __init__(self, source: str, conf: dict[str, Any]):
        if source not in SOURCES:
            raise ImproperlyConfigured(f"VERIFICATION_SOURCES: {source!r} is not a verification source")
        url = str(conf.get("url") or "")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImproperlyConfigured(f"VERIFICATION_SOURCES[{source!r}]: url {url!r} is not an http(s) URL")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ImproperlyConfigured(f"VERIFICATION_SOURCES[{source!r}]: plain http only to a loopback address; use https")
        self.source = source
        self.conf = conf
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = float(conf.get("timeout", 5))
        self.retries = max(0, int(conf.get("retries", 2)))
        self.cooldown = float(conf.get("cooldown", 60))
        self.token_env = str(conf.get("token_env") or "")
        self.ca_file = str(conf.get("ca_file") or "")
        if self.timeout <= 0:
            raise ImproperlyConfigured(f"VERIFICATION_SOURCES[{source!r}]: timeout must be positive")

    def fetch(self, persons: list[str], on: dt.date, *, context: dict[str, Any]) -> list[Record]:
        checked = self.ask(persons, on, context=context)
        store(self.source, checked)
        return [c.record for c in checked]

    def ask(self, persons: list[str], on: dt.date, *, context: dict[str, Any]) -> list[Checked]:
        """The query and the checked answer, not stored: ``fetch`` without the database, so that ``services._run``
        can ask several departments at once from worker threads and store each answer from its own thread."""
        asked = list(dict.fromkeys(persons))
        if not asked:
            return []
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json",
                   "User-Agent": "jiuzhu-verification"}  # fmt: skip
        if self.token_env:
            token = os.environ.get(self.token_env, "")
            if not token:
                raise SourceUnavailable("error", _("访问令牌未配置（环境变量 %(env)s），未查询") % {"env": self.token_env})
            headers["Authorization"] = f"Bearer {token}"
        request_id = uuid.uuid4().hex
        headers["X-Request-Id"] = request_id
        body = json.dumps({"request_id": request_id, "source": self.source, "as_of": on.isoformat(), "persons": asked,
                           "purpose": PURPOSE, "case": str(context.get("case") or ""),
                           "authorisation": str(context.get("authorisation") or "")},
                          ensure_ascii=False).encode("utf-8")  # fmt: skip
        data = self._call(body, headers, request_id, context.get("run"))
        return parse_response(self.source, data, set(asked), request_id)

    # -- transport --

    def _call(self, body: bytes, headers: dict[str, str], request_id: str, run: Any) -> bytes:
        br = breaker(self.source)
        grant = br.acquire(self.cooldown)
        if grant is None:
            log.warning("verification http source=%s request_id=%s run=%s status=open ms=0", self.source, request_id, run)
            raise SourceUnavailable("open", _("该来源连续失败，已暂停查询（熔断中），稍后自动重试"))
        attempts = 1 if grant == "trial" else 1 + self.retries
        failure: SourceUnavailable | None = None
        settled = False
        try:
            for attempt in range(1, attempts + 1):
                if attempt > 1:
                    time.sleep(BACKOFF * 2 ** (attempt - 2))
                t0 = time.perf_counter()
                try:
                    status, data = self._post(body, headers)
                except _Timeout:
                    self._log(request_id, run, attempt, "timeout", t0)
                    failure = SourceUnavailable("timeout", _("%(s)s 秒内未返回") % {"s": f"{self.timeout:g}"})
                    break  # not retried: the run is interactive
                except ssl.SSLCertVerificationError:
                    self._log(request_id, run, attempt, "tls_error", t0)
                    failure = SourceUnavailable("error", _("对方证书验证失败"))
                    break
                except (OSError, http.client.HTTPException) as exc:
                    self._log(request_id, run, attempt, f"connection_error:{type(exc).__name__}", t0)
                    failure = SourceUnavailable("error", _("连接失败（%(e)s）") % {"e": type(exc).__name__})
                    continue
                self._log(request_id, run, attempt, str(status), t0)
                if status >= 500:
                    failure = SourceUnavailable("error", _("对方服务出错（HTTP %(s)d）") % {"s": status})
                    continue
                br.succeeded()
                settled = True
                if status != 200:
                    raise SourceUnavailable("error", _("对方拒绝了查询（HTTP %(s)d）") % {"s": status})
                return data
            br.failed()
            settled = True
            assert failure is not None
            raise failure
        finally:
            if not settled:  # an unexpected exception: never leave a half-open trial hanging
                br.failed()

    def _log(self, request_id: str, run: Any, attempt: int, outcome: str, t0: float) -> None:
        ms = int((time.perf_counter() - t0) * 1000)
        level = logging.INFO if outcome == "200" else logging.WARNING
        log.log(level, "verification http source=%s request_id=%s run=%s attempt=%d status=%s ms=%d",
                self.source, request_id, run, attempt, outcome, ms)  # fmt: skip

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """One attempt within ``timeout`` seconds in all: (status, body), or _Timeout, OSError, HTTPException."""
        deadline = time.monotonic() + self.timeout
        conn: http.client.HTTPConnection
        if self.https:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=_tls(self.ca_file))
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        expired = threading.Event()
        watchdog: threading.Timer | None = None
        try:
            try:
                conn.connect()
            except TimeoutError as exc:
                raise _Timeout from exc
            sock = conn.sock
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Timeout

            def expire() -> None:
                expired.set()
                try:
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)  # unblocks the reading thread
                except OSError:
                    pass

            watchdog = threading.Timer(remaining, expire)
            watchdog.daemon = True
            watchdog.start()
            try:
                conn.request("POST", self.path, body=body, headers=headers)
                resp = conn.getresponse()
                chunks: list[bytes] = []
                size = 0
                while chunk := resp.read1(65536):
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise http.client.HTTPException("response too large")
                    chunks.append(chunk)
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                if expired.is_set() or isinstance(exc, TimeoutError):
                    raise _Timeout from exc
                raise
            if expired.is_set():  # the watchdog cut a body short
                raise _Timeout
            return resp.status, b"".join(chunks)
        finally:
            if watchdog is not None:
                watchdog.cancel()
            conn.close()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=8)
def _tls(ca_file: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_file or None)  # verifies the certificate and the host name
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


# --- the response ------------------------------------------------------------------------------------------


class _Refused(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Refused(_("JSON 对象中有重复的字段"))
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise _Refused(_("JSON 中有非法数值 %(c)s") % {"c": name})


def parse_response(source: str, data: bytes, asked: set[str], request_id: str = "") -> list[Checked]:
    """Every record of the response checked, or ``SourceUnavailable("error")`` for the whole response. Messages
    name the record number and the field, never a value (they end up in the run's log)."""
    try:
        doc = json.loads(data.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant,
                         object_pairs_hook=_no_duplicates)  # fmt: skip
    except _Refused as exc:
        raise SourceUnavailable("error", _("响应格式错误：%(e)s，整个响应未采用") % {"e": exc}) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SourceUnavailable("error", _("响应不是有效的 JSON，整个响应未采用")) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("records"), list):
        raise SourceUnavailable("error", _("响应缺少 records 列表，整个响应未采用"))
    if request_id and doc.get("request_id", request_id) != request_id:
        raise SourceUnavailable("error", _("响应的 request_id 与查询不符，整个响应未采用"))
    if len(doc["records"]) > MAX_RECORDS:
        raise SourceUnavailable("error", _("响应记录过多，整个响应未采用"))
    out: list[Checked] = []
    seen: set[str] = set()
    for i, item in enumerate(doc["records"], start=1):
        try:
            c = check_record(source, item, asked)
        except _Refused as exc:
            raise SourceUnavailable("error", _("第 %(i)d 条记录%(e)s，整个响应未采用") % {"i": i, "e": exc}) from None
        if c.key not in seen:  # the same record twice in one answer is one record
            seen.add(c.key)
            out.append(c)
    return out


def check_record(source: str, item: Any, asked: set[str]) -> Checked:
    if not isinstance(item, dict):
        raise _Refused(_("不是对象"))
    unknown = set(item) - FIELDS
    if unknown:
        raise _Refused(_("有 %(n)d 个未约定的字段") % {"n": len(unknown)})  # names not echoed: they could be anything
    kind = item.get("kind")
    if not isinstance(kind, str) or kind not in SOURCES[source].kinds:
        raise _Refused(_("的类别（kind）不是本来源提供的记录类别"))
    person = item.get("person")
    if not isinstance(person, str) or person not in asked:
        raise _Refused(_("的人员不是本次查询的人员"))
    period = _date(item.get("period"), "period", month_ok=True)
    if period is None:
        raise _Refused(_("缺少 period"))
    event_date = _date(item.get("event_date"), "event_date")
    amount = _decimal(item.get("amount"), "amount", MAX_AMOUNT)
    quantity = _decimal(item.get("quantity"), "quantity", MAX_QUANTITY)
    category = _text(item.get("category"), "category", 24)
    ref = _text(item.get("ref"), "ref", 64)
    if category and category not in CATEGORIES.get(kind, ()):
        raise _Refused(_("的 category 不是 %(k)s 的有效取值") % {"k": kind})
    if kind in NEEDS_AMOUNT and amount is None:
        raise _Refused(_("缺少 amount"))
    if kind in NEEDS_EVENT_DATE and event_date is None:
        raise _Refused(_("缺少 event_date"))
    key = natural_key(source, person, (kind, category, amount, quantity, event_date, period, ref))
    raw = {"kind": kind, "person": person, "period": period.isoformat(),
           "amount": None if amount is None else str(amount), "quantity": None if quantity is None else str(quantity),
           "category": category, "event_date": event_date.isoformat() if event_date else None, "ref": ref}  # fmt: skip
    return Checked(Record(source, kind, person, period, amount, quantity, category, event_date, ref), ref, key, raw)


def _date(value: Any, name: str, *, month_ok: bool = False) -> dt.date | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        if _DAY.fullmatch(value):
            d = dt.date.fromisoformat(value)
        elif month_ok and _MONTH.fullmatch(value):
            d = dt.date(int(value[:4]), int(value[5:7]), 1)
        else:
            raise ValueError
    except ValueError:
        raise _Refused(_("的 %(f)s 不是有效日期（应为 YYYY-MM-DD）") % {"f": name}) from None
    if not 1900 <= d.year <= 2100:
        raise _Refused(_("的 %(f)s 不在合理范围内") % {"f": name})
    return d


def _decimal(value: Any, name: str, limit: Decimal) -> Decimal | None:
    if value is None:
        return None
    bad = _Refused(_("的 %(f)s 不是有效金额或数量（非负、最多两位小数）") % {"f": name})
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise bad
    try:
        d = Decimal(value.strip() if isinstance(value, str) else value)
        if not d.is_finite() or d < 0 or d >= limit or d != d.quantize(CENT):
            raise bad
        return d.quantize(CENT)
    except InvalidOperation:
        raise bad from None


def _text(value: Any, name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise _Refused(_("的 %(f)s 不是不超过 %(n)d 个字符的文本") % {"f": name, "n": limit})
    return scrub(value.strip())


# --- storing -----------------------------------------------------------------------------------------------


def store(source: str, checked: list[Checked]) -> int:
    """Store the records not stored yet (by natural key); returns how many are new. All or nothing."""
    from jiuzhu.registry.models import Person

    if not checked:
        return 0
    keys = [c.key for c in checked]
    stored = set(FeedRecord.objects.filter(source=source, natural_key__in=keys).values_list("natural_key", flat=True))
    new = [c for c in checked if c.key not in stored]
    if not new:
        return 0
    areas = dict(Person.objects.filter(id_number_bi__in={c.record.person for c in new})
                 .values_list("id_number_bi", "area_code"))  # fmt: skip
    rows = [FeedRecord(source=source, kind=c.record.kind, person_bi=c.record.person, area_code=areas.get(c.record.person, ""),
                       amount=c.record.amount, quantity=c.record.quantity, category=c.record.category,
                       event_date=c.record.event_date, period=c.record.period, ref=c.ref, natural_key=c.key,
                       raw_enc=crypto.encrypt(json.dumps(c.raw, ensure_ascii=False, separators=(",", ":")),
                                              context=f"feed:{source}"))
            for c in new]  # fmt: skip
    with transaction.atomic():
        FeedRecord.objects.bulk_create(rows, ignore_conflicts=True)  # a concurrent query stored one: fine
    return len(rows)
