"""The quarantine policy and the roles of the monitoring stack (MON-5, MON-10, CON-2, H-3)."""

from __future__ import annotations

from typing import Any

from troposphere import (
    GetAtt,
    Parameter,
    Ref,
    Tags,
    iam,
)

from iam_guard import arns
from iam_guard.blocks.roles import inline_policy, role
from iam_guard.policies import audit_role as audit_policies
from iam_guard.policies import document, heartbeat, quarantine
from iam_guard.policies import monitoring as mon
from iam_guard.policies import state_table as state
from iam_guard.policies.common import deny_outside_regions_statement, deny_sensitive_actions_statement
from iam_guard.policies.trust import cross_account_external_id_trust, service_trust
from iam_guard.stacks.monitoring.plan import Parts, Plan

AUDIT_ROLE_SOURCE_IP_NOTE = (
    "No aws:SourceIp condition on the cross-account audit role: the auditor calls IAM's public endpoint "
    "from the auditing account's egress addresses (or from Lambda), which the internal allowed_cidrs never "
    "match, so the guard would only make the role unusable. The external ID, the account-bound trust, the "
    "requested-region guard, the read-only allow list with a NotAction deny and the one-hour session limit "
    "its use instead; iam-guard's own remote audit narrows each session further with a session policy."
)
QUARANTINE_POLICY_NOTE = (
    "Created in every remediation mode (it is unattached and grants nothing), so QUARANTINE_POLICY_ARN is "
    "always set; only in quarantine mode may the PolicyAnalyzer role attach it."
)

AUDIT_TRUST_REASON = (
    "The trust requires sts:ExternalId equal to the NoEcho AuditExternalId parameter (32+ characters) and "
    "names only the configured audit accounts; the role it opens is read-only with explicit denies."
)
QUARANTINE_ATTACH_REASON = (
    "H-3 quarantine: Attach*Policy is allowed only with iam:PolicyARN equal to the stack's deny-all "
    "quarantine policy and only while the role carries the remediator tag; attaching any other policy is "
    "explicitly denied, so the grant can only take permissions away. Put*Policy (the inline deny when the "
    "principal's managed-policy quota is full) needs the same tag; IAM has no condition key on an inline "
    "policy's name or content, so the handler writes only contract.QUARANTINE_INLINE_POLICY_NAME with a "
    "deny-all document, the function's code is tamper-alarmed (MON-12), and both grants are explicitly "
    "denied on the stack's own roles and the configured exempt principals."
)


def add_quarantine_policy(parts: Parts, plan: Plan) -> None:
    """H-3, CON-2: the explicit deny-all policy quarantine attaches (see QUARANTINE_POLICY_NOTE)."""
    parts.quarantine = parts.add(
        iam.ManagedPolicy(
            "QuarantinePolicy",
            ManagedPolicyName=plan.names.iam("Quarantine"),
            Description="iam-guard quarantine: explicit deny of every action, for offending principals",
            PolicyDocument=document([quarantine.quarantine_deny_all_statement()]),
            Metadata={"iam-guard": {"notes": [QUARANTINE_POLICY_NOTE]}},
        )
    )


def _common_function_statements(parts: Parts, plan: Plan) -> list[Any]:
    return [
        mon.publish_alerts_statement(Ref(parts.topic)),
        mon.use_key_through_messaging_statement(GetAtt(parts.key, "Arn")),
        state.use_key_through_dynamodb_statement(GetAtt(parts.key, "Arn")),
        deny_outside_regions_statement(mon.stack_regions(plan.config.region)),
    ]


def _analyzer_statements(parts: Parts, plan: Plan) -> list[Any]:
    """The handlers contract for policy_change; Attach*Policy only in quarantine mode, tightly scoped."""
    quarantine_arn = Ref(parts.quarantine)
    statements = [
        mon.read_policies_statement(),
        mon.write_logs_statement(
            [plan.log_group_arn("SecurityEventsLogGroup"), plan.log_group_arn("PolicyAnalyzerLogGroup")]
        ),
        mon.send_to_dead_letter_queue_statement(GetAtt(parts.queues["PolicyAnalyzerDlq"], "Arn")),
        state.analyzer_events_statement(GetAtt(parts.table, "Arn")),
        *_common_function_statements(parts, plan),
    ]
    if plan.quarantining:
        statements.extend(quarantine.quarantine_statements(quarantine_arn))
        statements.append(quarantine.deny_attach_other_policies_statement(quarantine_arn))
        statements.append(
            quarantine.deny_quarantining_exempt_principals_statement(plan.exempt_principal_arns)
        )
    exempt = (
        (*quarantine.QUARANTINE_ATTACH_ACTIONS, *quarantine.QUARANTINE_INLINE_ACTIONS)
        if plan.quarantining
        else ()
    )
    statements.append(deny_sensitive_actions_statement(exempt=exempt))
    return statements


def _auditor_statements(parts: Parts, plan: Plan) -> list[Any]:
    """The handlers contract for daily_audit."""
    return [
        mon.read_account_authorization_statement(),
        mon.read_policies_statement(),
        mon.write_logs_statement(
            [plan.log_group_arn("SecurityEventsLogGroup"), plan.log_group_arn("DailyAuditorLogGroup")]
        ),
        mon.send_to_dead_letter_queue_statement(GetAtt(parts.queues["DailyAuditorDlq"], "Arn")),
        mon.use_continuation_queue_statement(GetAtt(parts.queues["AuditContinuationQueue"], "Arn")),
        state.auditor_runs_statement(GetAtt(parts.table, "Arn")),
        *heartbeat.read_trail_status_statements(plan.trail_arn),
        *_common_function_statements(parts, plan),
        deny_sensitive_actions_statement(),
    ]


def add_function_roles(parts: Parts, plan: Plan) -> None:
    """MON-5, CON-2: the execution roles, assumed by Lambda for this account only, one-hour sessions."""
    analyzer_role = role(
        "PolicyAnalyzerRole",
        name=plan.analyzer_role_name,
        description="Execution role of the PolicyAnalyzer function: reads policies, alerts, quarantines.",
        trust=service_trust("lambda.amazonaws.com"),
        policies=[inline_policy("AnalyzePolicyChanges", document(_analyzer_statements(parts, plan)))],
    )
    if plan.quarantining:
        analyzer_role.Metadata = {
            "iam-guard": {"suppressions": [{"code": "IAMG006", "reason": QUARANTINE_ATTACH_REASON}]}
        }
        analyzer_role.Tags = Tags({quarantine.REMEDIATOR_TAG_KEY: quarantine.REMEDIATOR_TAG_VALUE})
    parts.roles["PolicyAnalyzerRole"] = parts.add(analyzer_role)
    parts.roles["DailyAuditorRole"] = parts.add(
        role(
            "DailyAuditorRole",
            name=plan.auditor_role_name,
            description="Execution role of the DailyAuditor function: reads every IAM policy, alerts.",
            trust=service_trust("lambda.amazonaws.com"),
            policies=[inline_policy("AuditAllPolicies", document(_auditor_statements(parts, plan)))],
        )
    )


def add_audit_role(parts: Parts, plan: Plan) -> None:
    """MON-10: read-only IAM metadata for the trusted audit accounts, with the NoEcho external ID."""
    external_id = parts.template.add_parameter(
        Parameter(
            "AuditExternalId",
            Type="String",
            NoEcho=True,
            MinLength=32,
            MaxLength=1224,
            AllowedPattern=r"[\w+=,.@:/-]+",
            ConstraintDescription="32 or more characters of letters, digits and + = , . @ : / - _",
            Description="External ID the trusted audit accounts pass to sts:AssumeRole (a shared secret)",
        )
    )
    audit_role = role(
        "CrossAccountAuditRole",
        name=plan.audit_role_name,
        description="Read-only IAM audit from the trusted audit accounts, with the external ID.",
        trust=cross_account_external_id_trust(
            [arns.account_root_of(account) for account in plan.settings.trusted_audit_account_ids],
            Ref(external_id),
        ),
        policies=[
            inline_policy(
                "ReadOnlyIamAudit",
                document(audit_policies.read_only_audit_statements(plan.config.region)),
            )
        ],
    )
    audit_role.Metadata = {
        "iam-guard": {
            "notes": [AUDIT_ROLE_SOURCE_IP_NOTE],
            "suppressions": [{"code": "IAMG009", "reason": AUDIT_TRUST_REASON}],
        }
    }
    parts.roles["CrossAccountAuditRole"] = parts.add(audit_role)
