"""Faults injected on the server side: an HTTP proxy on 127.0.0.1 in front of the moto server.

The handlers under test talk to the proxy (AWS_ENDPOINT_URL), never knowing it is there; their boto3
clients are the real ones. Each rule matches one AWS operation, by the service's signing name (from the
SigV4 Authorization header) and the operation name (X-Amz-Target for JSON protocols, Action= for query
protocols), and then, for the matching calls it applies to:
- "throttle": answers HTTP 400 with the service's throttling error (Throttling / ThrottlingException);
- "error500": answers HTTP 500 InternalFailure;
- "duplicate": forwards the request twice (an SQS SendMessage then leaves two copies of the message,
  which is what at-least-once delivery looks like to the consumer), answers with the first response;
- "delay": waits delay_seconds, then forwards;
- "limit_exceeded": answers HTTP 409 LimitExceeded (IAM's answer when a principal's managed-policy quota
  is full: moto does not enforce that quota);
- "access_denied": answers HTTP 403 AccessDenied (a permission the caller lacks).
Everything else is forwarded unchanged. The proxy counts calls per operation, faulted or not.

    proxy = FaultProxy(moto_url).start()   # or the `fault_proxy` fixture of tests/conftest.py
    proxy.add(FaultRule("iam", "GetAccountAuthorizationDetails", "throttle", times=3))
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("throttle", "error500", "duplicate", "delay", "limit_exceeded", "access_denied")
# fault -> (HTTP status, error code of the query protocol, error code of the JSON protocols)
_ERRORS = {
    "throttle": (400, "Throttling", "ThrottlingException"),
    "error500": (500, "InternalFailure", "InternalFailure"),
    "limit_exceeded": (409, "LimitExceeded", "LimitExceededException"),
    "access_denied": (403, "AccessDenied", "AccessDeniedException"),
}
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
# Services whose API is JSON over POST with X-Amz-Target (the rest used here speak the query protocol).
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


@dataclass
class FaultRule:
    """Apply `fault` to calls of `service`:`operation`, after letting the first `skip` through, at most
    `times` times (None: every matching call)."""

    service: str
    operation: str
    fault: str
    times: int | None = None
    skip: int = 0
    delay_seconds: float = 0.0
    applied: int = 0
    seen: int = 0

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"fault {self.fault!r} is not one of {', '.join(FAULTS)}")

    def claims(self, service: str, operation: str) -> bool:
        """True (and counted) when this call gets the fault."""
        if (service, operation) != (self.service, self.operation):
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times is not None and self.applied >= self.times:
            return False
        self.applied += 1
        return True


def call_identity(headers: dict[str, str], body: bytes) -> tuple[str, str]:
    """(signing service, operation) of one AWS API request."""
    match = _CREDENTIAL_SCOPE.search(headers.get("authorization", ""))
    service = match.group(1) if match else ""
    target = headers.get("x-amz-target", "")
    if target:
        return service, target.rsplit(".", 1)[-1]
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    return service, form.get("Action", [""])[0]


def _error_response(service: str, fault: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
    """(status, content type, body) of the error a service sends for `fault`."""
    status, code, json_code = _ERRORS[fault]
    if headers.get("x-amz-target"):
        body = json.dumps({"__type": json_code, "message": f"injected {fault}"}).encode()
        return status, headers.get("content-type", "application/x-amz-json-1.0"), body
    xml = (
        f"<ErrorResponse><Error><Type>{'Receiver' if status == 500 else 'Sender'}</Type><Code>{code}</Code>"
        f"<Message>injected {fault} ({service})</Message></Error><RequestId>fault-proxy</RequestId>"
        "</ErrorResponse>"
    )
    return status, "text/xml", xml.encode()


class FaultProxy:
    """The proxy server; see the module docstring."""

    def __init__(self, upstream: str) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self._upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str]] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def count(self, service: str, operation: str) -> int:
        """How many calls of service:operation reached the proxy."""
        with self._lock:
            return self.calls[(service, operation)]

    def _fault_for(self, service: str, operation: str) -> FaultRule | None:
        with self._lock:
            self.calls[(service, operation)] += 1
            for rule in self._rules:
                if rule.claims(service, operation):
                    return rule
        return None

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            forwarded = {key: value for key, value in headers.items() if key.lower() not in _HOP_BY_HOP}
            forwarded["Host"] = f"{self._upstream[0]}:{self._upstream[1]}"
            connection.request(method, path, body=body or None, headers=forwarded)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {key.lower(): value for key, value in self.headers.items()}
                service, operation = call_identity(headers, body)
                rule = proxy._fault_for(service, operation)
                if rule is not None and rule.fault in _ERRORS:
                    status, content_type, payload = _error_response(service, rule.fault, headers)
                    self._reply(status, [("Content-Type", content_type)], payload)
                    return
                if rule is not None and rule.fault == "delay":
                    time.sleep(rule.delay_seconds)
                status, response_headers, payload = proxy._forward(
                    self.command, self.path, dict(self.headers.items()), body
                )
                if rule is not None and rule.fault == "duplicate":
                    proxy._forward(self.command, self.path, dict(self.headers.items()), body)
                self._reply(status, response_headers, payload)

            def _reply(self, status: int, headers: list, payload: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        return Handler
