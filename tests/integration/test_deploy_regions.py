"""DEP-1 / MON-4: a deployment outside us-east-1 (templates/prod.yaml, eu-west-1) puts the data-store and
monitoring stacks in the config's region, with the handler zips in an artifact bucket of that region, and
the forwarder stack in us-east-1, where IAM's CloudTrail events reach EventBridge."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from integration_support import Transcript

from iam_guard import packaging
from iam_guard.build import build_stacks
from iam_guard.config import load_config
from iam_guard.deploy.artifacts import default_bucket_name
from iam_guard.deploy.runner import FLAT_OUTPUTS_FILE, DeployOptions, deploy_all
from iam_guard.sandbox.emulator import for_moto

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Tried to parse AWS..+ but it.s not supported by moto:UserWarning"),
]

PROD = Path(__file__).resolve().parents[2] / "templates" / "prod.yaml"


def stacks_in(region: str) -> dict[str, dict]:
    cloudformation = boto3.client("cloudformation", region_name=region)
    return {s["StackName"]: s for s in cloudformation.describe_stacks()["Stacks"]}


def test_dep_1_each_stack_goes_to_its_region_and_the_forwarder_to_us_east_1(aws: str, tmp_path: Path) -> None:
    config = load_config(PROD)
    artifacts = [for_moto(artifact) for artifact in build_stacks(config)]
    regions = {artifact.name: artifact.region for artifact in artifacts}
    assert regions == {
        "data-store": "eu-west-1",
        "monitoring": "eu-west-1",
        "monitoring-forwarder": "us-east-1",
    }
    transcript = Transcript()
    options = DeployOptions(
        out_dir=tmp_path,
        audit_external_id="prod-external-id-0042-5a7c9e1b3d5f",
        tags=config.tags,
        poll_seconds=0.05,
    )

    assert deploy_all(artifacts, options, say=transcript) == 0, transcript.text

    europe = stacks_in("eu-west-1")
    virginia = stacks_in("us-east-1")
    assert set(europe) == {"iam-guard-data-store-prod", "iam-guard-monitoring-prod"}
    assert set(virginia) == {"iam-guard-monitoring-forwarder-prod"}
    for stack in [*europe.values(), *virginia.values()]:
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert stack["EnableTerminationProtection"] is True
        assert {t["Key"]: t["Value"] for t in stack["Tags"]}["DataClassification"] == "restricted"
    bucket = default_bucket_name("123456789012", "eu-west-1")
    s3 = boto3.client("s3", region_name="eu-west-1")
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "eu-west-1"
    for handler in packaging.HANDLERS:
        s3.head_object(Bucket=bucket, Key=packaging.zip_key(handler))
    flat = json.loads((tmp_path / FLAT_OUTPUTS_FILE).read_text())
    every_output = {
        o["OutputKey"] for s in [*europe.values(), *virginia.values()] for o in s.get("Outputs", [])
    }
    assert set(flat) == every_output
    assert ":eu-west-1:" in flat["AlertTopicArn"]
