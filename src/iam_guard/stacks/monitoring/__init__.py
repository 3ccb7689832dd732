"""Stack 1: IAM security monitoring and remediation (MON-1 to MON-11, CON-1 to CON-5, EDGE-1 to EDGE-5).

A customer-managed key encrypts everything that holds data: the security and function log groups, the
alert topic, the queues and the trail. An EventBridge rule sends every IAM policy change to the
PolicyAnalyzer function; a daily schedule runs the DailyAuditor, which hands long audits over to itself
through an encrypted continuation queue. Alarms on the rule's own MatchedEvents (independent of the
analyzer), on function errors and throttles, on dead-letter queue depth and on failed deliveries all
notify the encrypted topic, whose policy admits only this account's alarms and functions. A hardened
multi-region trail feeds EventBridge unless the config names an existing one; an optional cross-account
audit role reads IAM metadata with an external ID and nothing else.
"""

from __future__ import annotations

from troposphere import Template

from iam_guard.blocks.kms import key_alias
from iam_guard.config import Config
from iam_guard.stacks.monitoring.alarms import add_alarms
from iam_guard.stacks.monitoring.canary import add_canary
from iam_guard.stacks.monitoring.foundation import (
    add_log_groups,
    add_parameters,
    add_queues,
    add_topic,
    stack_key,
)
from iam_guard.stacks.monitoring.functions import add_functions, add_rules
from iam_guard.stacks.monitoring.outputs import add_outputs
from iam_guard.stacks.monitoring.plan import (
    KEY_ALIAS_BASE,
    Parts,
    Plan,
    forwarder_role_name,
    security_log_group_name,
)
from iam_guard.stacks.monitoring.roles import add_audit_role, add_function_roles, add_quarantine_policy
from iam_guard.stacks.monitoring.state import add_state_table
from iam_guard.stacks.monitoring.tamper import add_tamper_rules
from iam_guard.stacks.monitoring.trail import add_trail, existing_trail_metadata

__all__ = ["build", "forwarder_role_name", "security_log_group_name"]


def build(config: Config) -> Template:
    """The monitoring template of `config` (see the module docstring)."""
    plan = Plan.of(config)
    template = Template(
        Description=(
            f"iam-guard IAM security monitoring ({config.environment}, {config.region}): analyzes every IAM "
            "policy change and audits all policies daily; KMS-encrypted logs, topic and queues; alarms."
        )
    )
    parts = Parts(template=template, key=template.add_resource(stack_key(plan)))
    add_parameters(parts)
    parts.add(key_alias("MonitoringKeyAlias", alias=plan.names.resource(KEY_ALIAS_BASE), key=parts.key))
    add_log_groups(parts, plan)
    add_topic(parts, plan)
    add_queues(parts, plan)
    add_quarantine_policy(parts, plan)
    add_state_table(parts, plan)
    add_function_roles(parts, plan)
    if plan.settings.trusted_audit_account_ids:
        add_audit_role(parts, plan)
    add_functions(parts, plan)
    add_rules(parts, plan)
    add_canary(parts, plan)
    add_tamper_rules(parts, plan)
    add_alarms(parts, plan)
    if plan.creates_trail:
        parts.trail = add_trail(template, config, plan.names, parts.key, plan.trail_name)
    else:
        template.set_metadata(existing_trail_metadata(plan.settings.existing_trail_arn or ""))
    add_outputs(parts, plan)
    return template
