"""The operational alarms of the monitoring stack (MON-6, EDGE-4)."""

from __future__ import annotations

from iam_guard import contract
from iam_guard.blocks import alarms
from iam_guard.stacks.monitoring.plan import (
    CHANGE_ALARM_BASE,
    DEAD_LETTER_QUEUES,
    METRICS_NAMESPACE,
    ONE_DAY_SECONDS,
    Parts,
    Plan,
)


def add_alarms(parts: Parts, plan: Plan) -> None:
    """MON-6, EDGE-4: the change-rate alarm on MatchedEvents, errors and throttles, DLQ depth, failed
    deliveries and a missing daily audit; every one notifies the topic."""
    names = plan.names
    topic = parts.topic
    threshold = plan.settings.policy_change_alarm_threshold
    parts.add(
        alarms.notifying_alarm(
            "PolicyChangeRateAlarm",
            name=names.resource(CHANGE_ALARM_BASE),
            description=(
                f"More than {threshold} IAM policy changes in 10 minutes "
                "(the rule's MatchedEvents: counted even when the analyzer fails)"
            ),
            metric=alarms.rule_metric("MatchedEvents", plan.change_rule_name),
            topic=topic,
            threshold=threshold,
            period_seconds=alarms.TEN_MINUTES_SECONDS,
        )
    )
    for base, physical in (("PolicyAnalyzer", "policy-analyzer"), ("DailyAuditor", "daily-auditor")):
        for metric_name in ("Errors", "Throttles"):
            parts.add(
                alarms.notifying_alarm(
                    f"{base}{metric_name}Alarm",
                    name=names.resource(f"{physical}-{metric_name.lower()}"),
                    description=f"{physical}: {metric_name} > 0 in 5 minutes",
                    metric=alarms.function_metric(metric_name, parts.functions[base]),
                    topic=topic,
                    threshold=0,
                )
            )
    for logical_id, base in DEAD_LETTER_QUEUES.items():
        queue = parts.queues[logical_id]
        parts.add(
            alarms.dead_letter_alarm(
                f"{logical_id}DepthAlarm",
                name=names.resource(f"{base}-depth"),
                description=f"{queue.QueueName}: messages waiting in a dead-letter queue (something failed)",
                queue=queue,
                topic=topic,
            )
        )
    for logical_id, rule_name, base in (
        ("IamPolicyChangeRule", plan.change_rule_name, "iam-policy-changes"),
        ("DailyAuditSchedule", plan.schedule_rule_name, "daily-audit"),
    ):
        parts.add(
            alarms.failed_invocations_alarm(
                f"{logical_id}FailedInvocationsAlarm",
                name=names.resource(f"{base}-failed-invocations"),
                description=f"{rule_name}: EventBridge could not invoke the target",
                rule_name=rule_name,
                topic=topic,
            )
        )
    parts.add(
        alarms.notifying_alarm(
            "DailyAuditMissingAlarm",
            name=names.resource("daily-audit-missing"),
            description=(
                "No policy audited in a day: the daily audit did not run or did not finish (after a new "
                "deployment it also fires until the first audit at the configured hour has completed)"
            ),
            metric=alarms.Metric(
                METRICS_NAMESPACE,
                contract.POLICIES_AUDITED_METRIC,
                (("Environment", plan.config.environment),),
            ),
            topic=topic,
            threshold=1,
            period_seconds=ONE_DAY_SECONDS,
            comparison="LessThanThreshold",
            treat_missing_data="breaching",
        )
    )
