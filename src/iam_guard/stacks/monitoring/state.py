"""The state table of the handlers (H-5): audit runs and handled CloudTrail events, one table, the key
schema and TTL attribute of iam_guard.contract."""

from __future__ import annotations

from iam_guard import contract
from iam_guard.blocks.tables import encrypted_table
from iam_guard.stacks.monitoring.plan import Parts, Plan


def add_state_table(parts: Parts, plan: Plan) -> None:
    """H-5: encrypted with the stack key, PITR, TTL on the contract's attribute, retained."""
    parts.table = parts.add(
        encrypted_table(
            "StateTable",
            name=plan.state_table_name,
            key=parts.key,
            partition_key=contract.STATE_TABLE_PARTITION_KEY,
            sort_key=contract.STATE_TABLE_SORT_KEY,
            ttl_attribute=contract.STATE_TABLE_TTL_ATTRIBUTE,
        )
    )
