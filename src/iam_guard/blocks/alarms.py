"""CloudWatch alarms that always notify (MON-6): every alarm has the topic as alarm and OK action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Ref, Sub, cloudwatch, sns, sqs

from iam_guard.naming import PROJECT

# Periods and counts of the operational alarms: any failure in five minutes is worth a message.
FIVE_MINUTES_SECONDS = 300
TEN_MINUTES_SECONDS = 600


@dataclass(frozen=True)
class Metric:
    """A CloudWatch metric: namespace, name and its dimensions, with the statistic to alarm on."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, Any], ...]
    statistic: str = "Sum"


def alarm_arn_pattern(name_suffix: str) -> Sub:
    """Every alarm this stack creates: their names are iam-guard-<what>-<environment>-<region>."""
    return Sub(
        "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
        f"{PROJECT}-*-{name_suffix}"
    )


def notifying_alarm(
    logical_id: str,
    *,
    name: str,
    description: str,
    metric: Metric,
    topic: sns.Topic,
    threshold: float,
    period_seconds: int = FIVE_MINUTES_SECONDS,
    evaluation_periods: int = 1,
    comparison: str = "GreaterThanThreshold",
    treat_missing_data: str = "notBreaching",
) -> cloudwatch.Alarm:
    """An alarm on one metric that tells the topic when it fires and when it clears. By default no data
    counts as fine: most of these metrics are only emitted when something happened."""
    return cloudwatch.Alarm(
        logical_id,
        AlarmName=name,
        AlarmDescription=description,
        Namespace=metric.namespace,
        MetricName=metric.name,
        Dimensions=[cloudwatch.MetricDimension(Name=key, Value=value) for key, value in metric.dimensions],
        Statistic=metric.statistic,
        Period=period_seconds,
        EvaluationPeriods=evaluation_periods,
        Threshold=threshold,
        ComparisonOperator=comparison,
        TreatMissingData=treat_missing_data,
        ActionsEnabled=True,
        AlarmActions=[Ref(topic)],
        OKActions=[Ref(topic)],
    )


def rule_metric(metric_name: str, rule_name: Any) -> Metric:
    """AWS/Events metrics of one rule: MatchedEvents, FailedInvocations, ..."""
    return Metric("AWS/Events", metric_name, (("RuleName", rule_name),))


def function_metric(metric_name: str, function: Any) -> Metric:
    """AWS/Lambda metrics of one function: Errors, Throttles, ..."""
    return Metric("AWS/Lambda", metric_name, (("FunctionName", Ref(function)),))


def queue_depth_metric(queue_name: Any) -> Metric:
    """Messages waiting in a queue; a dead-letter queue should hold none."""
    return Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", queue_name),), "Maximum")


def dead_letter_alarm(
    logical_id: str, *, name: str, description: str, queue: sqs.Queue, topic: sns.Topic
) -> cloudwatch.Alarm:
    """A dead-letter queue that holds any message: something failed and is waiting to be looked at."""
    return notifying_alarm(
        logical_id,
        name=name,
        description=description,
        metric=queue_depth_metric(GetAtt(queue, "QueueName")),
        topic=topic,
        threshold=0,
    )


def failed_invocations_alarm(
    logical_id: str,
    *,
    name: str,
    description: str,
    rule_name: Any,
    topic: sns.Topic,
    bus_name: Any = None,
) -> cloudwatch.Alarm:
    """An EventBridge rule (on the default bus, or on `bus_name`) that could not deliver an event to its
    target in five minutes."""
    metric = rule_metric("FailedInvocations", rule_name)
    if bus_name is not None:
        metric = Metric(
            "AWS/Events", "FailedInvocations", (("EventBusName", bus_name), ("RuleName", rule_name))
        )
    return notifying_alarm(
        logical_id, name=name, description=description, metric=metric, topic=topic, threshold=0
    )
