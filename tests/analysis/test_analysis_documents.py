"""H-7: documents are read the way IAM and CloudTrail deliver them (URL-encoded with '+' for spaces, encoded
more than once, whitespace or a byte-order mark before the '{'), so an admin grant in any such form is
reported as the admin grant, never as merely "malformed"."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from iam_guard.analysis import Finding, Severity, analyze_policy, analyze_principal
from iam_guard.analysis.document import MAX_URL_DECODINGS, json_text, load_document

ADMIN = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Grant all + more 100%", "Effect": "Allow", "Action": "*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "s3:DeleteBucket",
            "Resource": "arn:aws:s3:::a+b%41",
            "Condition": {"StringLike": {"aws:userid": "AIDA* +x%41"}},
        },
    ],
}
ADMIN_TEXT = json.dumps(ADMIN)  # spaces, '+' and '%' inside strings: every decoding must keep them


def quote_plus_times(text: str, times: int) -> str:
    for _ in range(times):
        text = urllib.parse.quote_plus(text)
    return text


def admin_findings(findings: list[Finding]) -> list[tuple[str, str, str | None]]:
    return [(f.code, f.severity.label, f.sid) for f in findings if f.code == "IAMG001"]


EXPECTED = [("IAMG001", "critical", "Grant all + more 100%")]

FORMS = {
    "json": ADMIN_TEXT,
    "iam url-encoded, + for spaces": urllib.parse.quote_plus(ADMIN_TEXT),
    "url-encoded, %20 for spaces": urllib.parse.quote(ADMIN_TEXT),
    "encoded twice (%257B)": quote_plus_times(ADMIN_TEXT, 2),
    "quote of quote_plus": urllib.parse.quote(urllib.parse.quote_plus(ADMIN_TEXT)),
    "pretty-printed json": json.dumps(ADMIN, indent=4),
    "encoded pretty-printed json": urllib.parse.quote_plus(json.dumps(ADMIN, indent=4)),
    "whitespace before {": " \n\t\r " + ADMIN_TEXT,
    "byte-order mark before {": "\ufeff" + ADMIN_TEXT,
    "byte-order mark and whitespace": "\ufeff \n" + ADMIN_TEXT + "\n",
    "whitespace inside the encoding": urllib.parse.quote_plus("  \n" + ADMIN_TEXT),
    "encoded byte-order mark": urllib.parse.quote_plus("\ufeff" + ADMIN_TEXT),
    "whitespace around the encoding": "\n  " + urllib.parse.quote_plus(ADMIN_TEXT) + "  \n",
    "encoded up to the bound": quote_plus_times(ADMIN_TEXT, MAX_URL_DECODINGS),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_h_7_admin_grant_in_every_iam_encoding_is_reported_as_admin(form: str) -> None:
    findings = analyze_policy(FORMS[form])
    assert admin_findings(findings) == EXPECTED, [f.to_dict() for f in findings]
    assert all(f.code != "IAMG016" for f in findings), [f.message for f in findings]
    assert load_document(FORMS[form]) == (ADMIN, None)


@pytest.mark.parametrize("form", ["iam url-encoded, + for spaces", "encoded twice (%257B)", "json"])
def test_h_7_bytes_and_principal_analysis_decode_the_same_way(form: str) -> None:
    text = FORMS[form]
    assert admin_findings(analyze_policy(text.encode("utf-8"))) == EXPECTED
    assert admin_findings(analyze_policy(b"\xef\xbb\xbf" + text.encode("utf-8"))) == EXPECTED
    escalation = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}],
    }
    compute = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}],
    }
    encoded = [quote_plus_times(json.dumps(escalation), 2), urllib.parse.quote_plus(json.dumps(compute))]
    combined = analyze_principal(encoded)
    assert [(f.code, f.severity) for f in combined] == [("IAMG006", Severity.HIGH)]
    assert "PassRoleToNewEC2Instance" in combined[0].message


def test_h_7_json_text_is_never_url_decoded() -> None:
    """A '+' or '%41' inside JSON text is literal: decoding it would change what the policy says."""
    assert json_text(ADMIN_TEXT) == ADMIN_TEXT
    statement = load_document(ADMIN_TEXT)[0]["Statement"][1]  # type: ignore[index]
    assert statement["Condition"]["StringLike"]["aws:userid"] == "AIDA* +x%41"
    assert statement["Resource"] == "arn:aws:s3:::a+b%41"


def test_h_7_decoding_is_bounded_and_says_why_it_stopped() -> None:
    too_deep = quote_plus_times(ADMIN_TEXT, MAX_URL_DECODINGS + 1)
    findings = analyze_policy(too_deep)
    assert [(f.code, f.severity) for f in findings] == [("IAMG016", Severity.HIGH)]
    assert findings[0].message == f"policy document is still URL-encoded after {MAX_URL_DECODINGS} decodings"


def test_h_7_text_that_is_not_a_policy_stays_malformed() -> None:
    for text in ("", "   ", "\ufeff", "not json", "%7Bnot json%7D", "[1, 2]", "%5B%5D"):
        findings = analyze_policy(text)
        assert [f.code for f in findings] == ["IAMG016"], text
        assert findings[0].severity is Severity.HIGH
