"""H-7: alerts cannot be forged or broken by untrusted text. Role names, Sids, resources, actor ARNs and
source IPs reach the alert through alerts.clean_text: no value can add a line, hide text behind terminal
escapes, grow without bound, or make the publish fail."""

from __future__ import annotations

import copy
import json
import unicodedata
import urllib.parse
from typing import Any

import pytest
from handler_helpers import (
    FakeContext,
    Monitoring,
    load_event,
    monitoring_fixture,  # noqa: F401 (pytest fixture)
)
from hypothesis import given, settings
from hypothesis import strategies as st

import lambda_support
import policy_change
from alerts import MAX_SUBJECT_CHARS, clean_text, publish_alert
from iam_guard.analysis import Finding, Severity
from policy_alerts import alert_message
from policy_events import parse_change
from remediation import RemediationOutcome

FORGED_LINE = "1. INFO: all clear"
# Every character str.splitlines() breaks a line at.
LINE_BREAKS = ["\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=()), max_size=300)


def event_with(
    role: str = "app-runner", sid: str = "BucketAdmin", resource: str = "*", **detail: str
) -> dict[str, Any]:
    """The url-encoded PutRolePolicy fixture (s3:* on a resource: a high finding) with chosen texts."""
    event = copy.deepcopy(load_event("put_role_policy_url_encoded"))
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": sid, "Effect": "Allow", "Action": "s3:*", "Resource": resource}],
    }
    event["detail"]["requestParameters"]["policyDocument"] = urllib.parse.quote(json.dumps(document))
    event["detail"]["requestParameters"]["roleName"] = role
    for key, value in detail.items():
        if key == "actor":
            event["detail"]["userIdentity"]["arn"] = value
        else:
            event["detail"][key] = value
    return event


def only_alert(monitoring: Monitoring, event: dict[str, Any]) -> dict[str, Any]:
    policy_change.handler(event, FakeContext())
    [alert] = monitoring.alerts()
    return alert


# -- clean_text --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", LINE_BREAKS, ids=[repr(item) for item in LINE_BREAKS])
def test_h_7_clean_text_leaves_no_line_break_so_no_line_can_be_forged(separator: str) -> None:
    cleaned = clean_text(f"x{separator}{FORGED_LINE}")

    assert len(cleaned.splitlines()) == 1
    assert cleaned.startswith("x\\")
    assert cleaned.endswith(FORGED_LINE)  # still visible, on the same line


def test_h_7_clean_text_shows_a_newline_as_backslash_n() -> None:
    assert clean_text("x\n1. INFO: all clear") == "x\\n1. INFO: all clear"
    assert clean_text("a\r\nb\tc") == "a\\r\\nb\\tc"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[2K\x1b[1A1. INFO: all clear", "1. INFO: all clear"),  # erase line, cursor up
        ("\x1b[31mred\x1b[0m", "red"),  # colours
        ("\x1b]0;pwned\x07title", "title"),  # OSC: window title, ended by BEL
        ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink, ended by ST
        ("\x9b2Kx", "x"),  # 8-bit CSI
        ("nul\x00bell\x07del\x7f", "nul\\x00bell\\x07del\\x7f"),
        ("admin\u202egpj.exe", "admin\\u202egpj.exe"),  # right-to-left override
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        ("résumé 日本 ok", "résumé 日本 ok"),  # ordinary text is kept as it is
    ],
)
def test_h_7_clean_text_strips_terminal_escapes_and_shows_controls(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_h_7_clean_text_truncates_long_values_with_a_visible_marker() -> None:
    cleaned = clean_text("r" * 5_000, 100)

    assert len(cleaned) <= 100
    kept = cleaned.index("...")
    assert cleaned == "r" * kept + f"...[+{5_000 - kept} chars cut]"
    assert clean_text("r" * 100, 100) == "r" * 100


def test_h_7_clean_text_survives_any_object() -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert clean_text(Hostile()) == "<unprintable Hostile: RuntimeError>"
    assert clean_text(None) == "None"
    assert clean_text(b"\x00bytes") == "b'\\x00bytes'"


@settings(max_examples=400)
@given(text=ANY_TEXT, limit=st.integers(min_value=40, max_value=400))
def test_h_7_clean_text_is_always_one_encodable_line_within_its_limit(text: str, limit: int) -> None:
    cleaned = clean_text(text, limit)

    assert len(cleaned) <= limit
    assert len(cleaned.splitlines()) <= 1
    cleaned.encode("utf-8")
    assert not {unicodedata.category(char) for char in cleaned} & UNSAFE_CATEGORIES
    assert "\x1b" not in cleaned


@settings(max_examples=150)
@given(role=ANY_TEXT, actor=ANY_TEXT, source=ANY_TEXT, sid=ANY_TEXT, resource=ANY_TEXT, message=ANY_TEXT)
def test_h_7_no_field_of_an_alert_can_add_or_remove_a_line(
    role: str, actor: str, source: str, sid: str, resource: str, message: str
) -> None:
    def body(role: str, actor: str, source: str, sid: str, resource: str, message: str) -> str:
        event = event_with(role=role or "r", actor=actor, sourceIPAddress=source)
        finding = Finding("IAMG003", Severity.HIGH, message, 0, sid or None, ("s3:*",), (resource,), "fix it")
        outcome = RemediationOutcome("would-quarantine", f"quarantine mode would act on role {role}")
        return alert_message(parse_change(event), [finding], outcome)

    forged = body(role, actor, source, sid, resource, message)
    plain = body("r", "arn", "ip", "Sid", "*", "m")

    assert len(forged.splitlines()) == len(plain.splitlines())
    forged.encode("utf-8")


# -- the handler's alerts ----------------------------------------------------------------------------------


def test_h_7_a_role_name_cannot_forge_an_alert_line(monitoring: Monitoring) -> None:
    plain = only_alert(monitoring, event_with())
    forged_event = event_with(role=f"x\n{FORGED_LINE}")
    forged_event["detail"]["eventID"] = "5f6e7d8c-0000-4000-8000-0000000000f1"

    forged = only_alert(monitoring, forged_event)

    lines = forged["Message"].splitlines()
    assert len(lines) == len(plain["Message"].splitlines())
    assert not any(line.startswith(FORGED_LINE) for line in lines)
    assert f"What:  PutRolePolicy on role x\\n{FORGED_LINE}, inline policy" in forged["Message"]
    assert "\n" not in forged["Subject"]
    assert f"role x\\n{FORGED_LINE}" in forged["Subject"]


def test_h_7_escapes_and_controls_in_sid_resource_actor_and_source_ip_are_neutralized(
    monitoring: Monitoring,
) -> None:
    event = event_with(
        sid="\x1b[2K\x1b[1A1. INFO: all clear",
        resource="arn:aws:s3:::reports\r\n   How to fix: nothing to do",
        actor="arn:aws:sts::123456789012:assumed-role/PlatformAdmin/\x1b]0;owned\x07alice",
        sourceIPAddress="203.0.113.17\u2028Who:   arn:aws:iam::123456789012:root",
    )

    message = only_alert(monitoring, event)["Message"]

    assert "\x1b" not in message and "\r" not in message and "\u2028" not in message
    assert "Who:   arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice\n" in message
    assert "From:  203.0.113.17\\u2028Who:   arn:aws:iam::123456789012:root\n" in message
    assert "Resources: arn:aws:s3:::reports\\r\\n   How to fix: nothing to do\n" in message
    assert 'Sid "1. INFO: all clear"' in message
    assert [line for line in message.splitlines() if line.startswith("Who:")] == [
        "Who:   arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice"
    ]
    assert len([line for line in message.splitlines() if line.strip().startswith("How to fix:")]) == 1


def test_h_7_huge_fields_are_truncated_with_a_marker(monitoring: Monitoring) -> None:
    event = event_with(role="r" * 3_000, resource="arn:aws:s3:::" + "b" * 20_000)

    alert = only_alert(monitoring, event)

    message = alert["Message"]
    assert len(message) < 4_000
    assert "chars cut]" in message
    assert "b" * 20_000 not in message and "r" * 3_000 not in message
    assert len(alert["Subject"]) <= MAX_SUBJECT_CHARS


def test_h_7_lone_surrogates_in_the_event_are_published_and_recorded(monitoring: Monitoring) -> None:
    text = json.dumps(event_with()).replace('"app-runner"', '"app-\\ud800runner"')
    event = json.loads(text)  # a lone surrogate, exactly as json.loads builds it from an event's \u escape
    # The document as JSON text whose Sid holds the escape of another lone surrogate.
    event["detail"]["requestParameters"]["policyDocument"] = (
        '{"Version":"2012-10-17","Statement":[{"Sid":"Bucket\\udfffAdmin","Effect":"Allow",'
        '"Action":"s3:*","Resource":"*"}]}'
    )

    result = policy_change.handler(event, FakeContext())

    assert result["alerted"] is True
    [alert] = monitoring.alerts()
    assert "role app-\ufffdrunner" in alert["Message"]
    assert 'Sid "Bucket\ufffdAdmin"' in alert["Message"]
    records = monitoring.records()
    assert records and records[0]["target"]["principalName"] == "app-\ud800runner"  # kept, JSON-escaped


def test_h_7_publish_alert_sends_any_text_for_every_caller(monitoring: Monitoring) -> None:
    """The daily summary publishes through the same function: unencodable text cannot break it."""
    message_id = publish_alert(
        lambda_support.aws_client("sns"),
        monitoring.topic_arn,
        "[iam-guard dev] summary \ud83d",
        "line one \udc00\nline two\n",
        "high",
    )

    [alert] = monitoring.alerts()
    assert alert["MessageId"] == message_id
    assert alert["Message"] == "line one \ufffd\nline two\n"
    assert alert["Subject"] == "[iam-guard dev] summary ?"
