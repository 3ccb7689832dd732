"""ORG-1, the analyzer across accounts: what lets the security account's PolicyAnalyzer reach the member
roles, added by the org-security stack (the monitoring stack's IAM role stays as it is).

- analyzer_member_access_policy(): an AWS::IAM::RolePolicy on the monitoring stack's PolicyAnalyzer role
  (by its EDGE-1 name) allowing sts:AssumeRole on exactly the member audit role and the member remediation
  role names, in any account whose organization is this one (aws:ResourceOrgID). Nothing else: no
  sts:TagSession (the sessions carry no tags), no other role name, no account outside the organization.
  The member roles' own trust admits the analyzer only from the security account inside the organization
  (aws:PrincipalOrgID, aws:PrincipalArn), and the handler narrows each session to one call on one resource
  with a session policy (lambda_handlers/member_sessions.py).
- analyzer_environment(): the PolicyAnalyzer's organization variables (contract.ENV_ORGANIZATION_ID, the
  member role and quarantine policy names, the member canary policy's name and the table of heartbeats),
  from OrgPlan, the one source of those names. The monitoring stack sets them only when the config has an
  organization, so a single-account template is byte-for-byte what it was; without them the handler never
  assumes anything.

Why the permission lives here and the names in the monitoring template: the grant depends on the
organization stack's existence (deleting org-security removes it, and the member roles it reaches), while
the names must be known to the function before any member event arrives; deriving them in the handler from
its own function name would duplicate org_plan's naming rules in the zip.
"""

from __future__ import annotations

from awacs.aws import Allow, Condition, Statement, StringEquals
from troposphere import Template, iam

from iam_guard import contract
from iam_guard.policies import document
from iam_guard.policies.common import actions
from iam_guard.policies.organization import role_in_account
from iam_guard.stacks.org_plan import OrgPlan

RESOURCE_ORG_ID = "aws:ResourceOrgID"
ACCESS_REASON = (
    "ORG-1: sts:AssumeRole on two role names only (the member audit and remediation roles), in accounts of "
    "this organization only (aws:ResourceOrgID); those roles trust only this role inside the organization "
    "and each session is narrowed by the handler to one policy read or one principal's quarantine."
)
ACCESS_POLICY_ID = "AnalyzerMemberAccessPolicy"


def analyzer_environment(plan: OrgPlan) -> dict[str, str]:
    """The PolicyAnalyzer's ORG-1 environment variables (none of them secret)."""
    environment = {
        contract.ENV_ORGANIZATION_ID: plan.organization.organization_id,
        contract.ENV_MEMBER_AUDIT_ROLE: plan.audit_role_name,
        # MON-13 per member account: the heartbeats recorded in the org-audit table (stacks/org_heartbeat).
        contract.ENV_MEMBER_CANARY_POLICY: plan.member_canary_policy_name,
        contract.ENV_ORG_HEARTBEAT_TABLE_NAME: plan.org_audit_table_name,
    }
    if plan.organization.remediation:
        environment[contract.ENV_MEMBER_REMEDIATION_ROLE] = plan.remediation_role_name
        environment[contract.ENV_MEMBER_QUARANTINE_POLICY] = plan.quarantine_policy_name
    return environment


def analyzer_member_access_policy(plan: OrgPlan) -> iam.RolePolicy:
    """sts:AssumeRole on the member roles of the organization's accounts, for the PolicyAnalyzer role."""
    member_roles = [role_in_account("*", name) for name in plan.member_role_names]
    return iam.RolePolicy(
        ACCESS_POLICY_ID,
        Metadata={"iam-guard": {"suppressions": [{"code": "IAMG006", "reason": ACCESS_REASON}]}},
        PolicyName=plan.name("org-member-access"),
        RoleName=plan.analyzer_role_name,
        PolicyDocument=document(
            [
                Statement(
                    Sid="AssumeMemberRolesOfTheOrganization",
                    Effect=Allow,
                    Action=actions("sts:AssumeRole"),
                    Resource=member_roles,
                    Condition=Condition(StringEquals({RESOURCE_ORG_ID: plan.organization.organization_id})),
                )
            ]
        ).JSONrepr(),
    )


def add_analyzer_member_access(template: Template, plan: OrgPlan) -> None:
    template.add_resource(analyzer_member_access_policy(plan))
