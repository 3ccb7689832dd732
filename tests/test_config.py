"""Config loading: every kind of bad input is one line naming the file, the field and the value, exit code 2,
and nothing is written to out/."""

from __future__ import annotations

import dataclasses
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
        pytest.param(yaml.safe_dump(VALID) + "owner: someone-else\n", id="duplicate-key"),
        pytest.param(yaml.safe_dump({**VALID, "monitoring": {"audit_hour_utc": 2.0}}), id="float-for-int"),
        pytest.param(yaml.safe_dump({**VALID, "region": "us-east-9"}), id="unknown-region"),
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


@pytest.mark.parametrize(
    "bad_args",
    [
        pytest.param(["--config", "{bad_config}"], id="config-rejected-on-load"),
        # A good config (dev.yaml has no forwarder) that fails later, at the stack choice: a generate that
        # removed or wrote anything before rendering everything would lose prod's forwarder here.
        pytest.param(
            ["--config", str(REPO_ROOT / "templates/dev.yaml"), "--stack", "nope"], id="late-failure"
        ),
    ],
)
def test_generate_bad_input_leaves_previous_output_untouched(tmp_path: Path, bad_args: list[str]) -> None:
    out = tmp_path / "out"
    good = run_generate(REPO_ROOT / "templates/prod.yaml", out)
    assert good.returncode == 0, good.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "monitoring-forwarder.json" in before
    bad_config = write_config(tmp_path, {**VALID, "region": "nowhere"})
    args = [arg.format(bad_config=bad_config) for arg in bad_args]
    bad = subprocess.run(
        [sys.executable, str(REPO_ROOT / "generate.py"), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2, bad.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_generate_missing_config_file(tmp_path: Path) -> None:
    result = run_generate(tmp_path / "missing.yaml", tmp_path / "out")
    assert result.returncode == 2
    assert "missing.yaml: file not found" in result.stderr


# -- strictness: regions from botocore, duplicate keys, exact types -------------------------------------


@pytest.mark.parametrize("region", ["us-east-9", "eu-west-0", "us-gov-north-1", "moon-1"])
def test_region_outside_botocores_partition_lists_is_rejected(tmp_path: Path, region: str) -> None:
    path = write_config(tmp_path, {**VALID, "region": region})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: region: '{region}' is not a region of any AWS partition in botocore ")
    assert "\n" not in message


def test_region_typo_gets_the_closest_real_region() -> None:
    expected = r"'il-centrl-1' is not a region .* \(did you mean 'il-central-1'\?\)"
    with pytest.raises(ConfigError, match=expected):
        parse_config({**VALID, "region": "il-centrl-1"})


def test_every_region_botocore_lists_is_accepted_whatever_its_partition() -> None:
    from botocore.loaders import create_loader

    listed = {
        region
        for partition in create_loader().load_data("endpoints")["partitions"]
        for region in partition["regions"]
    }
    assert {"us-east-1", "eu-west-1", "us-gov-west-1", "cn-north-1"} <= listed
    for region in sorted(listed):
        assert parse_config({**VALID, "region": region}).region == region


@pytest.mark.parametrize(
    ("text", "field", "lines"),
    [
        pytest.param(
            "environment: dev\nregion: us-east-1\nregion: eu-west-1\n", "region", "lines 2 and 3", id="top"
        ),
        pytest.param(
            "data_store:\n  glacier_transition_days: 90\n  glacier_transition_days: 30\n",
            "data_store.glacier_transition_days",
            "lines 2 and 3",
            id="nested",
        ),
    ],
)
def test_duplicate_yaml_key_is_an_error_not_the_last_value(
    tmp_path: Path, text: str, field: str, lines: str
) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: {field}: key appears twice ({lines}); YAML would silently keep the last value"
    )


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("data_store", "glacier_transition_days"),  # a plain integer
        ("data_store", "log_retention_days"),  # one of CloudWatch's allowed integers (90.0 == 90 in Python)
        ("monitoring", "log_retention_days"),
    ],
)
def test_float_for_an_integer_is_rejected(tmp_path: Path, section: str, key: str) -> None:
    path = write_config(tmp_path, f"{yaml.safe_dump(VALID)}{section}:\n  {key}: 90.0\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {section}.{key}: ")
    assert "90.0" in message


@dataclasses.dataclass(frozen=True)
class ProbeSettings:
    """Stands for the first bool and float fields a config section gains."""

    enabled: bool = dataclasses.field(default=False, metadata={"doc": "a switch"})
    ratio: float = dataclasses.field(default=0.5, metadata={"doc": "a share"})
    label: str | None = dataclasses.field(default=None, metadata={"doc": "optional"})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"enabled": "yes please"}, "probe.yaml: enabled: expected true or false, got 'yes please'"),
        ({"enabled": 1}, "probe.yaml: enabled: expected true or false, got 1"),
        ({"ratio": "half"}, "probe.yaml: ratio: expected a number, got 'half'"),
        ({"ratio": True}, "probe.yaml: ratio: expected a number, got true"),
        ({"ratio": float("nan")}, "probe.yaml: ratio: expected a number, got nan"),
        ({"label": 7}, "probe.yaml: label: expected a string, got 7"),
        ({"label": ["a"]}, "probe.yaml: label: expected a string, got a list"),
    ],
)
def test_bool_and_float_fields_give_one_line_errors_not_a_key_error(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "probe.yaml", schema=ProbeSettings)
    assert str(caught.value) == message


def test_bool_and_float_fields_accept_their_values() -> None:
    probe = parse_config({"enabled": True, "ratio": 2, "label": None}, "probe.yaml", schema=ProbeSettings)
    assert probe == ProbeSettings(enabled=True, ratio=2.0, label=None)
    assert type(probe.ratio) is float


def _as_yaml_value(value: object) -> object:
    if dataclasses.is_dataclass(value):
        return {f.name: _as_yaml_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return list(value) if isinstance(value, tuple) else value


def test_every_config_field_type_has_a_loader_rule() -> None:
    """Every field, written out with its default, loads back to the same value: a field of a type the
    loader has no rule for fails here, not in a user's hands."""
    defaults = parse_config(VALID)
    written = _as_yaml_value(defaults)
    assert parse_config(written) == defaults
