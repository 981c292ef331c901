"""A fake departmental service for the tests: a real HTTP(S) server on 127.0.0.1 (an ephemeral port) that answers
the verification query of ``http.py`` the way a department's exchange platform would, or fails in a chosen way.

Modes (``dept.mode``, changeable while it runs):
  normal          the records in ``dept.records`` (blind index -> list of record dicts) for the persons asked
  slow            sleeps ``dept.delay`` seconds before answering normally
  drip            sends the headers at once, then one byte of the body every ``dept.delay`` seconds
  500             HTTP 500
  400             HTTP 400
  malformed       a truncated JSON document
  unknown_person  the normal records plus one about a person who was not asked for
  wrong_kind      the normal records plus one of a kind this source does not produce

Every request is kept (``dept.requests``: the raw body and the headers) so a test can check what was sent.
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jiuzhu.verification.sources import KINDS, SOURCES

NOT_ASKED = "f" * 32


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    path: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeDept:
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    mode: str = "normal"
    delay: float = 3.0
    tls: tuple[str, str] | None = None  # (certificate file, key file)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle --

    def start(self) -> FakeDept:
        dept = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def do_POST(self) -> None:  # noqa: N802 - the base class's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with dept._lock:
                    dept.requests.append(Received(body, dict(self.headers.items()), self.path))
                try:
                    dept._answer(self, body)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                    pass  # the client gave up (timeout): nothing to do

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if self.tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeDept:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}/exchange/query"

    @property
    def hits(self) -> int:
        with self._lock:
            return len(self.requests)

    # -- answers --

    def _records_for(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for person in query.get("persons") or []:
            for r in self.records.get(person, []):
                out.append({"person": person, **r})
        return out

    def _answer(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        mode = self.mode
        if mode in ("500", "400"):
            return self._send(h, int(mode), b'{"error": "failed"}')
        if mode == "malformed":
            return self._send(h, 200, b'{"records": [{"kind": "wage", "pers')
        query = json.loads(body)
        records = self._records_for(query)
        if mode == "slow":
            self._stop.wait(self.delay)
        elif mode == "unknown_person":
            records.append({"kind": SOURCES[query["source"]].kinds[0], "person": NOT_ASKED, "period": "2026-02-01",
                            "amount": "100.00"})  # fmt: skip
        elif mode == "wrong_kind":
            other = next(k for k in KINDS if k not in SOURCES[query["source"]].kinds)
            records.append({"kind": other, "person": query["persons"][0], "period": "2026-02-01", "amount": "1.00"})
        payload = json.dumps({"request_id": query.get("request_id"), "records": records}, ensure_ascii=False).encode()
        if mode == "drip":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.flush()
            for i in range(len(payload)):
                if self._stop.wait(self.delay):
                    return
                h.wfile.write(payload[i : i + 1])
                h.wfile.flush()
            return
        self._send(h, 200, payload)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, payload: bytes) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)
        h.wfile.flush()


def self_signed(directory: Any) -> tuple[str, str]:
    """A certificate for 127.0.0.1 (and its key), written to ``directory``: (certificate file, key file)."""
    import datetime as dt
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake department")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    d = Path(directory)
    cert_file, key_file = d / "dept.crt", d / "dept.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return str(cert_file), str(key_file)

