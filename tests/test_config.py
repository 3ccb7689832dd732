"""Config loading: every kind of bad input is one line naming the file, the field and the value, exit code 2,
and nothing is written to out/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from iam_guard.config import Config, ConfigError, describe_fields, load_config, parse_config
from support import REPO_ROOT

VALID = {
    "environment": "dev",
    "region": "us-east-1",
    "owner": "platform-security",
    "data_classification": "confidential",
    "alert_emails": ["security@example.com"],
}


def write_config(tmp_path: Path, data: object, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def run_generate(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "generate.py"), "--config", str(config), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


def test_example_configs_load() -> None:
    dev = load_config(REPO_ROOT / "templates/dev.yaml")
    prod = load_config(REPO_ROOT / "templates/prod.yaml")
    assert dev.environment == "dev" and dev.region == "us-east-1"
    assert prod.environment == "prod" and prod.region == "eu-west-1"
    assert dev.allowed_cidrs == ("10.0.0.0/8",)


def test_defaults_documented_and_applied() -> None:
    config = parse_config(VALID)
    assert config.allowed_cidrs == ("10.0.0.0/8",)
    assert config.data_store.abort_incomplete_multipart_days == 7
    assert config.monitoring.remediation_mode == "notify"
    assert config.monitoring.audit_hour_utc == 2
    rows = describe_fields(Config)
    assert all(doc for _, _, doc in rows), "every field documents what its default does"
    assert ("allowed_cidrs", "[10.0.0.0/8]") in [(name, default) for name, default, _ in rows]


BAD_VALUES = [
    pytest.param(
        {"allowed_cidrs": ["10.0.0.0/33"]}, "allowed_cidrs[0]", "'10.0.0.0/33'", id="malformed-cidr"
    ),
    pytest.param({"allowed_cidrs": ["10.0.0.1/8"]}, "allowed_cidrs[0]", "'10.0.0.1/8'", id="cidr-host-bits"),
    pytest.param({"allowed_cidrs": ["0.0.0.0/0"]}, "allowed_cidrs[0]", "'0.0.0.0/0'", id="cidr-everything"),
    pytest.param({"alert_emails": ["security"]}, "alert_emails[0]", "'security'", id="email-no-domain"),
    pytest.param(
        {"alert_emails": ["sec@localhost"]}, "alert_emails[0]", "'sec@localhost'", id="email-bare-host"
    ),
    pytest.param(
        {"monitoring": {"trusted_audit_account_ids": ["12345"]}},
        "monitoring.trusted_audit_account_ids[0]",
        "'12345'",
        id="account-id-short",
    ),
    pytest.param({"environment": "Dev_1"}, "environment", "'Dev_1'", id="env-invalid-bucket-name"),
    pytest.param(
        {"environment": "averyveryverylongenv"},
        "environment",
        "'averyveryverylongenv'",
        id="env-too-long-for-bucket",
    ),
    pytest.param({"region": "moon-1"}, "region", "'moon-1'", id="bad-region"),
    pytest.param({"data_classification": "secret"}, "data_classification", "'secret'", id="not-allowed"),
    pytest.param(
        {"data_store": {"glacier_transition_days": "ninety"}},
        "data_store.glacier_transition_days",
        "'ninety'",
        id="wrong-type",
    ),
    pytest.param(
        {"data_store": {"glacier_transition_days": 0}},
        "data_store.glacier_transition_days",
        "0",
        id="out-of-range",
    ),
    pytest.param(
        {"alert_emails": "security@example.com"},
        "alert_emails",
        "'security@example.com'",
        id="string-not-list",
    ),
    pytest.param(
        {"monitoring": {"remediation_mode": "delete"}},
        "monitoring.remediation_mode",
        "'delete'",
        id="bad-mode",
    ),
    pytest.param({"alert_emails": []}, "alert_emails", "an empty list", id="no-alert-email"),
]


@pytest.mark.parametrize(("override", "field", "shown"), BAD_VALUES)
def test_bad_value_names_file_field_and_value(tmp_path: Path, override: dict, field: str, shown: str) -> None:
    data = {**VALID, **override}
    path = write_config(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {field}: ")
    assert shown in message


def test_unknown_key_is_rejected_not_ignored(tmp_path: Path) -> None:
    path = write_config(tmp_path, {**VALID, "alowed_cidrs": ["10.0.0.0/8"]})
    with pytest.raises(ConfigError, match=r"alowed_cidrs: unknown key"):
        load_config(path)


def test_unknown_nested_key_is_rejected(tmp_path: Path) -> None:
    path = write_config(tmp_path, {**VALID, "monitoring": {"remediation": "off"}})
    with pytest.raises(ConfigError, match=r"monitoring\.remediation: unknown key"):
        load_config(path)


def test_missing_required_key(tmp_path: Path) -> None:
    data = dict(VALID)
    del data["owner"]
    with pytest.raises(ConfigError, match=r"bad\.yaml: owner: required key is missing"):
        load_config(write_config(tmp_path, data))


def test_yaml_syntax_error_has_position(tmp_path: Path) -> None:
    path = write_config(tmp_path, "environment: dev\nregion: [us-east-1\n")
    with pytest.raises(ConfigError, match=r"YAML syntax error at line \d+, column \d+"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found"):
        load_config(tmp_path / "nope.yaml")


def test_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"expected a mapping"):
        load_config(write_config(tmp_path, "- just\n- a list\n"))


def test_duplicate_cidr_is_rejected(tmp_path: Path) -> None:
    path = write_config(tmp_path, {**VALID, "allowed_cidrs": ["10.0.0.0/8", "10.0.0.0/8"]})
    with pytest.raises(ConfigError, match=r"allowed_cidrs: lists '10.0.0.0/8' twice"):
        load_config(path)


def test_boolean_is_not_an_integer(tmp_path: Path) -> None:
    path = write_config(tmp_path, {**VALID, "monitoring": {"audit_hour_utc": True}})
    with pytest.raises(ConfigError, match=r"monitoring\.audit_hour_utc: expected an integer, got true"):
        load_config(path)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(yaml.safe_dump({**VALID, "allowed_cidrs": ["300.0.0.0/8"]}), id="bad-cidr"),
        pytest.param(yaml.safe_dump({**VALID, "typo_key": 1}), id="unknown-key"),
        pytest.param("environment: [dev\n", id="yaml-syntax"),
    ],
)
def test_generate_exit_2_one_line_nothing_written(tmp_path: Path, content: str) -> None:
    out = tmp_path / "out"
    result = run_generate(write_config(tmp_path, content), out)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("generate.py: ")
    assert not out.exists() or not any(out.iterdir())


def test_generate_bad_input_leaves_previous_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    good = run_generate(REPO_ROOT / "templates/dev.yaml", out)
    assert good.returncode == 0, good.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = run_generate(write_config(tmp_path, {**VALID, "region": "nowhere"}), out)
    assert bad.returncode == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_generate_missing_config_file(tmp_path: Path) -> None:
    result = run_generate(tmp_path / "missing.yaml", tmp_path / "out")
    assert result.returncode == 2
    assert "missing.yaml: file not found" in result.stderr
