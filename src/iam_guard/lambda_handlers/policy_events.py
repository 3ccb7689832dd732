"""The CloudTrail IAM calls the policy-change handler knows, and the facts it reads from one event.

parse_change() turns an EventBridge "AWS API Call via CloudTrail" event into a PolicyChange, or raises
UnexpectedEvent (H-4: the handler logs and acknowledges it). Every field an attacker can shape (names,
ARNs, the actor, the source IP) is kept as given: the alert builder cleans it (H-7), and the analyzer gets
the policy document exactly as CloudTrail wrote it (JSON text or URL-encoded, decoded by
iam_guard.analysis.document).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from iam_guard.contract import CANARY_EVENT_NAME, CANARY_TAG_KEY
from remediation import Principal

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"

# event name -> (request parameter holding the document, policy type, principal kind or None)
REQUEST_DOCUMENT_EVENTS: dict[str, tuple[str, str, str | None]] = {
    "CreatePolicy": ("policyDocument", "identity", None),
    "CreatePolicyVersion": ("policyDocument", "identity", None),
    "PutRolePolicy": ("policyDocument", "identity", "role"),
    "PutUserPolicy": ("policyDocument", "identity", "user"),
    "PutGroupPolicy": ("policyDocument", "identity", "group"),
    "UpdateAssumeRolePolicy": ("policyDocument", "trust", "role"),
    "CreateRole": ("assumeRolePolicyDocument", "trust", "role"),
}
# event name -> principal kind or None: the document is fetched from IAM
FETCH_DOCUMENT_EVENTS: dict[str, str | None] = {
    "AttachRolePolicy": "role",
    "AttachUserPolicy": "user",
    "AttachGroupPolicy": "group",
    "SetDefaultPolicyVersion": None,
}
REMOVAL_EVENTS: dict[str, str | None] = {
    "DetachRolePolicy": "role",
    "DetachUserPolicy": "user",
    "DetachGroupPolicy": "group",
    "DeleteRolePolicy": "role",
    "DeleteUserPolicy": "user",
    "DeleteGroupPolicy": "group",
    "DeletePolicy": None,
    "DeletePolicyVersion": None,
}
# event name -> (principal kind, why there is nothing to analyze): recorded as changes, no alert
_BOUNDARY_ONLY_LIMITS = "a permissions boundary only limits what the principal's policies grant"
_BOUNDARY_REMOVED = "the principal's policies now apply without a boundary's limit"
RECORDED_EVENTS: dict[str, tuple[str, str]] = {
    "AddUserToGroup": (
        "user",
        "the user now also has the group's policies; the daily audit analyzes them together",
    ),
    "PutRolePermissionsBoundary": ("role", _BOUNDARY_ONLY_LIMITS),
    "PutUserPermissionsBoundary": ("user", _BOUNDARY_ONLY_LIMITS),
    "DeleteRolePermissionsBoundary": ("role", _BOUNDARY_REMOVED),
    "DeleteUserPermissionsBoundary": ("user", _BOUNDARY_REMOVED),
}
# MON-13: the stack's canary tags the quarantine policy; that TagPolicy event is the heartbeat.
CANARY_EVENT = CANARY_EVENT_NAME
# The policy changes the IAM rule sends (tests/monitoring: the rule names exactly these). The canary's event
# is parsed too; whether it arrives through that rule or a rule of its own is the stack's choice.
HANDLED_EVENTS = (
    frozenset(REQUEST_DOCUMENT_EVENTS)
    | frozenset(FETCH_DOCUMENT_EVENTS)
    | frozenset(REMOVAL_EVENTS)
    | frozenset(RECORDED_EVENTS)
)
_NAME_PARAMETER = {"role": "roleName", "user": "userName", "group": "groupName"}
# CloudTrail eventIDs are UUIDs; anything else is not a CloudTrail event (and must not become a key).
_EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class UnexpectedEvent(ValueError):
    """The event is not a CloudTrail IAM call this handler knows: logged and acknowledged."""


@dataclass(frozen=True)
class PolicyChange:
    """The facts of one CloudTrail IAM call that the handler needs."""

    event_name: str
    event_id: str
    event_time: str
    actor_arn: str
    source_ip: str
    account_id: str
    request: dict[str, Any]
    # Every account the event names for the changed resources (recipientAccountId and the EventBridge
    # account; userIdentity.accountId when neither is given): remediation acts only when this is exactly
    # the function's own account.
    accounts: frozenset[str]
    response: dict[str, Any]
    principal: Principal | None
    error_code: str | None = None

    @property
    def policy_arn(self) -> str | None:
        """The managed policy the call names (request, or the response of CreatePolicy)."""
        return text_at(self.request, "policyArn") or text_at(self.response, "policy", "arn")

    def is_in_account(self, account: str) -> bool:
        """True when every account the event names is `account` (and it names one)."""
        return self.accounts == frozenset({account})

    def is_canary(self, quarantine_policy_arn: str) -> bool:
        """MON-13: a TagPolicy of the quarantine policy that sets the canary tag."""
        if self.event_name != CANARY_EVENT or not quarantine_policy_arn:
            return False
        if self.policy_arn != quarantine_policy_arn:
            return False
        tags = self.request.get("tags")
        if not isinstance(tags, list):
            return False
        return any(
            isinstance(tag, dict) and (tag.get("key") or tag.get("Key")) == CANARY_TAG_KEY for tag in tags
        )

    @property
    def policy_name(self) -> str | None:
        """The inline or managed policy name in the request, if any."""
        return text_at(self.request, "policyName")

    def target(self, fetched_version: str | None = None) -> dict[str, Any]:
        """What was changed, for log records: principal, policy and the policy version analyzed."""
        target: dict[str, Any] = {}
        if self.principal:
            target["principalType"] = self.principal.kind
            target["principalName"] = self.principal.name
        if self.policy_arn:
            target["policyArn"] = self.policy_arn
        if self.policy_name:
            target["policyName"] = self.policy_name
        group = text_at(self.request, "groupName")
        if group and target.get("principalType") != "group":
            target["groupName"] = group  # AddUserToGroup
        if self.request.get("setAsDefault") is not None:
            # CreatePolicyVersion without setAsDefault adds a version that is not in effect (yet).
            target["setAsDefault"] = self.request["setAsDefault"] in (True, "true", "True")
        boundary = text_at(self.request, "permissionsBoundary")
        if boundary:
            target["permissionsBoundary"] = boundary
        version = fetched_version or text_at(self.request, "versionId")
        if version:
            target["versionId"] = version
        return target

    def describe_target(self) -> str:
        """One line: e.g. 'role app-runner, inline policy "wide"' or the policy ARN."""
        parts = []
        if self.principal:
            parts.append(self.principal.describe())
        if self.policy_arn:
            parts.append(f"policy {self.policy_arn}")
        elif self.policy_name:
            parts.append(f'inline policy "{self.policy_name}"')
        return ", ".join(parts) or "(no target named)"


def text_at(mapping: dict[str, Any], *path: str) -> str | None:
    """The non-empty string at `path` inside nested objects; None when absent or of another type."""
    value: Any = mapping
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value if isinstance(value, str) and value else None


def parse_change(event: Any) -> PolicyChange:
    """The PolicyChange in an EventBridge CloudTrail event; UnexpectedEvent when it is not one."""
    if not isinstance(event, dict):
        raise UnexpectedEvent(f"event is a {type(event).__name__}, not an object")
    if event.get("detail-type") != CLOUDTRAIL_DETAIL_TYPE:
        raise UnexpectedEvent(f"detail-type {event.get('detail-type')!r} is not {CLOUDTRAIL_DETAIL_TYPE!r}")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise UnexpectedEvent("event has no detail object")
    name = detail.get("eventName")
    if not isinstance(name, str) or (name not in HANDLED_EVENTS and name != CANARY_EVENT):
        raise UnexpectedEvent(f"eventName {name!r} is not an IAM policy change this handler knows")
    if detail.get("eventSource", "iam.amazonaws.com") != "iam.amazonaws.com":
        raise UnexpectedEvent(f"eventSource {detail.get('eventSource')!r} is not iam.amazonaws.com")
    request = detail.get("requestParameters") or {}
    response = detail.get("responseElements") or {}
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise UnexpectedEvent("requestParameters/responseElements are not objects")
    identity = detail.get("userIdentity")
    if not isinstance(identity, dict):
        identity = {}
    accounts = frozenset(
        str(value) for value in (detail.get("recipientAccountId"), event.get("account")) if value
    ) or frozenset(str(value) for value in (identity.get("accountId"),) if value)
    account = str(detail.get("recipientAccountId") or event.get("account") or identity.get("accountId") or "")
    event_id = str(detail.get("eventID") or event.get("id") or "")
    if not _EVENT_ID.fullmatch(event_id):
        raise UnexpectedEvent(f"detail.eventID {event_id[:128]!r} is missing or not an event id")
    return PolicyChange(
        event_name=name,
        event_id=event_id,
        event_time=str(detail.get("eventTime") or event.get("time") or ""),
        actor_arn=str(identity.get("arn") or identity.get("invokedBy") or identity.get("type") or "unknown"),
        source_ip=str(detail.get("sourceIPAddress") or "unknown"),
        account_id=account,
        accounts=accounts,
        request=request,
        response=response,
        principal=_principal(name, request, account),
        error_code=str(detail["errorCode"]) if detail.get("errorCode") else None,
    )


def _principal(event_name: str, request: dict[str, Any], account: str) -> Principal | None:
    kind = (
        REQUEST_DOCUMENT_EVENTS[event_name][2]
        if event_name in REQUEST_DOCUMENT_EVENTS
        else FETCH_DOCUMENT_EVENTS.get(event_name, REMOVAL_EVENTS.get(event_name))
    )
    if event_name in RECORDED_EVENTS:
        kind = RECORDED_EVENTS[event_name][0]
    if event_name == CANARY_EVENT:
        kind = None
    if kind is None:
        return None
    name = request.get(_NAME_PARAMETER[kind])
    if not isinstance(name, str) or not name:
        raise UnexpectedEvent(f"{event_name} event has no requestParameters.{_NAME_PARAMETER[kind]}")
    return Principal(kind=kind, name=name, account_id=account)
