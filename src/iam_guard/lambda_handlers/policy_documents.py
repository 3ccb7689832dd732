"""The policy document a change installed, found and analyzed.

The document in the request is handed to the analyzer exactly as CloudTrail wrote it (JSON text, or
URL-encoded JSON in whatever form IAM produced: iam_guard.analysis.document decodes it), never re-encoded
or pre-parsed here. A managed policy named by an Attach*/SetDefaultPolicyVersion call, or a created
version whose document CloudTrail omitted, is fetched from IAM: through `iam_for(policy ARN)`, the
function's own IAM client in its own account, or a session of the member account narrowed to that one
policy (member_sessions.py, ORG-1). Every IAM call is bounded by the invocation's deadline (call_within).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from iam_guard.analysis import Finding, analyze_policy
from lambda_support import Deadline, analysis_budget_seconds, call_within
from policy_events import (
    RECORDED_EVENTS,
    REMOVAL_EVENTS,
    REQUEST_DOCUMENT_EVENTS,
    PolicyChange,
    UnexpectedEvent,
    text_at,
)


@dataclass
class Analysis:
    """The document found for a change and what the analyzer said about it."""

    status: str  # "analyzed", "document-unavailable", "removal", "recorded", "member-unreachable"
    findings: list[Finding] = field(default_factory=list)
    reason: str = ""
    policy_type: str = "identity"
    version_id: str | None = None  # the managed policy version that was fetched and analyzed


IamForPolicy = Callable[[str], Any]  # policy ARN -> the IAM client that may read it


def find_and_analyze(change: PolicyChange, iam_for: IamForPolicy, deadline: Deadline) -> Analysis:
    """Locate the document the change installed, and analyze it."""
    if change.event_name in REMOVAL_EVENTS:
        return Analysis("removal", reason="a removal leaves no document to analyze")
    if change.event_name in RECORDED_EVENTS:
        return Analysis("recorded", reason=RECORDED_EVENTS[change.event_name][1])
    if change.event_name in REQUEST_DOCUMENT_EVENTS:
        parameter, policy_type, _ = REQUEST_DOCUMENT_EVENTS[change.event_name]
        document = change.request.get(parameter)
        if document is not None and not isinstance(document, str | dict):
            raise UnexpectedEvent(f"requestParameters.{parameter} is a {type(document).__name__}")
        if document is None:
            document = _fetch_created_version(change, iam_for, deadline)
        if document is None:
            return Analysis(
                "document-unavailable", reason=f"CloudTrail omitted requestParameters.{parameter}"
            )
        return Analysis("analyzed", _analyze(document, policy_type, deadline), policy_type=policy_type)
    return _fetch_and_analyze(change, iam_for, deadline)


def _fetch_created_version(change: PolicyChange, iam_for: IamForPolicy, deadline: Deadline) -> Any:
    """For CreatePolicy/CreatePolicyVersion whose document CloudTrail omitted: the version it created."""
    if change.event_name == "CreatePolicy":
        version = text_at(change.response, "policy", "defaultVersionId")
    elif change.event_name == "CreatePolicyVersion":
        version = text_at(change.response, "policyVersion", "versionId")
    else:
        return None
    if not change.policy_arn or not version:
        return None
    try:
        return _policy_version_document(iam_for(change.policy_arn), deadline, change.policy_arn, str(version))
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise


def _fetch_and_analyze(change: PolicyChange, iam_for: IamForPolicy, deadline: Deadline) -> Analysis:
    arn = change.policy_arn
    if not arn:
        raise UnexpectedEvent(f"{change.event_name} event has no requestParameters.policyArn")
    iam = iam_for(arn)
    try:
        version = (
            text_at(change.request, "versionId") if change.event_name == "SetDefaultPolicyVersion" else None
        )
        if not version:
            version = call_within(deadline, iam.get_policy, PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = _policy_version_document(iam, deadline, arn, str(version))
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        return Analysis(
            "document-unavailable", reason=f"{arn} no longer exists (deleted before it was fetched)"
        )
    return Analysis("analyzed", _analyze(document, "identity", deadline), version_id=str(version))


# Kept for what follows the analysis: the mark, the records, the alert and quarantine, each a bounded call.
REPORTING_MS = 8_000


def _analyze(document: Any, policy_type: str, deadline: Deadline) -> list[Finding]:
    """H-6: the analysis within its budget; a document that cannot be analyzed in time is a HIGH finding
    (IAMG019) that is recorded and alerted like any other, with the time to report it kept back."""
    return analyze_policy(
        document, policy_type, budget_seconds=analysis_budget_seconds(deadline, REPORTING_MS)
    )


def _policy_version_document(iam: Any, deadline: Deadline, arn: str, version: str) -> Any:
    """The document of one managed policy version (botocore already URL-decodes and parses it)."""
    reply = call_within(deadline, iam.get_policy_version, PolicyArn=arn, VersionId=version)
    return reply["PolicyVersion"]["Document"]
