"""H-3: quarantine of the principal that received a permissive policy.

Quarantine attaches the stack's managed explicit-deny policy (QUARANTINE_POLICY_ARN) to the role, user or
group named in the CloudTrail event, and tags roles and users with `iam-guard:quarantined` =
"<finding code>/<UTC time>" (IAM groups cannot be tagged). It never deletes or detaches anything. It is
idempotent: when the quarantine is already in place it changes nothing (no re-attach, no re-tag).
Principals listed in EXEMPT_PRINCIPAL_ARNS (the stack's own roles and the config's break-glass principals)
are never touched; they are matched by account, principal type and name, because the CloudTrail event
names a principal without its path. Names are compared case-insensitively, as IAM treats them.

It cannot be dodged or misdirected (H-7):
- a principal whose managed-policy quota is full (LimitExceeded on attach) gets an inline explicit deny
  of everything instead, named QUARANTINE_INLINE_POLICY_NAME; an inline policy of that name that does not
  deny everything (planted beforehand to look like a quarantine) does not count as one and is overwritten;
- only events of the function's own account are acted on with the function's own IAM client: an event
  from another account never quarantines a local principal of the same name; ORG-1: an event of a member
  account of the organization is remediated in that account, through a session of the member remediation
  role narrowed to that principal (remediate_in_member; the sessions are opened by member_sessions.py);
- a principal that no longer exists is reported as such ("principal-gone"), not retried;
- when the attach succeeds but the tag fails, the outcome says "quarantined; tag failed".

REMEDIATION_MODE: off (nothing), notify (the alert says what quarantine would do), quarantine (do it).
Quarantine acts only on findings at or above max(ALERT_SEVERITY, high): a medium finding is alerted, not
quarantined.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from iam_guard.analysis import Severity
from iam_guard.contract import QUARANTINE_INLINE_POLICY_NAME, QUARANTINE_TAG_KEY
from lambda_support import Deadline, call_within

QUARANTINE_MIN_SEVERITY = Severity.HIGH
PRINCIPAL_KINDS = ("role", "user", "group")

_LIST_ATTACHED = {
    "role": ("list_attached_role_policies", "RoleName"),
    "user": ("list_attached_user_policies", "UserName"),
    "group": ("list_attached_group_policies", "GroupName"),
}
_ATTACH = {"role": "attach_role_policy", "user": "attach_user_policy", "group": "attach_group_policy"}
_GET_INLINE = {"role": "get_role_policy", "user": "get_user_policy", "group": "get_group_policy"}
_PUT_INLINE = {"role": "put_role_policy", "user": "put_user_policy", "group": "put_group_policy"}
_TAG = {"role": ("tag_role", "RoleName"), "user": ("tag_user", "UserName")}
# What IAM accepts as a role, user or group name: anything else names no principal that can exist.
_IAM_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
# The inline fallback: the same explicit deny as the stack's managed quarantine policy.
QUARANTINE_INLINE_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "IamGuardQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class Principal:
    """An IAM role, user or group of one account, as a CloudTrail event names it (no path)."""

    kind: str
    name: str
    account_id: str

    def describe(self) -> str:
        """e.g. "role app-runner"."""
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class RemediationOutcome:
    """What remediation did (or, in notify mode, would do) and why."""

    # "none", "would-quarantine", "quarantined", "already-quarantined", "exempt", "failed",
    # "principal-gone", "foreign-account"
    action: str
    detail: str

    @property
    def applied(self) -> bool:
        """True when this run changed IAM."""
        return self.action == "quarantined"


def principal_key_from_arn(arn: str) -> tuple[str, str, str] | None:
    """(account, kind, name) of an IAM role/user/group ARN; None for anything else.

    arn:aws:iam::123456789012:role/service/app-runner -> ("123456789012", "role", "app-runner").
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam":
        return None
    kind, _, path_and_name = parts[5].partition("/")
    if kind not in PRINCIPAL_KINDS or not path_and_name:
        return None
    return parts[4], kind, path_and_name.rsplit("/", 1)[-1]


def is_exempt(principal: Principal, exempt_arns: tuple[str, ...]) -> bool:
    """True when the principal is one of the exempt ARNs (same account, type and name; IAM names are
    case-insensitive: "Break-Glass" and "break-glass" are the same role)."""
    wanted = (principal.account_id, principal.kind, principal.name.casefold())
    for arn in exempt_arns:
        key = principal_key_from_arn(arn)
        if key is not None and (key[0], key[1], key[2].casefold()) == wanted:
            return True
    return False


def quarantine_threshold(alert_severity: Severity) -> Severity:
    """The lowest severity that quarantine acts on."""
    return max(alert_severity, QUARANTINE_MIN_SEVERITY)


def remediate(
    iam: Any,
    mode: str,
    principal: Principal | None,
    finding_code: str,
    quarantine_policy_arn: str,
    exempt_arns: tuple[str, ...],
    now_iso: str,
    deadline: Deadline,
    own_account: str,
    event_accounts: frozenset[str],
) -> RemediationOutcome:
    """Apply REMEDIATION_MODE to `principal` for a finding with code `finding_code`, if the event's
    accounts are exactly `own_account`. Raises ClientError when IAM refuses in a way retries may fix."""
    if mode != "off" and principal is not None and event_accounts != frozenset({own_account}):
        named = ", ".join(sorted(event_accounts)) or "no account"
        return RemediationOutcome(
            "foreign-account",
            f"the event is from {named}, not this account {own_account}: nothing is quarantined here",
        )
    return _remediate(
        lambda: iam,
        mode,
        principal,
        finding_code,
        quarantine_policy_arn,
        exempt_arns,
        now_iso,
        deadline,
        True,
    )


def remediate_in_member(
    open_session: Callable[[], Any],
    mode: str,
    principal: Principal | None,
    finding_code: str,
    quarantine_policy_arn: str,
    now_iso: str,
    deadline: Deadline,
) -> RemediationOutcome:
    """ORG-1: the same remediation of a member account's principal, through the IAM client
    `open_session()` returns (the member remediation role, narrowed to this principal and the member's
    quarantine policy `quarantine_policy_arn`). That session can neither read nor put inline policies, so
    the inline fallback is not used: a full managed-policy quota is refused (LimitExceeded) and reported.
    The member's own iam-guard roles are protected by the member role's explicit deny (AccessDenied)."""
    return _remediate(
        open_session, mode, principal, finding_code, quarantine_policy_arn, (), now_iso, deadline, False
    )


def _remediate(
    open_session: Callable[[], Any],
    mode: str,
    principal: Principal | None,
    finding_code: str,
    quarantine_policy_arn: str,
    exempt_arns: tuple[str, ...],
    now_iso: str,
    deadline: Deadline,
    inline: bool,
) -> RemediationOutcome:
    if mode == "off":
        return RemediationOutcome("none", "remediation is off")
    if principal is None:
        return RemediationOutcome("none", "the change names no role, user or group to quarantine")
    if not _IAM_NAME.fullmatch(principal.name):
        return RemediationOutcome(
            "none", f"{principal.describe()} is not a name IAM accepts: no such principal can exist"
        )
    if is_exempt(principal, exempt_arns):
        return RemediationOutcome("exempt", f"{principal.describe()} is exempt from quarantine")
    if mode == "notify":
        return RemediationOutcome(
            "would-quarantine",
            f"quarantine mode would attach {quarantine_policy_arn} to {principal.describe()}",
        )
    iam = open_session()
    try:
        if _is_quarantined(iam, deadline, principal, quarantine_policy_arn, inline):
            return RemediationOutcome("already-quarantined", f"{principal.describe()} is already quarantined")
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise
        return RemediationOutcome(
            "principal-gone", f"{principal.describe()} no longer exists: there is nothing to quarantine"
        )
    applied = _quarantine(iam, deadline, principal, quarantine_policy_arn, inline)
    try:
        _tag(iam, deadline, principal, f"{finding_code}/{now_iso}")
    except ClientError as error:
        return RemediationOutcome("quarantined", f"quarantined; tag failed ({_code(error)}): {applied}")
    return RemediationOutcome("quarantined", applied)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _is_quarantined(
    iam: Any, deadline: Deadline, principal: Principal, policy_arn: str, inline: bool = True
) -> bool:
    """True when the quarantine policy is attached, or (`inline`) the inline fallback denies everything."""
    method, name_param = _LIST_ATTACHED[principal.kind]
    arguments: dict[str, Any] = {name_param: principal.name}
    while True:
        page = call_within(deadline, getattr(iam, method), **arguments)
        if any(item["PolicyArn"] == policy_arn for item in page["AttachedPolicies"]):
            return True
        if not page.get("IsTruncated"):
            break
        arguments["Marker"] = page["Marker"]
    if not inline:
        return False
    try:
        reply = call_within(
            deadline,
            getattr(iam, _GET_INLINE[principal.kind]),
            **{name_param: principal.name, "PolicyName": QUARANTINE_INLINE_POLICY_NAME},
        )
    except ClientError as error:
        if _code(error) == "NoSuchEntity":
            return False
        raise
    return denies_everything(reply.get("PolicyDocument"))


def denies_everything(document: Any) -> bool:
    """True when the policy holds an unconditional Deny of every action on every resource."""
    if isinstance(document, str):
        text = document.strip()
        try:
            document = json.loads(text if text.startswith("{") else urllib.parse.unquote(text))
        except ValueError:
            return False
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return False
    return any(
        isinstance(statement, dict)
        and statement.get("Effect") == "Deny"
        and statement.get("Action") in ("*", ["*"])
        and statement.get("Resource") in ("*", ["*"])
        and not statement.get("Condition")
        for statement in statements
    )


def _quarantine(
    iam: Any, deadline: Deadline, principal: Principal, policy_arn: str, inline: bool = True
) -> str:
    """Attach the quarantine policy, or when the managed-policy quota is full put the inline deny;
    returns what was done."""
    _, name_param = _LIST_ATTACHED[principal.kind]
    try:
        call_within(
            deadline,
            getattr(iam, _ATTACH[principal.kind]),
            **{name_param: principal.name, "PolicyArn": policy_arn},
        )
        return f"attached {policy_arn} to {principal.describe()}"
    except ClientError as error:
        if _code(error) != "LimitExceeded" or not inline:
            raise
    call_within(
        deadline,
        getattr(iam, _PUT_INLINE[principal.kind]),
        **{
            name_param: principal.name,
            "PolicyName": QUARANTINE_INLINE_POLICY_NAME,
            "PolicyDocument": json.dumps(QUARANTINE_INLINE_DOCUMENT),
        },
    )
    return (
        f"the managed-policy quota of {principal.describe()} is full: put the inline explicit deny "
        f"{QUARANTINE_INLINE_POLICY_NAME} (Deny * on *) instead of attaching {policy_arn}"
    )


def _tag(iam: Any, deadline: Deadline, principal: Principal, value: str) -> None:
    if principal.kind not in _TAG:
        return
    method, name_param = _TAG[principal.kind]
    call_within(
        deadline,
        getattr(iam, method),
        **{name_param: principal.name, "Tags": [{"Key": QUARANTINE_TAG_KEY, "Value": value}]},
    )
