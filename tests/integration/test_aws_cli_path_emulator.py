"""OPS-2: the README's "Deploying with the AWS CLI" blocks, run as written by bash with the real AWS CLI
(`make awscli-venv`) against moto's server, for dev and prod; then every stack, parameter, tag, the
artifact bucket's hardening and the uploaded zips are read back with boto3.

What the emulator needs, and only here: the templates handed to the CLI are the adapter's moto_body copies
(MOTO_GAPS: KMS key tags, DependsOn order, skipped resource types), the adapter's in-process bridges serve
the CLI's HTTP calls too (termination protection, change-set outputs), and the CLI's endpoint is named
`localhost` rather than 127.0.0.1: `aws cloudformation deploy --s3-bucket` passes a path-style TemplateURL
on the endpoint's host, and moto reads the bucket from the path only when the host is `localhost` (with
an IP address it takes the first label, "127", for the bucket: NoSuchBucket)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest

from aws_cli_docs import blocks
from iam_guard.build import build_stacks, generate_templates
from iam_guard.config import load_config
from iam_guard.contract import MONITORING_FUNCTIONS
from iam_guard.deploy.artifacts import default_bucket_name, tls_only_policy
from iam_guard.deploy.external_id import EXTERNAL_ID_ENV
from iam_guard.deploy.runner import ARTIFACT_BUCKET_PARAMETER, CODE_KEY_PARAMETERS
from iam_guard.packaging import write_zips, zip_key
from iam_guard.sandbox.emulator import moto_body
from support import REPO_ROOT

pytestmark = pytest.mark.integration

AWS_CLI = REPO_ROOT / ".venv-awscli" / "bin" / "aws"
EXTERNAL_ID = "aws-cli-path-test-external-id-0123456789"  # 40 characters, satisfies AuditExternalId

# The monitoring stack's code keys (dev and prod deploy no organization functions).
MONITORING_CODE_KEYS = {
    parameter: handler
    for parameter, handler in CODE_KEY_PARAMETERS.items()
    if parameter in {function.code_key_parameter for function in MONITORING_FUNCTIONS}
}


@pytest.fixture
def aws_cli() -> Path:
    if not os.access(AWS_CLI, os.X_OK):
        pytest.skip(f"the AWS CLI is not installed in {AWS_CLI.parent.parent.name}: run `make awscli-venv`")
    return AWS_CLI


def run_documented_blocks(cfg_name: str, region: str, work: Path, endpoint: str, cli: Path) -> str:
    """bash -euo pipefail over the README's bucket block, then the config's deploy block, in `work`
    (which holds out/); the CLI's output, or a failure with it."""
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=endpoint.replace("127.0.0.1", "localhost"),
        PATH=f"{cli.parent}{os.pathsep}{env['PATH']}",
        REGION=region,
        **{EXTERNAL_ID_ENV: EXTERNAL_ID},
    )
    script = "set -euo pipefail\n" + blocks()["bucket"] + blocks()[f"deploy {cfg_name}"]
    done = subprocess.run(
        ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def test_ops_2_aws_cli_commands_deploy_every_stack_on_the_emulator(
    aws_cli: Path, aws: str, cfg_name: str, tmp_path: Path
) -> None:
    config = load_config(REPO_ROOT / "templates" / f"{cfg_name}.yaml")
    out = tmp_path / "out"
    for path in generate_templates(config, out).written.values():
        path.write_text(moto_body(path.read_text(encoding="utf-8")), encoding="utf-8")
    write_zips(out)

    output = run_documented_blocks(cfg_name, config.region, tmp_path, aws, aws_cli)

    account = boto3.client("sts").get_caller_identity()["Account"]
    bucket = default_bucket_name(account, config.region)
    artifacts = build_stacks(config)
    for artifact in artifacts:
        assert f"Successfully created/updated stack - {artifact.stack_name}" in output
        (stack,) = boto3.client("cloudformation", region_name=artifact.region).describe_stacks(
            StackName=artifact.stack_name
        )["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert stack["EnableTerminationProtection"] is True
        assert {t["Key"]: t["Value"] for t in stack["Tags"]} == config.tags
        parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
        if artifact.name == "monitoring":
            assert parameters[ARTIFACT_BUCKET_PARAMETER] == bucket
            for parameter, handler in MONITORING_CODE_KEYS.items():
                assert parameters[parameter] == zip_key(handler)
            assert set(parameters) == {ARTIFACT_BUCKET_PARAMETER, "AuditExternalId", *MONITORING_CODE_KEYS}
        else:
            assert parameters == {}
    # prod: the forwarder is the only stack in us-east-1, in its own region's listing.
    forwarders = [a for a in artifacts if a.region != config.region]
    assert [a.name for a in forwarders] == (["monitoring-forwarder"] if cfg_name == "prod" else [])

    s3 = boto3.client("s3", region_name=config.region)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert set(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values()) == {True}
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == tls_only_policy(bucket)
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    for handler in MONITORING_CODE_KEYS.values():
        head = s3.head_object(Bucket=bucket, Key=zip_key(handler))
        assert head["ServerSideEncryption"] == "AES256"
        assert head["ContentLength"] == (out / Path(zip_key(handler)).name).stat().st_size


def test_ops_2_aws_cli_commands_run_again_change_nothing_and_succeed(
    aws_cli: Path, aws: str, tmp_path: Path
) -> None:
    config = load_config(REPO_ROOT / "templates" / "dev.yaml")
    out = tmp_path / "out"
    for path in generate_templates(config, out).written.values():
        path.write_text(moto_body(path.read_text(encoding="utf-8")), encoding="utf-8")
    write_zips(out)
    run_documented_blocks("dev", config.region, tmp_path, aws, aws_cli)
    cloudformation = boto3.client("cloudformation")
    before = {s["StackName"]: s["StackId"] for s in cloudformation.describe_stacks()["Stacks"]}

    output = run_documented_blocks("dev", config.region, tmp_path, aws, aws_cli)

    after = {s["StackName"]: s["StackId"] for s in cloudformation.describe_stacks()["Stacks"]}
    assert after == before and len(after) == 2
    assert "No changes to deploy" in output
