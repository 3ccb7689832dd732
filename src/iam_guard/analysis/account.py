"""One traversal of an account's IAM data (GetAccountAuthorizationDetails entries), shared by the daily
audit Lambda (handlers/audit_run.py) and `iam-guard audit-account` (iam_guard.remote_audit), so both
analyze the same documents of the same account and report the same findings.

Standard library only (shipped in the daily audit's zip); it makes no AWS call itself: the caller passes a
function that fetches an AWS managed policy's default document (None when the policy no longer exists).

What is analyzed, per entry of each entity filter:
- LocalManagedPolicy: the default version of every customer-managed policy (the version flagged
  IsDefaultVersion, or the one named by DefaultVersionId when the list lacks the flag);
- Group: every inline policy of the group;
- Role: the trust policy, every inline policy, and the role's identity policies combined (inline,
  attached customer-managed, attached AWS managed) for privilege escalation;
- User: every inline policy, and the user's identity policies combined with those of its groups (inline
  and attached) for privilege escalation;
- every AWS managed policy attached anywhere (to a role, a user or a group) is analyzed once, on its own,
  labelled with the first principal it was found on.
A policy that was deleted between two reads (an attached ARN with no document) is skipped, never fatal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from iam_guard.analysis.codes import ANALYSIS_ERROR
from iam_guard.analysis.document import load_document
from iam_guard.analysis.engine import analyze_policy, analyze_principal
from iam_guard.analysis.model import Finding, Severity
from iam_guard.analysis.principal_reach import PrincipalReach, reach_of_principal

# The entity filters in the order a run visits them: the first two are the reference that principals need.
ENTITY_FILTERS: tuple[str, ...] = ("LocalManagedPolicy", "Group", "Role", "User")
REFERENCE_FILTERS: tuple[str, ...] = ("LocalManagedPolicy", "Group")
LIST_KEYS: dict[str, str] = {
    "LocalManagedPolicy": "Policies",
    "Group": "GroupDetailList",
    "Role": "RoleDetailList",
    "User": "UserDetailList",
}
COMBINED = "all attached policies combined"


def audit_session_policy(partition: str, account_id: str) -> dict[str, Any]:
    """The session policy an audit passes to AssumeRole: only the reads this traversal makes, only on the
    audited account's policies and AWS managed policies (GetAccountAuthorizationDetails supports no
    resource-level permission). Even an audit role widened by mistake gives the session nothing more.
    `iam-guard audit-account` and the organization's fan-out audit both use it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadAuthorizationDetails",
                "Effect": "Allow",
                "Action": "iam:GetAccountAuthorizationDetails",
                "Resource": "*",
            },
            {
                "Sid": "ReadPolicyVersions",
                "Effect": "Allow",
                "Action": ["iam:GetPolicy", "iam:GetPolicyVersion"],
                "Resource": [
                    f"arn:{partition}:iam::{account_id}:policy/*",
                    f"arn:{partition}:iam::aws:policy/*",
                ],
            },
        ],
    }


def default_version_document(policy: dict[str, Any]) -> Any:
    """The document of a policy entry's default version: the version flagged IsDefaultVersion, else the one
    DefaultVersionId names; None when neither is there."""
    versions = [version for version in policy.get("PolicyVersionList") or [] if isinstance(version, dict)]
    for version in versions:
        if version.get("IsDefaultVersion") is True:
            return version.get("Document")
    default_id = policy.get("DefaultVersionId")
    for version in versions:
        if default_id and version.get("VersionId") == default_id:
            return version.get("Document")
    return None


def is_aws_managed(arn: str) -> bool:
    """arn:<partition>:iam::aws:policy/... is an AWS managed policy."""
    parts = str(arn).split(":", 5)
    return len(parts) == 6 and parts[2] == "iam" and parts[4] == "aws"


def entity_label(entity_filter: str, entry: dict[str, Any]) -> str:
    """How findings name an entry: policy/<name>, group/<name>, role/<name>, user/<name>."""
    if entity_filter == "LocalManagedPolicy":
        arn = str(entry.get("Arn", ""))
        # The name is the ARN's last segment when the entry lacks PolicyName (moto omits it).
        return f"policy/{entry.get('PolicyName') or arn.rsplit('/', 1)[-1]}"
    name_key = {"Group": "GroupName", "Role": "RoleName", "User": "UserName"}[entity_filter]
    return f"{entity_filter.lower()}/{entry.get(name_key, '')}"


@dataclass(frozen=True)
class GroupPolicies:
    """What a group gives its members: inline documents and attached managed policy ARNs."""

    inline: tuple[Any, ...]
    attached: tuple[str, ...]

    @classmethod
    def of(cls, group: dict[str, Any]) -> GroupPolicies:
        """From a GroupDetailList entry."""
        return cls(
            inline=tuple(item.get("PolicyDocument") for item in group.get("GroupPolicyList") or []),
            attached=tuple(item.get("PolicyArn", "") for item in group.get("AttachedManagedPolicies") or []),
        )


@dataclass
class Reference:
    """The documents principals need: customer-managed policies' default versions and group policies."""

    policies: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, GroupPolicies] = field(default_factory=dict)

    def add(self, entity_filter: str, entry: dict[str, Any]) -> None:
        """Keep the documents of one LocalManagedPolicy or Group entry (others are ignored)."""
        if entity_filter == "LocalManagedPolicy":
            self.policies[str(entry.get("Arn", ""))] = default_version_document(entry)
        elif entity_filter == "Group":
            self.groups[str(entry.get("GroupName", ""))] = GroupPolicies.of(entry)


@dataclass(frozen=True)
class PolicyToAudit:
    """One document to analyze on its own, with where it was found."""

    entity: str
    policy: str
    policy_type: str
    document: Any
    first_attached_to: str | None = None

    def context(self) -> dict[str, Any]:
        """Where the findings of this document were found (fields of an audit record)."""
        context: dict[str, Any] = {
            "entity": self.entity,
            "policy": self.policy,
            "policyType": self.policy_type,
        }
        if self.first_attached_to:
            context["firstAttachedTo"] = self.first_attached_to
        return context


@dataclass(frozen=True)
class PrincipalToAudit:
    """All the identity policies of one principal, analyzed together for privilege escalation. `arn` and
    `trust` (a role's AssumeRolePolicyDocument as the API returned it) are what reach_of_unit needs for
    the organization's cross-account reach (ORG-3); they take no part in the analysis."""

    entity: str
    documents: tuple[Any, ...]
    arn: str | None = None
    trust: Any = None

    def context(self) -> dict[str, Any]:
        return {"entity": self.entity, "policy": COMBINED}


AuditUnit = PolicyToAudit | PrincipalToAudit


def analyze_unit(unit: AuditUnit, budget_seconds: float | None = None) -> list[Finding]:
    """The findings of one unit, within `budget_seconds` (H-6: past it, a HIGH IAMG019 finding). Never
    raises: an analysis failure is itself a HIGH finding."""
    try:
        if isinstance(unit, PolicyToAudit):
            return analyze_policy(unit.document, unit.policy_type, budget_seconds=budget_seconds)
        if len(unit.documents) < 2:
            return []
        return analyze_principal(list(unit.documents), budget_seconds=budget_seconds)
    except Exception as error:  # the analyzer's contract says never; a run must not die if it ever does
        return [
            Finding(
                code=ANALYSIS_ERROR,
                severity=Severity.HIGH,
                message=f"could not be analyzed: internal error {type(error).__name__}: {str(error)[:200]}",
                statement_index=None,
                sid=None,
                actions=(),
                resources=(),
                remediation="Review this policy by hand and report the analyzer failure.",
            )
        ]


class Traversal:
    """The audit units of each GetAccountAuthorizationDetails entry.

    `reference` must hold every LocalManagedPolicy and Group entry before Role and User entries are
    traversed. `fetch_aws_managed(arn)` returns an AWS managed policy's default document (None when it no
    longer exists); it may raise (e.g. out of time), in which case the entry is left untouched and can be
    traversed again. `audited_aws_managed` (the ARNs already analyzed on their own) is updated only when an
    entry's units are complete."""

    def __init__(
        self,
        reference: Reference,
        fetch_aws_managed: Callable[[str], Any],
        audited_aws_managed: set[str] | None = None,
    ) -> None:
        self.reference = reference
        self.fetch_aws_managed = fetch_aws_managed
        self.audited_aws_managed = audited_aws_managed if audited_aws_managed is not None else set()

    def units(self, entity_filter: str, entry: dict[str, Any]) -> list[AuditUnit]:
        """What to analyze for one entry of `entity_filter`."""
        entity = entity_label(entity_filter, entry)
        if entity_filter == "LocalManagedPolicy":
            document = default_version_document(entry)
            if document is None:
                return []
            return [PolicyToAudit(entity, str(entry.get("Arn", "")), "identity", document)]
        units: list[AuditUnit] = []
        newly_audited: dict[str, Any] = {}
        if entity_filter == "Group":
            units += self._inline(entity, entry.get("GroupPolicyList"))
            for arn in GroupPolicies.of(entry).attached:
                self._managed(entity, arn, newly_audited)
        elif entity_filter in ("Role", "User"):
            if entity_filter == "Role":
                trust = entry.get("AssumeRolePolicyDocument")
                if trust is not None:
                    units.append(PolicyToAudit(entity, "trust", "trust", trust))
            inline_key = "RolePolicyList" if entity_filter == "Role" else "UserPolicyList"
            inline = self._inline(entity, entry.get(inline_key))
            units += inline
            documents = [unit.document for unit in inline]
            for item in entry.get("AttachedManagedPolicies") or []:
                documents.append(self._managed(entity, str(item.get("PolicyArn", "")), newly_audited))
            for group in entry.get("GroupList") or []:
                policies = self.reference.groups.get(str(group), GroupPolicies((), ()))
                documents += list(policies.inline)
                documents += [self._managed(entity, arn, newly_audited) for arn in policies.attached]
            units.append(
                PrincipalToAudit(
                    entity,
                    tuple(doc for doc in documents if doc is not None),
                    arn=str(entry["Arn"]) if isinstance(entry.get("Arn"), str) else None,
                    trust=entry.get("AssumeRolePolicyDocument") if entity_filter == "Role" else None,
                )
            )
        for arn, (document, first_entity) in newly_audited.items():
            units.append(
                PolicyToAudit(f"aws-policy/{arn.rsplit('/', 1)[-1]}", arn, "identity", document, first_entity)
            )
        self.audited_aws_managed.update(newly_audited)
        return units

    @staticmethod
    def _inline(entity: str, items: Any) -> list[PolicyToAudit]:
        return [
            PolicyToAudit(entity, str(item.get("PolicyName", "")), "identity", item.get("PolicyDocument"))
            for item in items or []
            if item.get("PolicyDocument") is not None
        ]

    def _managed(self, entity: str, arn: str, newly_audited: dict[str, Any]) -> Any:
        if not is_aws_managed(arn):
            return self.reference.policies.get(arn)
        document = self.fetch_aws_managed(arn)
        if document is not None and arn not in self.audited_aws_managed and arn not in newly_audited:
            newly_audited[arn] = (document, entity)
        return document


def reach_of_unit(
    account: str, unit: AuditUnit, findings: list[Finding] | tuple[Finding, ...]
) -> PrincipalReach | None:
    """ORG-3: the cross-account reach of the principal behind a PrincipalToAudit unit (None for a single
    policy, or when the entry had no usable ARN). `findings` are the account audit's findings on that
    principal's identity policies (the combined unit's and its inline policies'); the role's identity
    policies are also analyzed merged (principal_reach's module doc). A trust document that cannot be
    read leaves the role with no trust: nobody is taken to reach it (the audit reports the document)."""
    if not isinstance(unit, PrincipalToAudit) or not unit.arn:
        return None
    kind = unit.entity.partition("/")[0]
    trust = load_document(unit.trust)[0] if unit.trust is not None else None
    try:
        return reach_of_principal(account, unit.arn, kind, unit.documents, trust, findings)
    except ValueError:
        return None  # an ARN that is not this account's role or user: nothing to place in the graph
