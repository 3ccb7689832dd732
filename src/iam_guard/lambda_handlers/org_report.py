"""ORG-4: the organization's consolidated report, as JSON (one record per finding) and as a self-contained
HTML page (org_report_html, org_report_graph). Standard library and iam_guard.analysis only: it runs in the
consolidator Lambda, whose zip needs org_report, org_report_html and org_report_graph.

Everything in a report comes from member accounts' audits and is treated as attacker-written: every
string is bounded here and HTML-escaped by the renderer. An account entry that is not what the report
expects never breaks the report: the account is reported as failed with the reason (loud, never dropped).
Ordering is deterministic: accounts by ID, records and worst findings worst first, then account,
principal, policy, code, message; paths worst first, then fewer hops, then their description. Every
record is kept; the paths are kept up to PATHS_KEPT (the worst ones; totals.paths counts all of them and
pathsOmitted says how many were left out: an organization where everyone can reach everything would
otherwise make a report nobody can open).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from iam_guard.analysis import Severity
from iam_guard.analysis.codes import CODES
from org_report_html import render_page

REPORT_KIND = "iam-guard-organization-report"
REPORT_VERSION = 1
STATUSES = ("audited", "failed")
SEVERITY_LABELS: tuple[str, ...] = tuple(level.label for level in sorted(Severity, reverse=True))
WORST_LIMIT = 50
PATHS_KEPT = 10_000  # the worst paths kept in the JSON; totals.paths counts them all, pathsOmitted the rest
FIELD_LIMIT = 2000
NAME_LIMIT = 1024
RECORD_FIELDS = ("account", "principal", "policy", "code", "severity", "title", "message", "remediation")


def bounded(value: Any, limit: int = FIELD_LIMIT) -> str:
    """Untrusted text as a string of at most `limit` characters (a cut says how much was cut)."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    if len(text) <= limit:
        return text
    return text[:limit] + f"... ({len(text) - limit} characters cut)"


def shown(value: Any) -> str:
    """An untrusted value as an error message shows it: its repr, at most 100 characters."""
    return bounded(repr(value), 100)


def severity_label(value: Any) -> str:
    """'high' for 'HIGH' / 'high' / Severity.HIGH; ValueError naming the value otherwise."""
    if isinstance(value, Severity):
        return value.label
    return Severity.parse(str(value)).label


def finding_record(account: str, principal: str, policy: str, finding: Mapping[str, Any]) -> dict[str, Any]:
    """One report record for one finding (a Finding.to_dict()): account, principal, policy, code,
    severity, title, message, remediation. Title and remediation come from the code's metadata
    (iam_guard.analysis.codes.CODES); a code it does not know keeps the finding's own remediation and says
    the code is unknown. ValueError when the severity is not a severity."""
    code = bounded(finding.get("code"), 32)
    info = CODES.get(code)
    return {
        "account": bounded(account, NAME_LIMIT),
        "principal": bounded(principal, NAME_LIMIT),
        "policy": bounded(policy, NAME_LIMIT),
        "code": code,
        "severity": severity_label(finding.get("severity")),
        "title": info.title if info else f"unknown code {code}",
        "message": bounded(finding.get("message")),
        "remediation": info.remediation if info else bounded(finding.get("remediation")),
    }


def record_sort_key(record: Mapping[str, Any]) -> tuple[int, str, str, str, str, str]:
    """Worst first, then account, principal, policy, code, message."""
    return (
        -int(Severity.parse(record["severity"])),
        record["account"],
        record["principal"],
        record["policy"],
        record["code"],
        record["message"],
    )


def _checked_record(record: Any, account: str) -> dict[str, Any]:
    """A record as the report keeps it; ValueError naming the field and the value."""
    if not isinstance(record, Mapping):
        raise ValueError(f"record {shown(record)} is not a JSON object")
    checked: dict[str, Any] = {}
    for field in RECORD_FIELDS:
        value = record.get(field)
        if not isinstance(value, str):
            raise ValueError(f"record field {field!r}: {shown(value)} is not a string")
        checked[field] = bounded(
            value, NAME_LIMIT if field in ("account", "principal", "policy") else FIELD_LIMIT
        )
    if checked["account"] != account:
        raise ValueError(f"record field 'account': {shown(checked['account'])} is not {account}")
    try:
        checked["severity"] = severity_label(checked["severity"])
    except ValueError:
        raise ValueError(
            f"record field 'severity': {shown(record.get('severity'))} is not a severity"
        ) from None
    return checked


def _account_entry(entry: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the account's summary line, its records); an entry that does not check out is a failed account."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"account entry {shown(entry)} is not a JSON object")
    account = entry.get("account")
    if not isinstance(account, str) or not account or len(account) > 64:
        raise ValueError(f"account entry field 'account': {shown(account)} is not an account ID")
    status, error, records = entry.get("status"), entry.get("error"), entry.get("records")
    try:
        if status not in STATUSES:
            raise ValueError(f"field 'status': {shown(status)} is not audited or failed")
        if error is not None and not isinstance(error, str):
            raise ValueError(f"field 'error': {shown(error)} is not a string or null")
        if status == "failed" and not error:
            error = "failed (no error given)"
        if not isinstance(records, list):
            raise ValueError(f"field 'records': {shown(records)} is not a list")
        checked = [_checked_record(record, account) for record in records]
    except ValueError as problem:
        status, error, checked = "failed", f"malformed audit results: {problem}", []
    counts = dict.fromkeys(SEVERITY_LABELS, 0)
    for record in checked:
        counts[record["severity"]] += 1
    line = {
        "account": account,
        "status": status,
        "error": bounded(error) if status == "failed" else None,
        "counts": counts,
        "findings": len(checked),
    }
    return line, checked


def _path_sort_key(path: Mapping[str, Any]) -> tuple[int, int, str]:
    return (-int(Severity.parse(str(path["severity"]))), len(path["hops"]), str(path.get("description", "")))


def _checked_path(path: Any) -> dict[str, Any]:
    """A ReachPath.to_dict(), its shape checked (ValueError naming what is wrong)."""
    if not isinstance(path, Mapping) or not isinstance(path.get("hops"), list) or not path["hops"]:
        raise ValueError(f"path {shown(path)} is not a ReachPath dict with hops")
    severity_label(path.get("severity"))
    for hop in path["hops"]:
        if not isinstance(hop, Mapping) or not all(
            isinstance(hop.get(key), str) for key in ("source", "sourceAccount", "target", "targetAccount")
        ):
            raise ValueError(f"path hop {shown(hop)} lacks source/target ARNs and accounts")
    return dict(path)


def consolidated_report(
    run_id: str, generated_at: str, accounts: Sequence[Mapping[str, Any]], paths: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The organization's JSON report. `accounts`: one {"account", "status": "audited"|"failed", "error",
    "records": [finding_record(...)]} per account; `paths`: ReachPath.to_dict() of reach_paths. ValueError
    when an account appears twice or a path is malformed (the consolidator's own data); a malformed
    account entry is reported as a failed account instead."""
    lines: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in accounts:
        line, checked = _account_entry(entry)
        if line["account"] in seen:
            raise ValueError(f"account {shown(line['account'])} appears twice in the report")
        seen.add(line["account"])
        lines.append(line)
        records += checked
    lines.sort(key=lambda line: line["account"])
    records.sort(key=record_sort_key)
    by_severity = dict.fromkeys(SEVERITY_LABELS, 0)
    for record in records:
        by_severity[record["severity"]] += 1
    checked_paths = sorted((_checked_path(path) for path in paths), key=_path_sort_key)
    failed = [
        {"account": line["account"], "error": line["error"]} for line in lines if line["status"] == "failed"
    ]
    return {
        "kind": REPORT_KIND,
        "version": REPORT_VERSION,
        "runId": bounded(run_id, 256),
        "generatedAt": bounded(generated_at, 64),
        "accounts": lines,
        "totals": {
            "accounts": len(lines),
            "audited": len(lines) - len(failed),
            "failed": len(failed),
            "findings": len(records),
            "bySeverity": by_severity,
            "byAccount": {line["account"]: {**line["counts"], "total": line["findings"]} for line in lines},
            "paths": len(checked_paths),
        },
        "pathsOmitted": max(len(checked_paths) - PATHS_KEPT, 0),
        "worstLimit": WORST_LIMIT,
        "worst": records[:WORST_LIMIT],
        "failed": failed,
        "paths": checked_paths[:PATHS_KEPT],
        "records": records,
    }


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page (see org_report_html)."""
    return render_page(report)
