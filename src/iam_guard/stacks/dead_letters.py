"""The encrypted dead-letter queue of EventBridge rules that forward events, with the key it needs: one
unit shared by the us-east-1 forwarder, the organization member's forwarder and the central bus."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Template, kms, sqs

from iam_guard.blocks.kms import customer_managed_key, key_alias
from iam_guard.blocks.queues import encrypted_queue, tls_only_queue_policy
from iam_guard.policies import monitoring as mon


def add_rule_dead_letters(
    template: Template,
    *,
    key_id: str,
    key_description: str,
    alias: str,
    queue_id: str,
    queue_name: str,
    rule_arns: list[Any],
    alarm_pattern: Any,
) -> tuple[kms.Key, sqs.Queue]:
    """A key the rules, the alarms and the account's messaging may use (CON-3), its alias, and an encrypted
    TLS-only queue only those rules may send to (CON-5). Adds `<key_id>Alias` and `<queue_id>Policy`."""
    key = template.add_resource(
        customer_managed_key(
            key_id,
            description=key_description,
            usage=[
                mon.events_use_key_statement(rule_arns),
                mon.alarms_use_key_statement(alarm_pattern),
                mon.account_messaging_use_key_statement(),
            ],
        )
    )
    template.add_resource(key_alias(f"{key_id}Alias", alias=alias, key=key))
    dlq = template.add_resource(encrypted_queue(queue_id, name=queue_name, key=key))
    template.add_resource(
        tls_only_queue_policy(
            f"{queue_id}Policy",
            queue=dlq,
            statements=[mon.events_send_to_queue_statement(GetAtt(dlq, "Arn"), rule_arns)],
        )
    )
    return key, dlq
