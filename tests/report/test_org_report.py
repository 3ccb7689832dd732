"""ORG-4: the organization's consolidated report. The JSON's totals are those of its records, the HTML's
totals those of the JSON (read from the page's DOM), every attacker-chosen name renders inert, the page
references nothing outside itself, long lists say what they leave out, and the output is deterministic."""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

import pytest
from org_report_fixture import (
    XSS_ERROR,
    XSS_PRINCIPAL,
    A,
    B,
    C,
    D,
    account_entries,
    dom_totals,
    json_totals,
    planted_paths,
    realistic_report,
    records,
)

from iam_guard.analysis.codes import CODES
from org_report import PATHS_KEPT, WORST_LIMIT, consolidated_report, finding_record, render_html
from org_report_html import RECORDS_SHOWN


def test_org_4_finding_record_takes_title_and_remediation_from_the_code_metadata() -> None:
    finding = {"code": "IAMG001", "severity": "critical", "message": "statement 0 allows every action"}
    record = finding_record(A, "role/Admin", "AdministratorAccess", finding)
    assert record == {
        "account": A,
        "principal": "role/Admin",
        "policy": "AdministratorAccess",
        "code": "IAMG001",
        "severity": "critical",
        "title": CODES["IAMG001"].title,
        "message": "statement 0 allows every action",
        "remediation": CODES["IAMG001"].remediation,
    }
    unknown = finding_record(A, "p", "q", {"code": "IAMG999", "severity": "HIGH", "remediation": "fix it"})
    assert unknown["title"] == "unknown code IAMG999" and unknown["remediation"] == "fix it"
    assert unknown["severity"] == "high"
    with pytest.raises(ValueError, match="'severe'"):
        finding_record(A, "p", "q", {"code": "IAMG001", "severity": "severe"})


def test_org_4_json_totals_equal_the_records() -> None:
    report = realistic_report()
    every = [record for entry in account_entries() for record in entry["records"]]
    assert report["totals"]["findings"] == len(every) == len(report["records"])
    assert report["totals"]["bySeverity"] == {
        level: sum(1 for record in every if record["severity"] == level)
        for level in ("critical", "high", "medium", "low", "info")
    }
    for account, counts in report["totals"]["byAccount"].items():
        mine = Counter(record["severity"] for record in every if record["account"] == account)
        assert counts == {
            **{level: mine[level] for level in counts if level != "total"},
            "total": sum(mine.values()),
        }
    assert report["totals"]["bySeverity"]["critical"] >= 1 and report["totals"]["byAccount"][D]["total"] == 0
    assert [line["account"] for line in report["accounts"]] == [A, B, C, D]
    assert (
        report["totals"]["accounts"] == 4
        and report["totals"]["audited"] == 3
        and report["totals"]["failed"] == 1
    )


def test_org_4_worst_findings_come_first_and_every_record_is_kept() -> None:
    report = realistic_report()
    order = ["critical", "high", "medium", "low", "info"]
    severities = [order.index(record["severity"]) for record in report["records"]]
    assert severities == sorted(severities)
    assert report["worst"] == report["records"][:WORST_LIMIT]
    assert report["worst"][0]["code"] == "IAMG001" and report["worst"][0]["account"] == C


def test_org_4_failed_accounts_are_reported_with_their_error() -> None:
    report = realistic_report()
    assert report["failed"] == [{"account": D, "error": XSS_ERROR}]
    malformed = [
        {"account": A, "status": "audited", "error": None, "records": [{"account": A, "severity": "high"}]},
        {"account": B, "status": "done", "error": None, "records": []},
        {"account": C, "status": "failed", "error": None, "records": []},
    ]
    failed = {
        item["account"]: item["error"] for item in consolidated_report("r", "t", malformed, [])["failed"]
    }
    assert failed == {
        A: "malformed audit results: record field 'principal': None is not a string",
        B: "malformed audit results: field 'status': 'done' is not audited or failed",
        C: "failed (no error given)",
    }
    with pytest.raises(ValueError, match="appears twice"):
        consolidated_report("r", "t", malformed[:1] * 2, [])


def test_org_4_paths_are_in_the_json_worst_first() -> None:
    report = realistic_report()
    descriptions = [path["description"] for path in report["paths"]]
    assert (
        "arn:aws:iam::111111111111:user/alice (111111111111) -> arn:aws:iam::222222222222:role/Deploy "
        "(222222222222) -> arn:aws:iam::333333333333:role/Admin (333333333333): IAMG001 admin"
    ) in descriptions
    assert report["paths"][0]["severity"] == "critical"
    assert report["totals"]["paths"] == len(planted_paths())


def test_org_4_html_totals_equal_the_json() -> None:
    report = realistic_report()
    dom = dom_totals(render_html(report))
    by_account, overall = json_totals(report)
    assert dom.by_account == by_account
    assert dom.overall == overall
    assert dom.failed == [D]


def test_org_4_attacker_chosen_names_render_inert() -> None:
    page = render_html(realistic_report())
    dom = dom_totals(page)
    assert not [tag for tag, _ in dom.tags if tag in ("script", "img", "iframe", "object", "embed")]
    handlers = [(tag, name) for tag, attributes in dom.tags for name in attributes if name.startswith("on")]
    assert handlers == []
    assert XSS_PRINCIPAL not in page and XSS_ERROR not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(document.domain)&gt;" in page


def test_org_4_html_references_nothing_outside_itself() -> None:
    page = render_html(realistic_report())
    dom = dom_totals(page)
    fetching = ("src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data", "background")
    assert [(tag, name) for tag, attributes in dom.tags for name in attributes if name in fetching] == []
    assert not {tag for tag, _ in dom.tags} & {"link", "script", "img", "iframe", "object", "embed", "base"}
    styles = re.findall(r"<style>(.*?)</style>", page, re.DOTALL) + [
        str(attributes["style"]) for _, attributes in dom.tags if attributes.get("style")
    ]
    assert styles and not any("@import" in style or "//" in style for style in styles)
    # the only url() is the SVG arrow heads' own markers
    assert set(re.findall(r"url\(([^)]*)\)", page)) == {"#arrow-hop", "#arrow-end"}


def test_org_4_the_graph_draws_each_principal_of_the_paths_and_every_path_is_listed() -> None:
    report = realistic_report()
    page = render_html(report)
    dom = dom_totals(page)
    drawn = {
        attributes["data-arn"] for tag, attributes in dom.tags if tag == "g" and "data-arn" in attributes
    }
    on_paths = {hop[key] for path in report["paths"] for hop in path["hops"] for key in ("source", "target")}
    assert drawn == on_paths
    listed = [
        attributes for tag, attributes in dom.tags if tag == "li" and "data-path-severity" in attributes
    ]
    assert len(listed) == len(report["paths"])
    assert page.count('class="hop"') == len(
        {(h["source"], h["target"]) for p in report["paths"] for h in p["hops"]}
    )


def test_org_4_report_and_html_are_deterministic() -> None:
    entries, paths = account_entries(), planted_paths()
    expected = consolidated_report("run", "now", entries, paths)
    page = render_html(expected)
    for seed in range(4):
        shuffled_entries = [dict(entry, records=list(entry["records"])) for entry in entries]
        random.Random(seed).shuffle(shuffled_entries)
        for entry in shuffled_entries:
            random.Random(seed).shuffle(entry["records"])
        shuffled_paths = list(paths)
        random.Random(seed).shuffle(shuffled_paths)
        report = consolidated_report("run", "now", shuffled_entries, shuffled_paths)
        assert report == expected
        assert render_html(report) == page


def big_organization(accounts: int) -> list[dict[str, Any]]:
    wide = records(
        A,
        "role/x",
        "p",
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    )
    template = wide[0]
    return [
        {
            "account": f"{100000000000 + index:012d}",
            "status": "failed" if index % 250 == 0 else "audited",
            "error": "AccessDenied: sts:AssumeRole" if index % 250 == 0 else None,
            "records": []
            if index % 250 == 0
            else [
                dict(template, account=f"{100000000000 + index:012d}", principal=f"role/r{n}")
                for n in range(12)
            ],
        }
        for index in range(accounts)
    ]


def test_org_4_a_thousand_accounts_give_a_bounded_page_that_counts_what_it_leaves_out() -> None:
    report = consolidated_report("run", "now", big_organization(1000), [])
    page = render_html(report)
    assert len(page) < 12_000_000
    dom = dom_totals(page)
    by_account, overall = json_totals(report)
    assert dom.by_account == by_account and dom.overall == overall  # every account's totals are there
    omitted = {
        str(attributes["data-omitted-of"]): int(str(attributes["data-omitted"]))
        for _, attributes in dom.tags
        if "data-omitted" in attributes and attributes["data-omitted-of"] != "findings"
    }
    findings_omitted = sum(
        int(str(attributes["data-omitted"]))
        for _, attributes in dom.tags
        if attributes.get("data-omitted-of") == "findings"
    )
    every_finding_rows = sum(
        1 for tag, attributes in dom.tags if tag == "tr" and attributes.get("data-severity")
    ) - len(report["worst"])
    total = report["totals"]["findings"]
    assert total == 996 * 12 and every_finding_rows == RECORDS_SHOWN
    assert every_finding_rows + findings_omitted == total  # what is not shown is counted, never dropped
    assert omitted == {"worst": total - WORST_LIMIT}
    assert dom.failed == [line["account"] for line in report["accounts"] if line["status"] == "failed"]


def test_org_4_paths_beyond_what_a_report_can_hold_are_counted_not_dropped_silently() -> None:
    [model, *_] = planted_paths()
    paths = [dict(model, description=f"{model['description']} #{n:05d}") for n in range(PATHS_KEPT + 50)]
    report = consolidated_report("run", "now", account_entries(), paths)
    assert report["totals"]["paths"] == PATHS_KEPT + 50 and report["pathsOmitted"] == 50
    assert len(report["paths"]) == PATHS_KEPT and report["paths"][0]["description"].endswith("#00000")
    dom = dom_totals(render_html(report))
    omitted = [a for _, a in dom.tags if a.get("data-omitted-of") == "paths"]
    listed = [a for tag, a in dom.tags if tag == "li" and "data-path-severity" in a]
    assert [int(str(a["data-omitted"])) for a in omitted] == [PATHS_KEPT + 50 - len(listed)]


def test_org_4_accounts_not_audited_are_named_on_the_page_escaped() -> None:
    report = realistic_report()
    report["notAudited"] = [
        {"account": "999999999999", "reason": "the management account: <b>no member audit role</b>"}
    ]

    page = render_html(report)

    assert 'data-not-audited="1"' in page
    assert 'data-not-audited-account="999999999999"' in page
    assert "&lt;b&gt;no member audit role&lt;/b&gt;" in page
    assert "not-audited" not in render_html(realistic_report())
