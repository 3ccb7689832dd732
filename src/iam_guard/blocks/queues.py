"""SQS queues, always encrypted with the customer-managed key and TLS-only (MON-2, CON-3, CON-5)."""

from __future__ import annotations

from collections.abc import Sequence

from awacs.aws import Statement
from troposphere import GetAtt, Ref, kms, sqs

from iam_guard.policies import document
from iam_guard.policies.common import deny_insecure_transport_statement

FOURTEEN_DAYS_SECONDS = 14 * 24 * 3600
# How long SQS reuses a data key before asking KMS again: fewer KMS calls, still short-lived.
DATA_KEY_REUSE_SECONDS = 300
DELETE = "Delete"


def encrypted_queue(
    logical_id: str,
    *,
    name: str,
    key: kms.Key,
    visibility_timeout_seconds: int = 30,
    retention_seconds: int = FOURTEEN_DAYS_SECONDS,
    dead_letter_queue: sqs.Queue | None = None,
    max_receive_count: int = 3,
) -> sqs.Queue:
    """A standard queue encrypted with the customer key (SSE-KMS). With `dead_letter_queue`, a message
    received `max_receive_count` times without being deleted moves there instead of looping forever.

    Deleted with the stack, deliberately (DeletionPolicy stated, cfn-lint I3011): a queue holds transient
    work, every message reaching a dead-letter queue is alarmed when it arrives, and a retained queue
    would keep its name and block the next deployment of the stack."""
    extra = {}
    if dead_letter_queue is not None:
        extra["RedrivePolicy"] = sqs.RedrivePolicy(
            deadLetterTargetArn=GetAtt(dead_letter_queue, "Arn"), maxReceiveCount=max_receive_count
        )
    return sqs.Queue(
        logical_id,
        QueueName=name,
        KmsMasterKeyId=GetAtt(key, "Arn"),
        KmsDataKeyReusePeriodSeconds=DATA_KEY_REUSE_SECONDS,
        MessageRetentionPeriod=retention_seconds,
        VisibilityTimeout=visibility_timeout_seconds,
        DeletionPolicy=DELETE,
        UpdateReplacePolicy=DELETE,
        **extra,
    )


def tls_only_queue_policy(
    logical_id: str, *, queue: sqs.Queue, statements: Sequence[Statement] = ()
) -> sqs.QueuePolicy:
    """A queue policy that always starts with the deny of non-TLS requests, then `statements`."""
    queue_arn = GetAtt(queue, "Arn")
    return sqs.QueuePolicy(
        logical_id,
        Queues=[Ref(queue)],
        PolicyDocument=document([deny_insecure_transport_statement([queue_arn], "sqs"), *statements]),
    )
