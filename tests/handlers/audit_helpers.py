"""Helpers of the daily audit tests (H-2, H-5): a server-side pager for GetAccountAuthorizationDetails,
Lambda contexts whose time runs out, and a driver that delivers the continuation queue's messages the way
the SQS event source mapping does.

moto answers GetAccountAuthorizationDetails in one page whatever MaxItems says. PagingProxy is the fault
proxy (tests/fault_injection.py) that also pages that operation on the server side, as IAM does: at most
`page_size` entries per answer (IAM may return fewer than MaxItems), IsTruncated and an opaque Marker. The
handler's boto3 client is the real one and never knows.
"""

from __future__ import annotations

import os
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from handler_helpers import Monitoring

from fault_injection import FaultProxy, _error_response, call_identity

_LISTS = {
    "LocalManagedPolicy": ("Policies", "Arn"),
    "Group": ("GroupDetailList", "GroupName"),
    "Role": ("RoleDetailList", "RoleName"),
    "User": ("UserDetailList", "UserName"),
}
_IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class PagingProxy(FaultProxy):
    """A FaultProxy that also pages GetAccountAuthorizationDetails (one entity filter per request)."""

    def __init__(self, upstream: str, page_size: int = 100) -> None:
        super().__init__(upstream)
        self.page_size = page_size
        self.pages_served = 0
        self.answers_to_lose: Counter[tuple[str, str]] = Counter()
        self.answers_lost: Counter[tuple[str, str]] = Counter()

    def lose_answer(self, service: str, operation: str, times: int = 1) -> None:
        """The next `times` calls of service:operation reach moto and take effect, and the caller gets a
        500 instead of the answer (a lost response: the write landed, the caller cannot know)."""
        self.answers_to_lose[(service, operation)] += times

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        lowered = {key.lower(): value for key, value in headers.items()}
        identity = call_identity(lowered, body)
        answer = self._forward_paged(method, path, headers, body)
        if self.answers_to_lose[identity] > 0:
            self.answers_to_lose[identity] -= 1
            self.answers_lost[identity] += 1
            status, content_type, payload = _error_response(identity[0], "error500", lowered)
            return status, [("Content-Type", content_type)], payload
        return answer

    def _forward_paged(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        filters = [
            value for key, values in form.items() if key.startswith("Filter.member.") for value in values
        ]
        if form.get("Action") != ["GetAccountAuthorizationDetails"] or len(filters) != 1:
            return super()._forward(method, path, headers, body)
        offset = int(form.get("Marker", ["0"])[0].removeprefix("page-") or 0)
        upstream = {key: values for key, values in form.items() if key not in ("Marker", "MaxItems")}
        status, response_headers, payload = super()._forward(
            method, path, headers, urllib.parse.urlencode(upstream, doseq=True).encode()
        )
        if status != 200:
            return status, response_headers, payload
        self.pages_served += 1
        return status, response_headers, self._page(payload, filters[0], offset)

    def _page(self, payload: bytes, entity_filter: str, offset: int) -> bytes:
        ET.register_namespace("", _IAM_NS)
        root = ET.fromstring(payload)
        result = next(
            node for node in root.iter() if _local(node.tag) == "GetAccountAuthorizationDetailsResult"
        )
        list_name, sort_field = _LISTS[entity_filter]
        container = next(node for node in result if _local(node.tag) == list_name)
        members = list(container)

        def sort_key(member: ET.Element) -> str:
            return next((child.text or "" for child in member if _local(child.tag) == sort_field), "")

        members.sort(key=sort_key)
        for member in list(container):
            container.remove(member)
        page = members[offset : offset + self.page_size]
        container.extend(page)
        truncated = offset + self.page_size < len(members)
        for node in list(result):
            if _local(node.tag) in ("IsTruncated", "Marker"):
                result.remove(node)
        ET.SubElement(result, f"{{{_IAM_NS}}}IsTruncated").text = "true" if truncated else "false"
        if truncated:
            ET.SubElement(result, f"{{{_IAM_NS}}}Marker").text = f"page-{offset + self.page_size}"
        return ET.tostring(root, encoding="utf-8")


@pytest.fixture(name="paged")
def paged_fixture(monitoring: Monitoring, monkeypatch: pytest.MonkeyPatch) -> Iterator[PagingProxy]:
    """IAM paged 100 entries at a time, and faults on demand, on the server side; AWS clients created
    from now on (the handlers') go through it."""
    proxy = PagingProxy(os.environ["AWS_ENDPOINT_URL"], page_size=100).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    try:
        yield proxy
    finally:
        proxy.stop()


@dataclass
class ClockContext:
    """A Lambda context whose remaining time runs with the wall clock from `budget_ms`."""

    budget_ms: int
    aws_request_id: str = "req-clock"
    function_name: str = "iam-guard-daily-audit-dev"
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return int(self.budget_ms - (time.monotonic() - self.started) * 1000)


@dataclass
class TickingContext:
    """A Lambda context whose remaining time drops by `tick_ms` at every look: deterministic handovers."""

    budget_ms: int
    tick_ms: int
    aws_request_id: str = "req-tick"
    function_name: str = "iam-guard-daily-audit-dev"
    looks: int = 0

    def get_remaining_time_in_millis(self) -> int:
        self.looks += 1
        return self.budget_ms - self.looks * self.tick_ms


def scheduled(run_id: str) -> dict[str, Any]:
    return {"version": "0", "id": run_id, "detail-type": "Scheduled Event", "source": "aws.events"}


def sqs_event(body: str, message_id: str = "m-1") -> dict[str, Any]:
    return {"Records": [{"messageId": message_id, "eventSource": "aws:sqs", "body": body}]}


def pending_messages(monitoring: Monitoring) -> list[dict[str, Any]]:
    """Every message waiting in the continuation queue (received and deleted), as SQS event records."""
    messages: list[dict[str, Any]] = []
    while True:
        reply = monitoring.sqs.receive_message(
            QueueUrl=monitoring.continuation_queue_url, MaxNumberOfMessages=10
        )
        batch = reply.get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            monitoring.sqs.delete_message(
                QueueUrl=monitoring.continuation_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
            messages.append(
                {"messageId": message["MessageId"], "eventSource": "aws:sqs", "body": message["Body"]}
            )


def drive(
    handler: Callable[[Any, Any], dict[str, Any]],
    monitoring: Monitoring,
    first_event: dict[str, Any],
    context_for: Callable[[int], Any],
    before_each: Callable[[int], None] | None = None,
    limit: int = 200,
    seen_bodies: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Invoke the handler with `first_event`, then with each continuation message (one per invocation, as
    the event source mapping with batch size 1), until the queue is empty; returns every run result
    (and adds each message body to `seen_bodies`)."""
    results: list[dict[str, Any]] = []
    queue: list[dict[str, Any]] = [first_event]
    invocation = 0
    while queue and invocation < limit:
        event = queue.pop(0)
        if before_each:
            before_each(invocation)
        results.extend(handler(event, context_for(invocation))["runs"])
        invocation += 1
        delivered = pending_messages(monitoring)
        if seen_bodies is not None:
            seen_bodies.extend(record["body"] for record in delivered)
        queue.extend({"Records": [record]} for record in delivered)
    assert not queue, f"the run did not end within {limit} invocations"
    return results
