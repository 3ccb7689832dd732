"""ORG-2's glue to ORG-3/ORG-4: the reach record a worker writes for each principal it audits, and the
consolidated report the consolidator builds from every audited account's records.

Records of an account's run (JSON lines in its parts, run_store/audit_run's format):
- {"kind": "audit-finding", ...}: one finding (audit_records.compact_finding: entity, policy, code,
  severity, message, remediation, ...);
- {"kind": "reach", "runId", "reach": PrincipalReach.to_dict()}: what a principal brings to the
  organization's graph (iam_guard.analysis.account.reach_of_unit).
The report (lambda_handlers/org_report.py) takes one entry per account that was audited or failed; the
management account, which the fan-out never audits, is listed under "notAudited" with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from audit_records import record_line
from iam_guard.analysis import Finding
from iam_guard.analysis.account import AuditUnit, reach_of_unit
from iam_guard.analysis.cross_account import ReachPath, reach_paths
from iam_guard.analysis.principal_reach import PrincipalReach
from lambda_support import log
from org_report import consolidated_report, finding_record, render_html

MAX_HOPS = 3


def reach_lines(run_id: str, account_id: str, unit: AuditUnit, findings: Sequence[Finding]) -> list[str]:
    """The reach record of the principal behind `unit` (none for a single policy)."""
    reach = reach_of_unit(account_id, unit, list(findings))
    if reach is None:
        return []
    return [record_line({"kind": "reach", "runId": run_id, "reach": reach.to_dict()})]


def build_report(
    org_run_id: str,
    generated_at: str,
    accounts: Sequence[Mapping[str, Any]],
    records_by_account: Mapping[str, list[dict[str, Any]]],
    organization_id: str,
) -> tuple[dict[str, Any], str, list[ReachPath]]:
    """(report JSON, report HTML, cross-account paths) of an org run. `accounts`: org_run_store's
    AccountItem.to_dict() of every account, plus the management account as "not-audited"."""
    entries: list[dict[str, Any]] = []
    not_audited: list[dict[str, Any]] = []
    reaches: list[PrincipalReach] = []
    for account in accounts:
        account_id = str(account["accountId"])
        status = str(account["status"])
        if status not in ("audited", "failed"):
            not_audited.append({"account": account_id, "reason": account.get("reason", "")})
            continue
        records: list[dict[str, Any]] = []
        for record in records_by_account.get(account_id, []) if status == "audited" else []:
            if record.get("kind") == "audit-finding":
                records.append(
                    finding_record(
                        account_id, str(record.get("entity", "")), str(record.get("policy", "")), record
                    )
                )
            elif record.get("kind") == "reach":
                try:
                    reaches.append(PrincipalReach.from_dict(record.get("reach")))
                except ValueError as problem:
                    log("WARNING", "reach record skipped", account=account_id, reason=str(problem)[:300])
        entries.append(
            {
                "account": account_id,
                "status": status,
                "error": account.get("reason") or None,
                "records": records,
            }
        )
    paths = reach_paths(reaches, MAX_HOPS, organization_id=organization_id)
    report = consolidated_report(org_run_id, generated_at, entries, [path.to_dict() for path in paths])
    report["notAudited"] = not_audited
    report["principalsWithReach"] = len(reaches)
    return report, render_html(report), paths
