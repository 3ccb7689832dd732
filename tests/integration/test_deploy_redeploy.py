"""OPS-2 (DEP-1, DS-9): deploy after destroy adopts what destroy retained. The data store
(templates/dev.yaml) is deployed, given an object, destroyed (its bucket, log bucket, key and audit log
group remain) and deployed again: the new stack owns the same data bucket, with the object, encrypted with
the same key, imported through an IMPORT change set. Where the key cannot be adopted (scheduled for
deletion), deploy creates nothing and says exactly what to run; after that, the next deploy adopts.

moto has no resource import of its own: the adapter implements it on the emulator side
(MOTO_GAPS["resource-import"]), so these tests prove the deploy code's plan, the IMPORT change set it
sends and the update that follows, not CloudFormation's own import checks."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from integration_support import Transcript

from iam_guard.build import StackArtifact, build_stacks
from iam_guard.config import load_config
from iam_guard.deploy.destroy import destroy_all
from iam_guard.deploy.runner import DeployOptions, deploy_all
from iam_guard.sandbox.emulator import for_moto

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Tried to parse AWS..+ but it.s not supported by moto:UserWarning"),
]

CONFIG = Path(__file__).resolve().parents[2] / "templates" / "dev.yaml"
STACK = "iam-guard-data-store-dev"
BUCKET = "iam-guard-data-123456789012-dev-us-east-1"
RECORD = "ledger/2026/12/01.csv"


def data_store() -> StackArtifact:
    (artifact,) = build_stacks(load_config(CONFIG), only="data-store")
    return for_moto(artifact)


def deploy(out: Path) -> tuple[int, Transcript]:
    transcript = Transcript()
    options = DeployOptions(out_dir=out, poll_seconds=0.05, tags=load_config(CONFIG).tags)
    return deploy_all([data_store()], options, say=transcript, warn=transcript), transcript


def physical_ids() -> dict[str, str]:
    resources = boto3.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def bucket_key() -> str:
    rules = boto3.client("s3").get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"][
        "Rules"
    ]
    return str(rules[0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]).rsplit("/", 1)[-1]


def deploy_write_destroy(out: Path) -> str:
    """Deploy, store one record, destroy; the data key's id."""
    rc, transcript = deploy(out)
    assert rc == 0, transcript.text
    key = physical_ids()["DataKey"]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=RECORD, Body=b"account,amount\n42,1000\n")
    assert destroy_all([data_store()], say=Transcript(), poll_seconds=0.05) == 0
    assert boto3.client("s3").head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200
    return key


def test_ops_2_redeploy_after_destroy_adopts_the_same_data_bucket_and_key(aws: str, tmp_path: Path) -> None:
    key = deploy_write_destroy(tmp_path)

    rc, transcript = deploy(tmp_path)

    assert rc == 0, transcript.text
    ids = physical_ids()
    assert ids["DataBucket"] == BUCKET
    assert ids["DataKey"] == key
    assert bucket_key() == key, "the data stays encrypted with the key it was written with"
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=RECORD)["Body"].read()
    assert body == b"account,amount\n42,1000\n"
    said = transcript.text
    assert f"stack {STACK}: an earlier deployment's retained resources exist" in said
    assert f"  adopt DataBucket (AWS::S3::Bucket): {BUCKET}" in said
    assert f"  adopt DataKey (AWS::KMS::Key): {key}" in said
    assert (
        "  adopt DataStoreAuditLogGroup (AWS::Logs::LogGroup): /iam-guard/dev-us-east-1/data-store-audit"
        in said
    )
    assert f"{STACK}: IMPORT_COMPLETE" in said
    assert (
        f"stack {STACK}: created: UPDATE_COMPLETE; termination protection on (adopted 4 retained resource(s))"
        in said
    )
    assert "4 imported" in transcript.lines[-1]
    stack = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE" and stack["EnableTerminationProtection"] is True
    assert len(boto3.client("kms").list_keys()["Keys"]) == 1, "no second key"


def test_ops_2_the_import_change_set_holds_only_the_retained_resources(aws: str, tmp_path: Path) -> None:
    deploy_write_destroy(tmp_path)
    sent: list[dict] = []
    boto3_session = boto3.session.Session()

    def clients(service: str, region: str) -> object:
        client = boto3_session.client(service, region_name=region)
        client.meta.events.register(
            "provide-client-params.cloudformation.CreateChangeSet",
            lambda params, **_: sent.append(dict(params)),
        )
        return client

    options = DeployOptions(out_dir=tmp_path, poll_seconds=0.05)
    assert deploy_all([data_store()], options, clients=clients, say=Transcript()) == 0

    kinds = [params["ChangeSetType"] for params in sent]
    assert kinds == ["IMPORT", "UPDATE"]
    imported = json.loads(sent[0]["TemplateBody"])["Resources"]
    assert sorted(imported) == ["AccessLogBucket", "DataBucket", "DataKey", "DataStoreAuditLogGroup"]
    assert all(spec["DeletionPolicy"] == "Retain" for spec in imported.values())
    assert "DependsOn" not in imported["DataBucket"], "AccessLogBucketPolicy is not imported"
    assert sorted(r["LogicalResourceId"] for r in sent[0]["ResourcesToImport"]) == sorted(imported)
    assert {
        "ResourceType": "AWS::S3::Bucket",
        "LogicalResourceId": "DataBucket",
        "ResourceIdentifier": {"BucketName": BUCKET},
    } in sent[0]["ResourcesToImport"]


def test_ops_2_a_key_scheduled_for_deletion_blocks_adoption_with_the_commands_to_run(
    aws: str, tmp_path: Path
) -> None:
    key = deploy_write_destroy(tmp_path)
    kms = boto3.client("kms")
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)

    rc, transcript = deploy(tmp_path)

    assert rc == 1
    said = transcript.text
    assert "they cannot all be adopted, so the stack was not created. What to do:" in said
    assert (
        f"aws kms cancel-key-deletion --key-id {key} --region us-east-1 && "
        f"aws kms enable-key --key-id {key} --region us-east-1, then deploy again."
    ) in said
    live = [
        s for s in boto3.client("cloudformation").list_stacks()["StackSummaries"] if s["StackName"] == STACK
    ]
    assert all(s["StackStatus"] == "DELETE_COMPLETE" for s in live), "nothing was created"

    kms.cancel_key_deletion(KeyId=key)  # what the message says to run
    kms.enable_key(KeyId=key)
    rc, transcript = deploy(tmp_path)

    assert rc == 0, transcript.text
    assert physical_ids()["DataKey"] == key and physical_ids()["DataBucket"] == BUCKET
