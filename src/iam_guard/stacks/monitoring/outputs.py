"""The monitoring stack's exported outputs (EDGE-3)."""

from __future__ import annotations

from typing import Any

from troposphere import (
    GetAtt,
    Ref,
)

from iam_guard.outputs import add_exported_outputs
from iam_guard.stacks.monitoring.canary import CANARY_ALARM_BASE
from iam_guard.stacks.monitoring.plan import CHANGE_ALARM_BASE, STACK, Parts, Plan


def add_outputs(parts: Parts, plan: Plan) -> None:
    """EDGE-3: every output exported under iam-guard-monitoring-<environment>-<OutputKey>."""
    queues, functions, roles, rules = parts.queues, parts.functions, parts.roles, parts.rules
    outputs: dict[str, tuple[str, Any]] = {
        "StackKeyArn": ("Customer-managed key of the monitoring stack", GetAtt(parts.key, "Arn")),
        "AlertTopicArn": ("Security alert topic", Ref(parts.topic)),
        "SecurityLogGroupName": ("Security events log group", Ref(parts.groups["SecurityEventsLogGroup"])),
        "PolicyAnalyzerFunctionName": ("PolicyAnalyzer function", Ref(functions["PolicyAnalyzer"])),
        "PolicyAnalyzerFunctionArn": (
            "PolicyAnalyzer function ARN",
            GetAtt(functions["PolicyAnalyzer"], "Arn"),
        ),
        "DailyAuditorFunctionName": ("DailyAuditor function", Ref(functions["DailyAuditor"])),
        "DailyAuditorFunctionArn": ("DailyAuditor function ARN", GetAtt(functions["DailyAuditor"], "Arn")),
        "PolicyAnalyzerDlqUrl": ("Dead-letter queue of the PolicyAnalyzer", Ref(queues["PolicyAnalyzerDlq"])),
        "PolicyAnalyzerDlqArn": (
            "Dead-letter queue ARN of the PolicyAnalyzer",
            GetAtt(queues["PolicyAnalyzerDlq"], "Arn"),
        ),
        "DailyAuditorDlqUrl": ("Dead-letter queue of the DailyAuditor", Ref(queues["DailyAuditorDlq"])),
        "DailyAuditorDlqArn": (
            "Dead-letter queue ARN of the DailyAuditor",
            GetAtt(queues["DailyAuditorDlq"], "Arn"),
        ),
        "EventDeliveryDlqUrl": (
            "Dead-letter queue of the EventBridge targets",
            Ref(queues["EventDeliveryDlq"]),
        ),
        "EventDeliveryDlqArn": (
            "Dead-letter queue ARN of the EventBridge targets",
            GetAtt(queues["EventDeliveryDlq"], "Arn"),
        ),
        "ContinuationQueueUrl": (
            "Continuation queue of the daily audit",
            Ref(queues["AuditContinuationQueue"]),
        ),
        "ContinuationDlqUrl": (
            "Dead-letter queue of the continuation queue",
            Ref(queues["AuditContinuationDlq"]),
        ),
        "IamChangeRuleName": ("EventBridge rule of IAM policy changes", Ref(rules["IamPolicyChangeRule"])),
        "IamChangeRuleArn": (
            "EventBridge rule ARN of IAM policy changes",
            GetAtt(rules["IamPolicyChangeRule"], "Arn"),
        ),
        "DailyAuditRuleName": ("EventBridge schedule of the daily audit", Ref(rules["DailyAuditSchedule"])),
        "PolicyChangeAlarmName": (
            "Alarm on the IAM policy change rate",
            plan.names.resource(CHANGE_ALARM_BASE),
        ),
        "StateTableName": ("State table of the handlers (audit runs, handled events)", Ref(parts.table)),
        "StateTableArn": ("State table ARN", GetAtt(parts.table, "Arn")),
        "CanaryScheduleName": (
            "MON-13 heartbeat schedule (tags the quarantine policy)",
            plan.canary_schedule_name,
        ),
        "CanaryArrivalRuleName": ("Rule bringing the canary's event to the analyzer", plan.canary_rule_name),
        "HeartbeatAlarmName": (
            "Alarm when no canary arrived in two intervals",
            plan.names.resource(CANARY_ALARM_BASE),
        ),
        "QuarantinePolicyArn": (
            "Explicit deny-all policy attached in quarantine mode",
            Ref(parts.quarantine),
        ),
        "PolicyAnalyzerRoleArn": (
            "Execution role of the PolicyAnalyzer",
            GetAtt(roles["PolicyAnalyzerRole"], "Arn"),
        ),
        "DailyAuditorRoleArn": (
            "Execution role of the DailyAuditor",
            GetAtt(roles["DailyAuditorRole"], "Arn"),
        ),
    }
    if "CrossAccountAuditRole" in roles:
        outputs["AuditRoleArn"] = (
            "Cross-account read-only audit role",
            GetAtt(roles["CrossAccountAuditRole"], "Arn"),
        )
    if parts.trail is not None:
        outputs["TrailArn"] = ("CloudTrail trail feeding EventBridge", GetAtt(parts.trail, "Arn"))
        outputs["TrailBucketName"] = ("Bucket of the trail's log files", parts.trail.S3BucketName)
    add_exported_outputs(parts.template, plan.config, STACK, outputs)
