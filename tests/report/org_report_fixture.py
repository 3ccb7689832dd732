"""A realistic organization report for the ORG-4 tests: four member accounts (one failed, one with a
principal named like an XSS payload), records from the analyzer's real findings, and the planted
cross-account path user in A -> role in B -> admin role in C found by reach_paths. Also a DOM reader
for the totals the page carries in data- attributes."""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from typing import Any

from support import HANDLERS_DIR

if str(HANDLERS_DIR) not in sys.path:
    sys.path.insert(0, str(HANDLERS_DIR))  # the handlers are top-level modules, as in their zip

from iam_guard.analysis import analyze_policy
from iam_guard.analysis.cross_account import reach_of_principal, reach_paths
from org_report import consolidated_report, finding_record

A, B, C, D = "111111111111", "222222222222", "333333333333", "444444444444"
XSS_PRINCIPAL = "<script>alert(1)</script>"
XSS_ERROR = '"><img src=x onerror=alert(document.domain)>'


def _statement(action: Any, resource: Any = "*") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
    }


ADMIN = _statement("*")
ESCALATION = _statement(["iam:PassRole", "ec2:RunInstances", "iam:AttachRolePolicy"])
WIDE = _statement(["s3:*", "kms:Decrypt", "secretsmanager:GetSecretValue"])
ASSUME_ANY = _statement("sts:AssumeRole")


def records(account: str, principal: str, policy: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    return [finding_record(account, principal, policy, item.to_dict()) for item in analyze_policy(document)]


def _trust(principal: Any) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


def planted_paths() -> list[dict[str, Any]]:
    deploy = f"arn:aws:iam::{B}:role/Deploy"
    reaches = [
        reach_of_principal(
            A, f"arn:aws:iam::{A}:user/alice", "user", [_statement("sts:AssumeRole", deploy)], None, []
        ),
        reach_of_principal(
            B, deploy, "role", [ASSUME_ANY], _trust({"AWS": f"arn:aws:iam::{A}:user/alice"}), []
        ),
        reach_of_principal(C, f"arn:aws:iam::{C}:role/Admin", "role", [ADMIN], _trust({"AWS": B}), []),
        reach_of_principal(D, f"arn:aws:iam::{D}:role/Ops", "role", [ESCALATION], _trust({"AWS": A}), []),
        reach_of_principal(A, f"arn:aws:iam::{A}:user/bob", "user", [ASSUME_ANY], None, []),
    ]
    return [path.to_dict() for path in reach_paths(reaches)]


def account_entries() -> list[dict[str, Any]]:
    return [
        {
            "account": A,
            "status": "audited",
            "error": None,
            "records": records(A, "user/alice", "assume-deploy", ASSUME_ANY)
            + records(A, XSS_PRINCIPAL, "wide-data", WIDE),
        },
        {
            "account": B,
            "status": "audited",
            "error": None,
            "records": records(B, "role/Deploy", "deploy", ESCALATION),
        },
        {
            "account": C,
            "status": "audited",
            "error": None,
            "records": records(C, "role/Admin", "AdministratorAccess", ADMIN)
            + records(C, "role/Builder", "build", ESCALATION),
        },
        {"account": D, "status": "failed", "error": XSS_ERROR, "records": []},
    ]


def realistic_report() -> dict[str, Any]:
    return consolidated_report("run-2026-12-02", "2026-12-02T03:00:00Z", account_entries(), planted_paths())


class DomTotals(HTMLParser):
    """The counts a page carries: per account and severity (data-account + data-severity + data-count),
    the overall totals (id total-<severity>, total-findings), and the failed accounts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.by_account: dict[str, dict[str, int]] = {}
        self.overall: dict[str, int] = {}
        self.failed: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        count = attributes.get("data-count")
        if count is None:
            pass
        elif attributes.get("id", "") and str(attributes["id"]).startswith("total-"):
            self.overall[str(attributes["id"]).removeprefix("total-")] = int(count)
        elif attributes.get("data-account") is not None and attributes.get("data-severity") is not None:
            account = str(attributes["data-account"])
            self.by_account.setdefault(account, {})[str(attributes["data-severity"])] = int(count)
        if attributes.get("data-failed-account") is not None:
            self.failed.append(str(attributes["data-failed-account"]))


def dom_totals(page: str) -> DomTotals:
    parser = DomTotals()
    parser.feed(page)
    parser.close()
    return parser


def json_totals(report: dict[str, Any]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """(per account {severity: n, 'total': n}, overall {severity: n, 'findings': n}) from the JSON."""
    overall = {**report["totals"]["bySeverity"], "findings": report["totals"]["findings"]}
    return report["totals"]["byAccount"], overall
