"""H-3: quarantine of the principal that received a permissive policy.

Quarantine attaches the stack's managed explicit-deny policy (QUARANTINE_POLICY_ARN) to the role, user or
group named in the CloudTrail event, and tags roles and users with `iam-guard:quarantined` =
"<finding code>/<UTC time>" (IAM groups cannot be tagged). It never deletes or detaches anything. It is
idempotent: when the quarantine policy is already attached it changes nothing (no re-attach, no re-tag).
Principals listed in EXEMPT_PRINCIPAL_ARNS (the stack's own roles and the config's break-glass principals)
are never touched; they are matched by account, principal type and name, because the CloudTrail event
names a principal without its path.

REMEDIATION_MODE: off (nothing), notify (the alert says what quarantine would do), quarantine (do it).
Quarantine acts only on findings at or above max(ALERT_SEVERITY, high): a medium finding is alerted, not
quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iam_guard.analysis import Severity
from iam_guard.contract import QUARANTINE_TAG_KEY

QUARANTINE_MIN_SEVERITY = Severity.HIGH
PRINCIPAL_KINDS = ("role", "user", "group")

_LIST_ATTACHED = {
    "role": ("list_attached_role_policies", "RoleName"),
    "user": ("list_attached_user_policies", "UserName"),
    "group": ("list_attached_group_policies", "GroupName"),
}
_ATTACH = {"role": "attach_role_policy", "user": "attach_user_policy", "group": "attach_group_policy"}
_TAG = {"role": ("tag_role", "RoleName"), "user": ("tag_user", "UserName")}


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

    action: str  # "none", "would-quarantine", "quarantined", "already-quarantined", "exempt", "failed"
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
    """True when the principal is one of the exempt ARNs (same account, type and name)."""
    wanted = (principal.account_id, principal.kind, principal.name)
    return any(principal_key_from_arn(arn) == wanted for arn in exempt_arns)


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
) -> RemediationOutcome:
    """Apply REMEDIATION_MODE to `principal` for a finding with code `finding_code`."""
    if mode == "off":
        return RemediationOutcome("none", "remediation is off")
    if principal is None:
        return RemediationOutcome("none", "the change names no role, user or group to quarantine")
    if is_exempt(principal, exempt_arns):
        return RemediationOutcome("exempt", f"{principal.describe()} is exempt from quarantine")
    if mode == "notify":
        return RemediationOutcome(
            "would-quarantine",
            f"quarantine mode would attach {quarantine_policy_arn} to {principal.describe()}",
        )
    if _has_policy_attached(iam, principal, quarantine_policy_arn):
        return RemediationOutcome("already-quarantined", f"{principal.describe()} is already quarantined")
    _attach(iam, principal, quarantine_policy_arn)
    _tag(iam, principal, f"{finding_code}/{now_iso}")
    return RemediationOutcome("quarantined", f"attached {quarantine_policy_arn} to {principal.describe()}")


def _has_policy_attached(iam: Any, principal: Principal, policy_arn: str) -> bool:
    method, name_param = _LIST_ATTACHED[principal.kind]
    paginator = iam.get_paginator(method)
    for page in paginator.paginate(**{name_param: principal.name}):
        if any(item["PolicyArn"] == policy_arn for item in page["AttachedPolicies"]):
            return True
    return False


def _attach(iam: Any, principal: Principal, policy_arn: str) -> None:
    _, name_param = _LIST_ATTACHED[principal.kind]
    getattr(iam, _ATTACH[principal.kind])(**{name_param: principal.name, "PolicyArn": policy_arn})


def _tag(iam: Any, principal: Principal, value: str) -> None:
    if principal.kind not in _TAG:
        return
    method, name_param = _TAG[principal.kind]
    getattr(iam, method)(
        **{name_param: principal.name, "Tags": [{"Key": QUARANTINE_TAG_KEY, "Value": value}]}
    )
