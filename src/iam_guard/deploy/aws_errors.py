"""AWS errors as the operator reads them: one block naming the stack, the AWS operation and AWS's own
code and message, never a traceback.

Every client deploy and destroy use is watched (botocore's before-call event), so an error that carries
no operation of its own (no credentials, no connection to the endpoint) still names the call it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    WaiterError,
)

ClientFactory = Callable[[str, str], Any]  # (service, region) -> boto3 client

# What to do next, by error code (or botocore exception class); anything else gets the generic advice.
_NEXT_STEP = {
    "NoCredentialsError": "provide credentials: AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
    "(and AWS_SESSION_TOKEN), then run the same command again",
    "PartialCredentialsError": "complete the credentials (key id, secret and, for temporary credentials, "
    "the session token), then run the same command again",
    "EndpointConnectionError": "check the network, and AWS_ENDPOINT_URL if it is set (it points every call "
    "at that endpoint), then run the same command again",
    "NoRegionError": "the config names the region; this call had none: report it as a bug",
    "ExpiredToken": "the session has expired: refresh the credentials, then run the same command again",
    "ExpiredTokenException": "the session has expired: refresh the credentials, then run the same command "
    "again",
    "AccessDenied": "the caller lacks this permission: grant it (or use a role that has it), then run the "
    "same command again",
    "AccessDeniedException": "the caller lacks this permission: grant it (or use a role that has it), then "
    "run the same command again",
}
_AGAIN = {
    "deploy": "run the same command again once the cause is fixed: deploy continues where it stopped "
    "(stacks already in place are updated or left unchanged)",
    "destroy": "run the same command again once the cause is fixed: stacks already deleted are reported "
    "as not deployed, the rest are deleted",
}


class CallLog:
    """The last AWS operation each watched client started, as "service Operation"."""

    def __init__(self) -> None:
        self.last = ""

    def watch(self, client: Any) -> Any:
        client.meta.events.register("before-call", self._record)
        return client

    def watching(self, clients: ClientFactory) -> ClientFactory:
        """The same factory, with every client it makes watched, and made once per service and region
        (a boto3 client takes a good part of a second to build)."""
        made: dict[tuple[str, str], Any] = {}

        def make(service: str, region: str) -> Any:
            if (service, region) not in made:
                made[(service, region)] = self.watch(clients(service, region))
            return made[(service, region)]

        return make

    def _record(self, model: Any = None, **_: Any) -> None:
        if model is not None:
            self.last = f"{model.service_model.service_name} {model.name}"


class AwsCallFailed(Exception):
    """An AWS call deploy or destroy could not complete, with what the operator needs to act on it."""

    def __init__(
        self,
        stack: str,
        region: str,
        operation: str,
        code: str,
        message: str,
        detail: str = "",
        subject: str = "stack",
    ) -> None:
        super().__init__(f"{stack}: {operation}: {code}: {message}")
        self.stack = stack
        self.region = region
        self.operation = operation
        self.code = code
        self.message = message
        self.detail = detail
        self.subject = subject

    def block(self, command: str) -> str:
        lines = [
            f"iam-guard {command}: AWS error, stopped",
            f"  {self.subject + ':':<10} {self.stack}" + (f" ({self.region})" if self.region else ""),
            f"  operation: {self.operation or 'unknown (before the first AWS call)'}",
            f"  error:     {self.code}: {self.message}",
        ]
        if self.detail:
            lines.append(f"  response:  {self.detail}")
        again = _AGAIN.get(command, "run the same command again once the cause is fixed")
        lines.append(f"  next:      {_NEXT_STEP.get(self.code, again)}")
        return "\n".join(lines)


def describe_error(error: BaseException) -> tuple[str, str, str]:
    """(code, message, response detail) of a botocore error, in AWS's own words where it gave any."""
    if isinstance(error, ClientError):
        body = error.response.get("Error", {})
        meta = error.response.get("ResponseMetadata", {})
        parts = []
        if meta.get("HTTPStatusCode"):
            parts.append(f"HTTP {meta['HTTPStatusCode']}")
        if meta.get("RequestId"):
            parts.append(f"request id {meta['RequestId']}")
        if meta.get("RetryAttempts"):
            parts.append(f"after {int(meta['RetryAttempts']) + 1} attempts")
        code = str(body.get("Code") or "Unknown")
        return code, str(body.get("Message") or error), ", ".join(parts)
    if isinstance(error, WaiterError):
        last = error.last_response or {}
        body = last.get("Error", {}) if isinstance(last, dict) else {}
        if body:
            return str(body.get("Code", "WaiterError")), str(body.get("Message", error)), str(error)
        return "WaiterError", str(error), ""
    for known in (NoCredentialsError, PartialCredentialsError, EndpointConnectionError, NoRegionError):
        if isinstance(error, known):
            return known.__name__, str(error), ""
    return type(error).__name__, str(error), ""


def reporting_aws_errors(command: str, subject: str, name: str, action: Callable[[], int]) -> int:
    """Run a command's action; an AWS error becomes the block on stderr and exit code 1."""
    import sys

    try:
        return action()
    except (BotoCoreError, ClientError) as error:
        code, message, detail = describe_error(error)
        operation = str(getattr(error, "operation_name", "") or "")
        failure = AwsCallFailed(name, "", operation, code, message, detail, subject=subject)
        print(failure.block(command), file=sys.stderr)
        return 1


def operation_of(error: BaseException, calls: CallLog) -> str:
    if isinstance(error, ClientError) and error.operation_name:
        service = calls.last.split(" ", 1)[0] if calls.last else ""
        return f"{service} {error.operation_name}".strip()
    return calls.last


@contextmanager
def aws_step(stack: str, region: str, calls: CallLog) -> Iterator[None]:
    """Turn a botocore error inside the block into AwsCallFailed for `stack`."""
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        code, message, detail = describe_error(error)
        raise AwsCallFailed(stack, region, operation_of(error, calls), code, message, detail) from error
