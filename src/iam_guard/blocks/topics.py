"""The security alert topic: KMS-encrypted, email subscriptions, a TLS-only publisher policy (MON-7)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from awacs.aws import Statement
from troposphere import GetAtt, Ref, Template, kms, sns

from iam_guard.policies import document
from iam_guard.policies.common import deny_insecure_transport_statement


def encrypted_topic(logical_id: str, *, name: str, display_name: str, key: kms.Key) -> sns.Topic:
    """A standard topic encrypted with the customer key; the key's policy must admit every publisher's
    service (CloudWatch alarms) or their messages are dropped silently (CON-3)."""
    return sns.Topic(
        logical_id,
        TopicName=name,
        DisplayName=display_name,
        KmsMasterKeyId=GetAtt(key, "Arn"),
    )


def email_subscriptions(
    prefix: str, *, topic: sns.Topic, emails: Sequence[str]
) -> list[sns.SubscriptionResource]:
    """One email subscription per address; each address confirms by email before it receives alerts."""
    return [
        sns.SubscriptionResource(f"{prefix}{index}", Protocol="email", Endpoint=email, TopicArn=Ref(topic))
        for index, email in enumerate(emails, start=1)
    ]


def tls_only_topic_policy(
    logical_id: str, *, topic: sns.Topic, statements: Sequence[Statement]
) -> sns.TopicPolicy:
    """The topic policy: non-TLS publishing is denied, then `statements` name the allowed publishers."""
    return sns.TopicPolicy(
        logical_id,
        Topics=[Ref(topic)],
        PolicyDocument=document([deny_insecure_transport_statement([Ref(topic)], "sns"), *statements]),
    )


def add_alert_topic(
    template: Template,
    base_id: str,
    *,
    name: str,
    display_name: str,
    key: kms.Key,
    emails: Sequence[str],
    publishers: Callable[[Ref], Sequence[Statement]],
    subscription_prefix: str | None = None,
) -> tuple[sns.Topic, sns.TopicPolicy]:
    """An alert topic with its three parts, added to `template`: `<base_id>Topic` encrypted with `key`, one
    email subscription per address (`<base_id>Email<n>` unless `subscription_prefix` says otherwise), and
    `<base_id>TopicPolicy`: TLS only, then the statements `publishers` returns for the topic's ARN."""
    topic = template.add_resource(
        encrypted_topic(f"{base_id}Topic", name=name, display_name=display_name, key=key)
    )
    for subscription in email_subscriptions(
        subscription_prefix or f"{base_id}Email", topic=topic, emails=emails
    ):
        template.add_resource(subscription)
    policy = template.add_resource(
        tls_only_topic_policy(f"{base_id}TopicPolicy", topic=topic, statements=publishers(Ref(topic)))
    )
    return topic, policy
