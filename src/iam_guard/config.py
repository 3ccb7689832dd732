"""Deployment configuration: one YAML file per deployment, loaded into frozen dataclasses.

Every field says what its default does. Loading is strict: an unknown key, a missing required key, a
wrong type or a bad value raises ConfigError with one line that names the file, the field and the value,
so a typo is never silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import ipaddress
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message is one line for the user."""


Validator = Callable[[Any], str | None]

_ENVIRONMENT = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_PRINCIPAL_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:(root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+)$")
_ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]+$")
_TAG_VALUE = re.compile(r"^[\w .:/=+@-]{1,128}$")
_TRAIL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$")
# AWS Organizations' own ID patterns (API reference: Organization.Id, OrganizationalUnit.Id, Root.Id).
_ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_OU_OR_ROOT_ID = re.compile(r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def _pattern(regex: re.Pattern[str], what: str) -> Validator:
    def check(value: Any) -> str | None:
        return None if regex.fullmatch(value) else f"must be {what}"

    return check


def _cidr(value: str) -> str | None:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        return "must be a CIDR block such as 10.0.0.0/8 (network address, prefix length)"
    if network.prefixlen == 0:
        return "must not be 0.0.0.0/0 or ::/0: that admits every address"
    return None


@functools.lru_cache(maxsize=1)
def partition_regions() -> dict[str, tuple[str, ...]]:
    """partition -> its regions, from botocore's endpoint data (the list the AWS SDK itself uses)."""
    from botocore.loaders import create_loader

    endpoints = create_loader().load_data("endpoints")
    return {
        str(partition["partition"]): tuple(sorted(partition.get("regions", {})))
        for partition in endpoints["partitions"]
    }


def _aws_region(value: str) -> str | None:
    regions = [region for listed in partition_regions().values() for region in listed]
    if value in regions:
        return None
    import botocore

    close = difflib.get_close_matches(value, regions, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"is not a region of any AWS partition in botocore {botocore.__version__}'s endpoint data{hint}"


def _in_range(low: int, high: int) -> Validator:
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}"

    return check


def _non_empty(value: list[Any]) -> str | None:
    return None if value else "must list at least one entry"


# The retention periods CloudWatch Logs accepts.
RetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
]


def _doc(text: str, validate: Validator | None = None, item: Validator | None = None) -> dict[str, Any]:
    return {"doc": text, "validate": validate, "item": item}


@dataclass(frozen=True)
class DataStoreConfig:
    """The secure data store for financial data (DS-1 to DS-9)."""

    access_principals: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "IAM principal ARNs that may assume DataAnalyst and DataEngineer (with MFA). "
            "Empty: this account's root, i.e. any principal of the account whose own policy allows it.",
            item=_pattern(_PRINCIPAL_ARN, "an IAM principal ARN (arn:aws:iam::123456789012:role/Name)"),
        ),
    )
    glacier_transition_days: int = field(
        default=90,
        metadata=_doc(
            "Days after which current object versions move to S3 Glacier Flexible Retrieval.",
            _in_range(1, 3650),
        ),
    )
    noncurrent_glacier_transition_days: int = field(
        default=30,
        metadata=_doc("Days after which noncurrent versions move to Glacier.", _in_range(1, 3650)),
    )
    abort_incomplete_multipart_days: int = field(
        default=7,
        metadata=_doc("Days after which incomplete multipart uploads are aborted.", _in_range(1, 365)),
    )
    log_retention_days: RetentionDays = field(
        default=365,
        metadata=_doc("Retention of the data store's audit log group (CloudWatch allowed values)."),
    )
    access_log_retention_days: int = field(
        default=365,
        metadata=_doc("Days the data store's S3 server access logs are kept.", _in_range(1, 3650)),
    )


@dataclass(frozen=True)
class MonitoringConfig:
    """The IAM security monitoring and remediation stack (MON, CON, EDGE, H)."""

    trusted_audit_account_ids: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "12-digit AWS account IDs whose principals may assume the cross-account audit role with the "
            "external ID. Empty: no audit role is created.",
            item=_pattern(_ACCOUNT_ID, "a 12-digit AWS account ID"),
        ),
    )
    remediation_mode: Literal["off", "notify", "quarantine"] = field(
        default="notify",
        metadata=_doc(
            "off: findings are logged only. notify: findings at or above alert_severity are sent to the "
            "alert topic. quarantine: as notify, and the offending principal gets the stack's "
            "explicit-deny policy attached (never deletes or detaches anything)."
        ),
    )
    alert_severity: Literal["info", "low", "medium", "high", "critical"] = field(
        default="high",
        metadata=_doc("Lowest finding severity that is alerted over SNS."),
    )
    audit_hour_utc: int = field(
        default=2,
        metadata=_doc("Hour (UTC) at which the daily audit runs.", _in_range(0, 23)),
    )
    log_retention_days: RetentionDays = field(
        default=90,
        metadata=_doc("Retention of the functions' own log groups (CloudWatch allowed values)."),
    )
    security_log_retention_days: RetentionDays = field(
        default=90,
        metadata=_doc(
            "Retention of the security-events log group, the findings' audit history (DS-11; CloudWatch "
            "allowed values). PCI DSS 10.7 asks for a year of audit history: prod sets 365."
        ),
    )
    data_bucket_data_events: bool = field(
        default=False,
        metadata=_doc(
            "DS-10: the stack's trail also records CloudTrail data events (object reads and writes) of the "
            "data store's bucket, and no other bucket. Costs $0.10 per 100,000 events. Needs the stack's "
            "own trail (no existing_trail_arn)."
        ),
    )
    trail_object_lock_days: int = field(
        default=90,
        metadata=_doc(
            "DS-11: S3 Object Lock retention (governance mode) of every log file in the trail's bucket, in "
            "days.",
            _in_range(1, 3650),
        ),
    )
    trail_access_log_retention_days: int = field(
        default=365,
        metadata=_doc(
            "Days the S3 server access logs of the trail's bucket are kept (the lifecycle expiration of "
            "the stack's trail access-log bucket; the data store's access logs follow "
            "data_store.access_log_retention_days).",
            _in_range(1, 3650),
        ),
    )
    policy_change_alarm_threshold: int = field(
        default=5,
        metadata=_doc(
            "The change alarm fires on more than this many IAM policy changes in 10 minutes.",
            _in_range(1, 10000),
        ),
    )
    canary_interval_minutes: int = field(
        default=60,
        metadata=_doc(
            "MON-13 heartbeat: minutes between two canary calls (a tag on the stack's quarantine policy). "
            "The heartbeat alarm fires when no canary arrived within two intervals. With an organization, "
            "every member account's canary runs at the same interval and the heartbeat check every two.",
            _in_range(15, 720),
        ),
    )
    existing_trail_arn: str | None = field(
        default=None,
        metadata=_doc(
            "ARN of an existing multi-region CloudTrail trail that already logs management events. "
            "None: the stack creates its own hardened trail (MON-11).",
            _pattern(
                re.compile(r"^arn:aws(-[a-z]+)*:cloudtrail:[a-z0-9-]+:\d{12}:trail/[A-Za-z0-9._-]{3,128}$"),
                "a CloudTrail trail ARN",
            ),
        ),
    )
    deploy_role_arns: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "Roles that deploy iam-guard (MON-12). Calls CloudFormation makes for a session of one of them, "
            "and change sets they execute on iam-guard's stacks, raise no tamper alert. Empty: every call "
            "CloudFormation makes is taken for a deploy (whoever asked for it) and change sets are not "
            "alerted; deleting a stack or lifting its termination protection always alerts.",
            item=_pattern(_ROLE_ARN, "an IAM role ARN (arn:aws:iam::123456789012:role/Name)"),
        ),
    )
    remediation_exempt_principals: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "Principal ARNs that quarantine never touches (break-glass roles, for example). The stack's own "
            "roles are always exempt.",
            item=_pattern(_PRINCIPAL_ARN, "an IAM principal ARN (arn:aws:iam::123456789012:role/Name)"),
        ),
    )


@dataclass(frozen=True)
class OrganizationConfig:
    """ORG-1: an AWS Organization deployment, run from the security account (a delegated administrator
    of CloudFormation StackSets). Absent: a single-account deployment, nothing of this is generated."""

    security_account_id: str = field(
        metadata=_doc(
            "12-digit ID of the security account, where this config's stacks run and whose roles the "
            "member roles trust. Required.",
            _pattern(_ACCOUNT_ID, "a 12-digit AWS account ID"),
        ),
    )
    organization_id: str = field(
        metadata=_doc(
            "The organization's ID (o- and 10-32 lowercase letters or digits): aws:PrincipalOrgID of every "
            "trust and of the central event bus's policy. Required.",
            _pattern(_ORGANIZATION_ID, "an organization ID (o- and 10-32 lowercase letters or digits)"),
        ),
    )
    target_ou_ids: tuple[str, ...] = field(
        metadata=_doc(
            "Organizational units (ou-...) or the root (r-...) whose accounts, present and future, get the "
            "org-member stack (StackSet auto-deployment). Required, at least one.",
            _non_empty,
            item=_pattern(_OU_OR_ROOT_ID, "an OU ID (ou-xxxx-xxxxxxxx) or a root ID (r-xxxx)"),
        ),
    )
    regions: tuple[str, ...] = field(
        default=("us-east-1",),
        metadata=_doc(
            "Regions of the member stack instances; must include the partition's global-services region "
            "(us-east-1; us-gov-west-1 in GovCloud), where the member roles and the IAM event forwarding "
            "live. Other regions forward only that region's trail tampering.",
            _non_empty,
            item=_aws_region,
        ),
    )
    auditor_role_name: str | None = field(
        default=None,
        metadata=_doc(
            "Name of the security account's role that may assume the member audit role: the org-security "
            "stack's fan-out audit worker runs with a role of this name (ORG-2). None: "
            "IamGuardOrgAuditWorker-<environment>-<region>.",
            _pattern(_ROLE_NAME, "an IAM role name (1-64 letters, digits and +=,.@_-)"),
        ),
    )
    require_external_id: bool = field(
        default=False,
        metadata=_doc(
            "The member audit role also requires sts:ExternalId equal to the org-security stack's NoEcho "
            "AuditExternalId parameter (when a third party runs the auditor)."
        ),
    )
    remediation: bool = field(
        default=False,
        metadata=_doc(
            "Each member account gets a remediation role the security account's PolicyAnalyzer role may "
            "assume: it may only attach the member's deny-all quarantine policy and tag (never create, "
            "delete or detach)."
        ),
    )
    audit_concurrency: int = field(
        default=20,
        metadata=_doc(
            "ORG-2: member accounts audited at the same time (the audit queue's event source mapping "
            "MaximumConcurrency and the worker's reserved concurrency). 20 audits 1,000 accounts of 500 "
            "roles in about 8 minutes (make bench); 2 is the mapping's minimum; above 200 the security "
            "account's Lambda concurrency needs planning.",
            _in_range(2, 200),
        ),
    )
    audit_hour_utc: int = field(
        default=3,
        metadata=_doc("ORG-2: hour (UTC) at which the organization audit starts.", _in_range(0, 23)),
    )
    audit_deadline_minutes: int = field(
        default=180,
        metadata=_doc(
            "ORG-2: minutes after the start by which every account must be audited; accounts still open "
            "then are reported failed (with their last error) and the summary goes out.",
            _in_range(30, 1440),
        ),
    )
    results_retention_days: int = field(
        default=400,
        metadata=_doc(
            "ORG-2: days the results bucket keeps a run's records and reports (noncurrent versions too).",
            _in_range(30, 3650),
        ),
    )


@dataclass(frozen=True)
class Config:
    """One deployment of iam-guard: both stacks in one account and region."""

    environment: str = field(
        metadata=_doc(
            "Environment suffix of every name (1-12 lowercase letters and digits, starting with a letter), "
            "so several environments coexist in one account. Required.",
            _pattern(
                _ENVIRONMENT,
                "1-12 lowercase letters or digits starting with a letter (it is part of bucket names)",
            ),
        )
    )
    region: str = field(
        metadata=_doc(
            "AWS region the stacks deploy to, e.g. us-east-1: one of the regions botocore's endpoint data "
            "lists for its partition. Required.",
            _aws_region,
        ),
    )
    owner: str = field(
        metadata=_doc(
            "Owner tag of every resource (a team or a person). Required.",
            _pattern(_TAG_VALUE, "1-128 characters valid in a tag value"),
        ),
    )
    data_classification: Literal["public", "internal", "confidential", "restricted"] = field(
        metadata=_doc("DataClassification tag of every resource. Required."),
    )
    alert_emails: tuple[str, ...] = field(
        metadata=_doc(
            "Addresses subscribed to the security alert topic (each confirms by email). "
            "Required, at least one.",
            _non_empty,
            item=_pattern(_EMAIL, "an email address with a domain (name@example.com)"),
        ),
    )
    allowed_cidrs: tuple[str, ...] = field(
        default=("10.0.0.0/8",),
        metadata=_doc(
            "Source networks from which the data roles and the audit role may be used (aws:SourceIp).",
            _non_empty,
            item=_cidr,
        ),
    )
    data_store: DataStoreConfig = field(
        default_factory=DataStoreConfig, metadata=_doc("Settings of the data-store stack.")
    )
    monitoring: MonitoringConfig = field(
        default_factory=MonitoringConfig, metadata=_doc("Settings of the monitoring stack.")
    )
    organization: OrganizationConfig | None = field(
        default=None,
        metadata=_doc(
            "ORG-1 organization deployment (see OrganizationConfig). None: a single-account deployment."
        ),
    )

    @property
    def name_suffix(self) -> str:
        """The suffix every physical name carries: environment and region (EDGE-1)."""
        return f"{self.environment}-{self.region}"

    @property
    def tags(self) -> dict[str, str]:
        """The compliance tags every taggable resource carries (MON-9)."""
        return {
            "DataClassification": self.data_classification,
            "Environment": self.environment,
            "Owner": self.owner,
        }


def load_config(path: str | Path) -> Config:
    """Load and validate one deployment config; raise ConfigError with a one-line message."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    try:
        _reject_duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader), str(path), "")
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: YAML syntax error{where}: {problem}") from None
    return parse_config(raw, source=str(path))


def _reject_duplicate_keys(node: yaml.Node | None, source: str, prefix: str) -> None:
    """YAML keeps the last of two equal keys without a word; here a repeated key is an error that names
    the field and both lines."""
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise ConfigError(
                    f"{source}: {prefix}{key}: key appears twice (lines {first_line[key]} and {line}); "
                    "YAML would silently keep the last value"
                )
            first_line[key] = line
            _reject_duplicate_keys(value_node, source, f"{prefix}{key}.")
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicate_keys(item, source, f"{prefix.rstrip('.')}[{index}].")


def parse_config(raw: Any, source: str = "<config>", schema: type[Any] = Config) -> Any:
    """Build a Config (or another config dataclass `schema`) from already-parsed YAML/JSON data."""
    built = _build(schema, raw, source, "")
    if isinstance(built, Config):
        _check_across_fields(built, source)
    return built


def _check_across_fields(config: Config, source: str) -> None:
    _check_organization(config, source)
    monitoring = config.monitoring
    if monitoring.data_bucket_data_events and monitoring.existing_trail_arn is not None:
        raise ConfigError(
            f"{source}: monitoring.data_bucket_data_events: true needs the stack's own trail, but "
            f"monitoring.existing_trail_arn is set ({monitoring.existing_trail_arn}): add the data bucket's "
            "data events to that trail instead, or drop existing_trail_arn"
        )


def _check_organization(config: Config, source: str) -> None:
    organization = config.organization
    if organization is None:
        return
    partition = _partition_of(config.region)
    home = "us-gov-west-1" if partition == "aws-us-gov" else "us-east-1"
    for index, region in enumerate(organization.regions):
        if _partition_of(region) != partition:
            raise ConfigError(
                f"{source}: organization.regions[{index}]: {region!r} is not in the partition of "
                f"region {config.region!r} ({partition}): a StackSet deploys within one partition"
            )
    if partition not in ("aws", "aws-us-gov"):
        raise ConfigError(
            f"{source}: region: {config.region!r} is in partition {partition}, where iam-guard's "
            "organization deployment is not supported (aws and aws-us-gov only)"
        )
    if home not in organization.regions:
        raise ConfigError(
            f"{source}: organization.regions: [{', '.join(organization.regions)}] must include {home!r}: "
            "IAM's events reach EventBridge only there, and the member roles are created there"
        )


def _partition_of(region: str) -> str:
    return next(name for name, regions in partition_regions().items() if region in regions)


def _build(cls: type[Any], raw: Any, source: str, prefix: str) -> Any:
    where = prefix.rstrip(".") or "the document"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: {where}: expected a mapping of keys, got {_show(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(str(key) for key in raw if key not in fields)
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigError(f"{source}: {prefix}{unknown[0]}: unknown key (known keys: {known})")
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        dotted = f"{prefix}{name}"
        if name not in raw:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{source}: {dotted}: required key is missing")
            continue
        values[name] = _coerce(hints[name], raw[name], source, dotted, spec.metadata)
    return cls(**values)


def _coerce(hint: Any, value: Any, source: str, dotted: str, meta: Mapping[str, Any]) -> Any:
    origin = get_origin(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, source, f"{dotted}.")
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        if value is None:
            return None
        return _coerce(options[0], value, source, dotted, meta)
    if origin is Literal:
        allowed = get_args(hint)
        # Exact types: 90.0 == 90 and True == 1 in Python, but neither is the integer the field wants.
        if not any(type(value) is type(choice) and value == choice for choice in allowed):
            choices = ", ".join(str(a) for a in allowed)
            raise ConfigError(f"{source}: {dotted}: {_show(value)} is not one of: {choices}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{source}: {dotted}: expected a list, got {_show(value)}")
        (item_type, _) = get_args(hint)
        items = []
        for index, item in enumerate(value):
            items.append(_scalar(item_type, item, source, f"{dotted}[{index}]", meta.get("item")))
        if len(set(items)) != len(items):
            raise ConfigError(f"{source}: {dotted}: lists {_show(_first_repeat(items))} twice")
        result = tuple(items)
        _validate(meta.get("validate"), result, source, dotted)
        return result
    return _scalar(hint, value, source, dotted, meta.get("validate"))


# Scalar type -> (what the message calls it, the YAML values accepted for it). Exact types: YAML reads
# 90.0 as a float and yes/true as a bool, and neither may stand in for an integer.
_SCALARS: dict[Any, tuple[str, Callable[[Any], bool]]] = {
    str: ("a string", lambda value: type(value) is str),
    int: ("an integer", lambda value: type(value) is int),
    bool: ("true or false", lambda value: type(value) is bool),
    float: (
        "a number",
        lambda value: type(value) in (int, float) and math.isfinite(value),
    ),
}


def _scalar(hint: Any, value: Any, source: str, dotted: str, validate: Validator | None) -> Any:
    if hint not in _SCALARS:
        raise TypeError(f"config field {dotted}: no loader rule for type {hint!r}; add one to _SCALARS")
    expected, accepts = _SCALARS[hint]
    if not accepts(value):
        raise ConfigError(f"{source}: {dotted}: expected {expected}, got {_show(value)}")
    value = float(value) if hint is float else value
    _validate(validate, value, source, dotted)
    return value


def _validate(validate: Validator | None, value: Any, source: str, dotted: str) -> None:
    if validate is None:
        return
    problem = validate(value)
    if problem:
        raise ConfigError(f"{source}: {dotted}: {_show(value)} {problem}")


def _first_repeat(items: list[Any]) -> Any:
    seen: set[Any] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return None


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)) and not value:
        return "an empty list"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def describe_fields(cls: type[Any] = Config, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted name, default, doc) for every field: the source of the README's config reference."""
    rows: list[tuple[str, str, str]] = []
    for spec in dataclasses.fields(cls):
        hint = typing.get_type_hints(cls)[spec.name]
        dotted = f"{prefix}{spec.name}"
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            rows.extend(describe_fields(hint, f"{dotted}."))
            continue
        optional_section = _optional_dataclass(hint)
        if optional_section is not None:
            rows.append((dotted, "null", spec.metadata.get("doc", "")))
            rows.extend(describe_fields(optional_section, f"{dotted}."))
            continue
        default = _default_text(spec.default) if spec.default is not dataclasses.MISSING else "required"
        rows.append((dotted, default, spec.metadata.get("doc", "")))
    return rows


def _optional_dataclass(hint: Any) -> type[Any] | None:
    """The section type of an optional section (`OrganizationConfig | None`), else None."""
    if get_origin(hint) not in (typing.Union, types.UnionType):
        return None
    options = [arg for arg in get_args(hint) if arg is not type(None)]
    if len(options) == 1 and isinstance(options[0], type) and dataclasses.is_dataclass(options[0]):
        return options[0]
    return None


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return "null" if value is None else str(value)
