"""ORG-1: the names both organization templates use (org-member in every member account, org-security in
the security account), known before any resource exists, so neither template imports the other's parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Sub

from iam_guard import contract, naming
from iam_guard.blocks import events
from iam_guard.config import Config, OrganizationConfig
from iam_guard.policies import monitoring as mon
from iam_guard.stacks.monitoring.plan import Plan

# The org-member template's condition: the partition's global-services region (IAM lives there).
IN_GLOBAL_REGION = "InGlobalServicesRegion"
MEMBER_STACK = "org-member"
SECURITY_STACK = "org-security"
# Trail tampering: the calls that blind CloudTrail in a member's region (MON-11's trap, per account).
TRAIL_TAMPER_EVENTS: tuple[str, ...] = ("DeleteTrail", "PutEventSelectors", "StopLogging", "UpdateTrail")
# Calls on the member's own iam-guard roles and quarantine policy that weaken or remove them (MON-12).
MEMBER_ROLE_TAMPER_EVENTS: tuple[str, ...] = (
    "AttachRolePolicy",
    "DeleteRole",
    "DeleteRolePermissionsBoundary",
    "DeleteRolePolicy",
    "DetachRolePolicy",
    "PutRolePermissionsBoundary",
    "PutRolePolicy",
    "UntagRole",
    "UpdateAssumeRolePolicy",
    "UpdateRole",
)
MEMBER_POLICY_TAMPER_EVENTS: tuple[str, ...] = (
    "CreatePolicyVersion",
    "DeletePolicy",
    "SetDefaultPolicyVersion",
)


@dataclass(frozen=True)
class OrgPlan:
    """Every name of the organization deployment: the config's environment and the security region."""

    config: Config
    organization: OrganizationConfig

    @classmethod
    def of(cls, config: Config) -> OrgPlan:
        if config.organization is None:
            raise ValueError("OrgPlan needs a config with an organization section")
        return cls(config=config, organization=config.organization)

    @property
    def global_region(self) -> str:
        return mon.global_services_region(self.config.region)

    @property
    def audit_role_name(self) -> str:
        return naming.pascal_name(self.config, "OrgMemberAudit")

    @property
    def remediation_role_name(self) -> str:
        return naming.pascal_name(self.config, "OrgMemberRemediation")

    @property
    def quarantine_policy_name(self) -> str:
        return naming.pascal_name(self.config, "OrgMemberQuarantine")

    # The heartbeat per member account (MON-13 per account) ---------------------------------------------

    @property
    def member_canary_policy_name(self) -> str:
        """The member's canary policy (it grants nothing; its schedule tags it)."""
        return naming.pascal_name(self.config, "OrgMemberCanary")

    @property
    def member_canary_role_name(self) -> str:
        return naming.pascal_name(self.config, "OrgMemberCanaryScheduler")

    @property
    def member_canary_schedule_name(self) -> str:
        return naming.name(self.config, "org-member-canary")

    @property
    def heartbeat_check_rule_name(self) -> str:
        return naming.name(self.config, "org-heartbeat-check")

    @property
    def canary_interval_minutes(self) -> int:
        return self.config.monitoring.canary_interval_minutes

    @property
    def forwarder_role_base(self) -> str:
        """Each region's forwarder role: <base>-<member region> (IAM names are global in an account)."""
        return naming.pascal_name(self.config, "OrgFwd")

    def forwarder_role_name(self) -> Sub:
        return Sub(f"{self.forwarder_role_base}-${{AWS::Region}}")

    def forwarder_role_pattern(self) -> Sub:
        """Every member's forwarder role, in every account (the central bus's aws:PrincipalArn guard)."""
        return Sub(f"arn:${{AWS::Partition}}:iam::*:role/{self.forwarder_role_base}-*")

    @property
    def member_role_names(self) -> list[str]:
        names = [self.audit_role_name]
        if self.organization.remediation:
            names.append(self.remediation_role_name)
        return names

    @property
    def auditor_role_name(self) -> str:
        """The security account's role that assumes the member audit role: the fan-out audit worker's
        execution role (ORG-2), by the configured name or IamGuardOrgAuditWorker-<environment>-<region>."""
        return self.organization.auditor_role_name or naming.pascal_name(self.config, "OrgAuditWorker")

    # ORG-2: the fan-out audit's names -----------------------------------------------------------------------

    @property
    def org_audit_scheduler_role_name(self) -> str:
        return naming.pascal_name(self.config, "OrgAuditScheduler")

    @property
    def org_audit_consolidator_role_name(self) -> str:
        return naming.pascal_name(self.config, "OrgAuditConsolidator")

    @property
    def org_audit_role_names(self) -> list[str]:
        """The three functions' roles: scheduler, worker (the member audit role's trusted auditor),
        consolidator."""
        return [
            self.org_audit_scheduler_role_name,
            self.auditor_role_name,
            self.org_audit_consolidator_role_name,
        ]

    def org_audit_function_name(self, physical_base: str) -> str:
        return naming.name(self.config, physical_base)

    def org_audit_log_group_name(self, physical_base: str) -> str:
        return f"/{naming.PROJECT}/{self.config.name_suffix}/{physical_base}"

    @property
    def org_audit_table_name(self) -> str:
        return naming.name(self.config, "org-audit-state")

    @property
    def org_audit_queue_name(self) -> str:
        return naming.name(self.config, "org-audit")

    @property
    def org_consolidation_queue_name(self) -> str:
        return naming.name(self.config, "org-audit-consolidation")

    @property
    def org_audit_schedule_name(self) -> str:
        return naming.name(self.config, "org-audit")

    @property
    def results_bucket_name(self) -> Sub:
        """Globally unique: the security account's ID is part of it."""
        return naming.global_name(self.config, "org-results")

    @property
    def results_log_bucket_name(self) -> Sub:
        return naming.global_name(self.config, "org-logs")

    @property
    def analyzer_role_name(self) -> str:
        """The security account's role that assumes the member remediation role: the PolicyAnalyzer's."""
        return Plan.of(self.config).analyzer_role_name

    @property
    def analyzer_function_name(self) -> str:
        return Plan.of(self.config).names.resource("policy-analyzer")

    @property
    def monitoring_topic_name(self) -> str:
        return Plan.of(self.config).topic_name

    @property
    def bus_name(self) -> str:
        return naming.name(self.config, "org-events")

    def bus_arn(self) -> Sub:
        """The central bus, named from the member's side (another account and maybe another region)."""
        return Sub(
            f"arn:${{AWS::Partition}}:events:{self.config.region}:"
            f"{self.organization.security_account_id}:event-bus/{self.bus_name}"
        )

    def name(self, base: str) -> str:
        return naming.name(self.config, base)

    def central_rule_arn(self, rule_name: str) -> Sub:
        return Sub(
            "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:"
            f"rule/{self.bus_name}/{rule_name}"
        )

    # Event patterns ---------------------------------------------------------------------------------------

    def member_tamper_pattern(self) -> dict[str, Any]:
        """IAM calls on the member's iam-guard roles and quarantine policy (they arrive in the
        global-services region only)."""
        role_names = self.member_role_names
        detail: dict[str, Any] = {
            "$or": [
                {"requestParameters": {"roleName": role_names}},
                {"requestParameters": {"policyArn": [{"suffix": f":policy/{self.quarantine_policy_name}"}]}},
            ]
        }
        return events.cloudtrail_call_pattern(
            source="aws.iam",
            event_source="iam.amazonaws.com",
            event_names=sorted({*MEMBER_ROLE_TAMPER_EVENTS, *MEMBER_POLICY_TAMPER_EVENTS}),
            detail=detail,
        )

    def member_canary_pattern(self) -> dict[str, Any]:
        """The member canary's TagPolicy of its canary policy, in any account (the analyzer checks that
        the ARN is the event account's own and that the tag key is the canary's)."""
        return events.cloudtrail_call_pattern(
            source="aws.iam",
            event_source="iam.amazonaws.com",
            event_names=[contract.CANARY_EVENT_NAME],
            detail={
                "requestParameters": {"policyArn": [{"suffix": f":policy/{self.member_canary_policy_name}"}]}
            },
        )

    @staticmethod
    def trail_tamper_pattern() -> dict[str, Any]:
        """Any trail of the member's region stopped, deleted or narrowed."""
        return events.cloudtrail_call_pattern(
            source="aws.cloudtrail",
            event_source="cloudtrail.amazonaws.com",
            event_names=list(TRAIL_TAMPER_EVENTS),
        )
