"""ORG-4: the consolidated report as one self-contained HTML page: inline CSS, an inline SVG graph, no
script, no font, image, style sheet or link to anywhere else. Standard library only.

Sections: the headline figures, the accounts that could not be audited (first, in red: their risk is
unknown), the totals by account and severity, the cross-account paths (graph and hop-by-hop list), the
worst findings, and every finding with its remediation, grouped by account. Every value of the report is
HTML-escaped. Long lists are cut with a line saying how many entries were left out (the JSON report holds
them all); nothing is dropped silently. Totals cells carry data-account / data-severity / data-count
attributes and ids (total-<severity>, total-findings...) so tests read them from the DOM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from iam_guard.analysis import Severity
from iam_guard.analysis.codes import CODES
from org_report_graph import render_graph

SEVERITIES: tuple[str, ...] = tuple(level.label for level in sorted(Severity, reverse=True))
ACCOUNT_ROWS_SHOWN = 100
PATHS_LISTED = 200
RECORDS_SHOWN = 5000
RECORDS_PER_ACCOUNT = 200
ACCOUNTS_OPEN = 3
# defence in depth behind the escaping: no script runs, nothing loads from anywhere, only the inline CSS
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

STYLE = """
:root{--ink:#101828;--muted:#475467;--line:#eaecf0;--bg:#f9fafb;--card:#fff;--critical:#b42318;
--high:#c4320a;--medium:#b54708;--low:#175cd3;--info:#475467;--ok:#067647}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 -apple-system,BlinkMacSystemFont,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header{background:#0b1f3a;color:#fff;padding:22px 32px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header p{margin:0;color:#c7d2e4;font-size:13px}
main{padding:20px 32px 40px;max-width:1400px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;
margin:0 0 18px}
h2{font-size:16px;margin:0 0 12px}
.cards{display:flex;gap:12px;flex-wrap:wrap;background:none;border:0;padding:0}
.card{flex:1 1 150px;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px}
.card .figure{font-size:26px;font-weight:650}
.card .caption{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card.alert{border-color:var(--critical);background:#fef3f2}.card.alert .figure{color:var(--critical)}
.failed{border:2px solid var(--critical);background:#fef3f2}
.failed h2{color:var(--critical)}
.allgood{border-left:4px solid var(--ok)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;background:#f2f4f7;position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.zero{color:#98a2b3}
tfoot td{font-weight:650;border-top:2px solid #d0d5dd}
.sev{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.sev-critical{background:var(--critical)}.sev-high{background:var(--high)}.sev-medium{background:var(--medium)}
.sev-low{background:var(--low)}.sev-info{background:var(--info)}
.num.sev-critical,.num.sev-high,.num.sev-medium,.num.sev-low,.num.sev-info{background:none;color:inherit}
td.hot-critical{color:var(--critical);font-weight:650}td.hot-high{color:var(--high);font-weight:650}
.mono,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.muted{color:var(--muted)}
.omitted{color:var(--muted);font-style:italic;margin:8px 0 0}
.graph-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:8px;background:#fcfcfd;
margin-bottom:14px}
.account-box{fill:#f2f4f7;stroke:#d0d5dd}
.account-label{font:600 12px ui-monospace,Menlo,Consolas,monospace;fill:#344054}
.node-box{fill:#fff;stroke:#98a2b3;stroke-width:1.2}
.node-kind{font:11px sans-serif;fill:#667085;text-transform:uppercase}
.node-badge{font:600 11px sans-serif}
.node-name{font:600 13px ui-monospace,Menlo,Consolas,monospace;fill:#101828}
ol.paths{margin:0;padding-left:22px}ol.paths>li{margin:0 0 12px}
.chain{line-height:1.9}
.principal{font:600 12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.acct{font:11px ui-monospace,Menlo,Consolas,monospace;color:var(--muted);background:#f2f4f7;border-radius:4px;
padding:1px 5px}
.arrow{color:var(--muted);padding:0 2px}
ol.hops{margin:4px 0 0;padding-left:20px;color:var(--muted);font-size:12px}
.nowrap{white-space:nowrap;word-break:normal}
svg.graph{display:block;max-width:100%;height:auto}
details{border-top:1px solid var(--line);padding:6px 0}
summary{cursor:pointer;font-weight:600}
.remedy{color:#344054}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _badge(severity: str) -> str:
    return f'<span class="sev sev-{_e(severity)}">{_e(severity)}</span>'


def _omitted(count: int, what: str, of: str) -> str:
    """A line counting what a list leaves out; data-omitted-of names the list (paths, worst, findings)."""
    if count <= 0:
        return ""
    return (
        f'<p class="omitted" data-omitted="{count}" data-omitted-of="{of}">{count} more {_e(what)} '
        "not shown here: the JSON report holds them all.</p>"
    )


def _cards(report: Mapping[str, Any]) -> str:
    totals = report["totals"]
    by_severity = totals["bySeverity"]
    cards = [
        ("card-accounts", f"{totals['audited']} / {totals['accounts']}", "accounts audited", False),
        ("card-failed", totals["failed"], "accounts failed", totals["failed"] > 0),
        ("card-findings", totals["findings"], "findings", False),
        ("card-critical", by_severity["critical"], "critical", by_severity["critical"] > 0),
        ("card-high", by_severity["high"], "high", False),
        ("card-paths", totals["paths"], "cross-account paths to admin", totals["paths"] > 0),
    ]
    body = "".join(
        f'<div class="card{" alert" if alert else ""}" id="{key}"><div class="figure">{_e(figure)}</div>'
        f'<div class="caption">{_e(caption)}</div></div>'
        for key, figure, caption, alert in cards
    )
    return f'<section class="cards">{body}</section>'


def _failed(report: Mapping[str, Any]) -> str:
    failed = report["failed"]
    if not failed:
        return (
            '<section class="allgood" id="failed-accounts" data-failed="0">'
            "<h2>Every account was audited</h2></section>"
        )
    rows = "".join(
        f'<tr data-failed-account="{_e(item["account"])}"><td class="mono">{_e(item["account"])}</td>'
        f'<td class="mono">{_e(item["error"])}</td></tr>'
        for item in failed
    )
    return (
        f'<section class="failed" id="failed-accounts" data-failed="{len(failed)}">'
        f"<h2>{len(failed)} account(s) could not be audited: their IAM risk is unknown</h2>"
        f"<table><thead><tr><th>account</th><th>error</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _not_audited(report: Mapping[str, Any]) -> str:
    """Accounts of the organization the fan-out does not reach by design (the management account), when the
    report names them: never audited is not the same as clean."""
    accounts = report.get("notAudited") or []
    if not accounts:
        return ""
    rows = "".join(
        f'<tr data-not-audited-account="{_e(item.get("account", ""))}">'
        f'<td class="mono">{_e(item.get("account", ""))}</td><td>{_e(item.get("reason", ""))}</td></tr>'
        for item in accounts
    )
    return (
        f'<section id="not-audited" data-not-audited="{len(accounts)}">'
        f"<h2>{len(accounts)} account(s) not audited by this run</h2>"
        f"<table><thead><tr><th>account</th><th>why</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _count_cell(count: int, severity: str, account: str | None) -> str:
    where = f' data-account="{_e(account)}"' if account is not None else f' id="total-{severity}"'
    hot = f" hot-{severity}" if count and severity in ("critical", "high") else ""
    zero = " zero" if not count else ""
    return f'<td class="num{hot}{zero}"{where} data-severity="{severity}" data-count="{count}">{count}</td>'


def _account_row(line: Mapping[str, Any]) -> str:
    account = str(line["account"])
    status = "failed" if line["status"] == "failed" else "audited"
    cells = "".join(_count_cell(int(line["counts"][severity]), severity, account) for severity in SEVERITIES)
    return (
        f'<tr data-account-row="{_e(account)}"><td class="mono">{_e(account)}</td>'
        f"<td>{'<b style=color:var(--critical)>failed</b>' if status == 'failed' else 'audited'}</td>{cells}"
        f'<td class="num" data-account="{_e(account)}" data-severity="total" '
        f'data-count="{int(line["findings"])}">{int(line["findings"])}</td></tr>'
    )


def _worst_first(lines: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(
        lines,
        key=lambda line: (
            line["status"] != "failed",
            *(-int(line["counts"][severity]) for severity in SEVERITIES),
            str(line["account"]),
        ),
    )


def _totals(report: Mapping[str, Any]) -> str:
    head = "".join(f'<th class="num">{severity}</th>' for severity in SEVERITIES)
    header = f'<thead><tr><th>account</th><th>status</th>{head}<th class="num">total</th></tr></thead>'
    lines = _worst_first(report["accounts"])
    shown, rest = lines[:ACCOUNT_ROWS_SHOWN], lines[ACCOUNT_ROWS_SHOWN:]
    totals = report["totals"]
    foot = "".join(
        _count_cell(int(totals["bySeverity"][severity]), severity, None) for severity in SEVERITIES
    )
    footer = (
        f"<tfoot><tr><td>all {int(totals['accounts'])} accounts</td><td></td>{foot}"
        f'<td class="num" id="total-findings" data-count="{int(totals["findings"])}">'
        f"{int(totals['findings'])}</td>"
        "</tr></tfoot>"
    )
    body = "".join(_account_row(line) for line in shown)
    more = ""
    if rest:
        more = (
            f"<details><summary>{len(rest)} more accounts (fewer findings)</summary><table>{header}<tbody>"
            + "".join(_account_row(line) for line in rest)
            + "</tbody></table></details>"
        )
    return (
        '<section id="totals"><h2>Findings by account and severity</h2>'
        f"<table>{header}<tbody>{body}</tbody>{footer}</table>{more}</section>"
    )


def _paths(report: Mapping[str, Any]) -> str:
    paths: Sequence[Mapping[str, Any]] = report["paths"]
    if not paths:
        return (
            '<section id="paths" data-paths="0"><h2>Cross-account paths to admin</h2><p class="muted">'
            "No principal can reach an admin-equivalent or escalating role in another account within 3 hops."
            "</p></section>"
        )
    total = int(report["totals"]["paths"])
    graph = render_graph(paths)
    items = [_path_item(path) for path in paths[:PATHS_LISTED]]
    drawn = (
        f'<p class="muted" data-drawn="{graph.drawn}">Drawn: the {graph.drawn} worst of {total} '
        f"path(s) that fit in one picture, the {len(items)} worst listed below. Each box is a principal in "
        "its account; an arrow is one sts:AssumeRole its trust and policies allow; a red outline marks "
        "the role reached (critical: admin-equivalent, high: can escalate).</p>"
    )
    return (
        f'<section id="paths" data-paths="{total}"><h2>Cross-account paths to admin ({total})</h2>'
        f'{drawn}<div class="graph-wrap">{graph.svg}</div><ol class="paths">{"".join(items)}</ol>'
        f"{_omitted(int(report['totals']['paths']) - len(items), 'paths', 'paths')}</section>"
    )


def _principal_label(arn: str) -> str:
    """'user/alice' for 'arn:aws:iam::111111111111:user/alice'."""
    return arn.split(":", 5)[-1]


def _path_item(path: Mapping[str, Any]) -> str:
    """One path: the chain of principals with their accounts, the final role's codes, each hop's why."""
    hops = path["hops"]
    chain = [(hops[0]["source"], hops[0]["sourceAccount"])] + [
        (hop["target"], hop["targetAccount"]) for hop in hops
    ]
    links = ' <span class="arrow">\u2192</span> '.join(
        f'<span class="principal" title="{_e(arn)}">{_e(_principal_label(str(arn)))}</span> '
        f'<span class="acct">{_e(account)}</span>'
        for arn, account in chain
    )
    codes = [str(code) for code in path.get("codes", [])]
    titles = ", ".join(f"{code} {CODES[code].title}" if code in CODES else code for code in codes)
    steps = "".join(
        f"<li>{_e(_principal_label(str(hop['source'])))} \u2192 {_e(_principal_label(str(hop['target'])))}: "
        f"{_e(hop.get('why', ''))}</li>"
        for hop in hops
    )
    return (
        f'<li data-path-severity="{_e(path["severity"])}"><div class="chain">{_badge(str(path["severity"]))} '
        f'{links}</div><div class="muted">{len(hops)} hop(s); the role reached: {_e(titles)}</div>'
        f'<ol class="hops">{steps}</ol></li>'
    )


def _record_row(record: Mapping[str, Any], with_account: bool) -> str:
    account = f'<td class="mono nowrap">{_e(record["account"])}</td>' if with_account else ""
    return (
        f'<tr data-severity="{_e(record["severity"])}"><td>{_badge(str(record["severity"]))}</td>{account}'
        f'<td class="mono">{_e(record["principal"])}</td><td class="mono">{_e(record["policy"])}</td>'
        f"<td><b>{_e(record['code'])}</b> {_e(record['title'])}<br>"
        f'<span class="muted">{_e(record["message"])}</span></td>'
        f'<td class="remedy">{_e(record["remediation"])}</td></tr>'
    )


def _record_table(records: Iterable[Mapping[str, Any]], with_account: bool) -> str:
    account = "<th>account</th>" if with_account else ""
    rows = "".join(_record_row(record, with_account) for record in records)
    return (
        f"<table><thead><tr><th>severity</th>{account}<th>principal</th><th>policy</th><th>finding</th>"
        f"<th>remediation</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _worst(report: Mapping[str, Any]) -> str:
    worst = report["worst"]
    if not worst:
        return '<section id="worst"><h2>Worst findings</h2><p class="muted">No finding.</p></section>'
    return (
        f'<section id="worst" data-worst="{len(worst)}"><h2>The {len(worst)} worst findings</h2>'
        f"{_record_table(worst, True)}"
        f"{_omitted(int(report['totals']['findings']) - len(worst), 'findings (all below)', 'worst')}"
        "</section>"
    )


def _every_finding(report: Mapping[str, Any]) -> str:
    by_account: dict[str, list[Mapping[str, Any]]] = {}
    for record in report["records"]:
        by_account.setdefault(str(record["account"]), []).append(record)
    budget = RECORDS_SHOWN
    parts = []
    left_out_accounts = 0
    left_out_records = 0
    for number, line in enumerate(
        _worst_first(line for line in report["accounts"] if line["account"] in by_account)
    ):
        records = by_account[str(line["account"])]
        if budget <= 0:
            left_out_accounts += 1
            left_out_records += len(records)
            continue
        shown = records[: min(RECORDS_PER_ACCOUNT, budget)]
        budget -= len(shown)
        counts = ", ".join(f"{line['counts'][s]} {s}" for s in SEVERITIES if line["counts"][s])
        opened = " open" if number < ACCOUNTS_OPEN else ""
        parts.append(
            f'<details{opened} data-findings-account="{_e(line["account"])}">'
            f'<summary><span class="mono">{_e(line["account"])}</span>: {len(records)} finding(s) '
            f"({_e(counts)})</summary>{_record_table(shown, False)}"
            f"{_omitted(len(records) - len(shown), 'findings of this account', 'findings')}</details>"
        )
    tail = _omitted(left_out_records, f"findings of {left_out_accounts} more account(s)", "findings")
    if not parts:
        return '<section id="findings"><h2>Every finding</h2><p class="muted">No finding.</p></section>'
    return (
        '<section id="findings"><h2>Every finding, by account, with its remediation</h2>'
        f"{''.join(parts)}{tail}</section>"
    )


def render_page(report: Mapping[str, Any]) -> str:
    """The whole page (see the module doc)."""
    title = f"iam-guard organization report {report['runId']}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
        "<header><h1>IAM risk across the organization</h1>"
        f'<p>run <span class="mono">{_e(report["runId"])}</span> \u00b7 generated {_e(report["generatedAt"])}'
        f" \u00b7 {int(report['totals']['accounts'])} account(s)</p></header>"
        f"<main>{_cards(report)}{_failed(report)}{_not_audited(report)}{_totals(report)}{_paths(report)}{_worst(report)}"
        f"{_every_finding(report)}</main></body></html>\n"
    )
