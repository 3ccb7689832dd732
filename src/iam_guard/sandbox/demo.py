"""The guided sandbox run (OPS-3): start moto's server on 127.0.0.1 with the emulator bridges, deploy both
stacks with iam-guard's own deploy code, attach a policy that grants everything, deliver that call's
CloudTrail event to the deployed analyzer, print the alert as the topic's subscriber receives it and the
security-log record, stop the emulator.

What is real: the templates, the deploy code (change sets, artifact bucket, zips, outputs), the handler
code (taken from the artifact bucket the deployed function points at, checked against the function's
CodeSha256), the SNS topic, its SQS subscriber and the log group, all over HTTP on moto's server.
What is not: moto records no CloudTrail events and runs no Lambda function without Docker, so the sandbox
builds the CloudTrail event of the call it made, checks that the deployed rule's pattern matches it and
that the rule targets the function, and invokes the handler in this process as EventBridge would (the
event as the payload, the function's environment, a Lambda context).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import io
import json
import logging
import os
import socket
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from iam_guard import contract
from iam_guard.build import build_stacks
from iam_guard.config import Config
from iam_guard.deploy.runner import FLAT_OUTPUTS_FILE, DeployOptions, deploy_all
from iam_guard.sandbox.emulator import MOTO_GAPS, for_moto, install_emulator_patches, unsupported_resources

# Throwaway credentials: the sandbox never talks to AWS, and real credentials never reach the emulator.
SANDBOX_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "AWS_SESSION_TOKEN": "sandbox",
}
# The audit role's external ID for the sandbox deployment (32+ characters; not a secret here).
SANDBOX_EXTERNAL_ID = "iam-guard-sandbox-external-id-0000000000"
RISKY_POLICY_NAME = "sandbox-wide-open"
RISKY_ROLE_NAME = "sandbox-app-runner"
SUBSCRIBER_QUEUE = "iam-guard-sandbox-subscriber"
WIDE_OPEN = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "EverythingEverywhere", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
ALERT_BEGIN, ALERT_END = "----- alert -----", "----- end of alert -----"
RECORD_BEGIN, RECORD_END = "----- security-log record -----", "----- end of record -----"
STEPS = 6


class SandboxFailed(Exception):
    """A step of the sandbox did not do what it shows; the message says which and why."""


@dataclass
class LambdaContext:
    """The parts of the Lambda context the handler reads; the remaining time runs down with the clock."""

    function_name: str
    invoked_function_arn: str
    timeout_seconds: int
    aws_request_id: str = "5a4db0c5-0000-4000-8000-000000000001"
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = time.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        return int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000)


def step(number: int, text: str) -> None:
    print(f"\n[{number}/{STEPS}] {text}", flush=True)


def indented(text: str, prefix: str = "    ") -> None:
    for line in text.splitlines():
        print(f"{prefix}{line}", flush=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _environment(values: dict[str, str], drop_prefix: str = "") -> Iterator[None]:
    """Set `values` (and remove every other variable starting with drop_prefix) until the block ends."""
    saved = dict(os.environ)
    for key in [key for key in os.environ if drop_prefix and key.startswith(drop_prefix)]:
        del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def emulator(region: str) -> Iterator[str]:
    """moto's server on 127.0.0.1 at a free port, bridged, with every boto3 client of this process pointed
    at it through AWS_ENDPOINT_URL and throwaway credentials. Any AWS_* of the caller (a profile, real
    keys, an endpoint) is set aside first: moto itself builds boto3 sessions while it is imported."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    settings = {**SANDBOX_CREDENTIALS, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
    with _environment({**settings, "AWS_ENDPOINT_URL": endpoint}, drop_prefix="AWS_"):
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per HTTP request otherwise
        # moto warns once per resource it does not model; the run lists those types once instead.
        logging.getLogger("moto").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message="Tried to parse AWS::.* but it.s not supported by moto")
        install_emulator_patches()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield endpoint
        finally:
            server.stop()


def cloudtrail_event(account: str, caller_arn: str, policy_arn: str, role: str) -> dict[str, Any]:
    """The EventBridge "AWS API Call via CloudTrail" event of AttachRolePolicy, as CloudTrail writes it."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": account,
        "time": now,
        "region": "us-east-1",  # IAM is global: CloudTrail records its calls in us-east-1
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "accountId": account, "arn": caller_arn},
            "eventTime": now,
            "eventSource": "iam.amazonaws.com",
            "eventName": "AttachRolePolicy",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "127.0.0.1",
            "userAgent": "iam-guard-sandbox",
            "requestParameters": {"policyArn": policy_arn, "roleName": role},
            "responseElements": None,
            "requestID": str(uuid.uuid4()),
            "eventID": str(uuid.uuid4()),
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
        },
    }


def _client(service: str) -> Any:
    import boto3

    return boto3.session.Session().client(service)


def deploy(config: Config, out_dir: Path) -> dict[str, str]:
    """Every stack of the config through iam-guard's deploy code; returns the flat outputs."""
    stacks = build_stacks(config)
    skipped = sorted({kind for artifact in stacks for kind in unsupported_resources(artifact.body).values()})
    print(f"    moto does not model {len(skipped)} resource types of these templates; it skips them:")
    print(f"    {', '.join(skipped)}")
    artifacts = [for_moto(artifact) for artifact in stacks]
    options = DeployOptions(
        out_dir=out_dir, audit_external_id=SANDBOX_EXTERNAL_ID, tags=config.tags, poll_seconds=0.05
    )
    exit_code = deploy_all(artifacts, options, say=lambda line: indented(line, "    | "))
    if exit_code != 0:
        raise SandboxFailed(f"deploy failed (exit {exit_code}); its output is above")
    outputs: dict[str, str] = json.loads((out_dir / FLAT_OUTPUTS_FILE).read_text())
    return outputs


def subscribe_queue(topic_arn: str) -> str:
    """An SQS queue subscribed to the alert topic (moto sends no e-mail): the URL of the queue."""
    sqs = _client("sqs")
    url: str = sqs.create_queue(QueueName=SUBSCRIBER_QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    _client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def make_risky_change() -> tuple[str, str]:
    """A customer-managed policy that allows everything, attached to a new role: (policy ARN, role)."""
    iam = _client("iam")
    policy = iam.create_policy(PolicyName=RISKY_POLICY_NAME, PolicyDocument=json.dumps(WIDE_OPEN))
    iam.create_role(RoleName=RISKY_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
    policy_arn: str = policy["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=RISKY_ROLE_NAME, PolicyArn=policy_arn)
    return policy_arn, RISKY_ROLE_NAME


def check_rule_routes_to(event: dict[str, Any], rule_name: str, function_arn: str) -> None:
    """The deployed rule's pattern matches the event (moto's matcher) and its target is the function, with
    the whole event as input: what EventBridge would deliver."""
    from moto.events.models import EventPattern

    events = _client("events")
    rule = events.describe_rule(Name=rule_name)
    pattern: Any = EventPattern.load(rule["EventPattern"])  # moto's own event type is a TypedDict
    if not pattern.matches_event(event):
        raise SandboxFailed(f"the deployed rule {rule_name} does not match the event")
    targets = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    target = next((t for t in targets if t["Arn"] == function_arn), None)
    if target is None or any(key in target for key in ("Input", "InputPath", "InputTransformer")):
        raise SandboxFailed(f"the deployed rule {rule_name} does not pass the event to {function_arn}")


def deployed_code(function_name: str, stack_name: str, zip_dir: Path) -> Path:
    """The zip the deployed function runs, fetched from the artifact bucket its stack names and checked
    against the function's CodeSha256."""
    parameters = {
        p["ParameterKey"]: p["ParameterValue"]
        for p in _client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]["Parameters"]
    }
    bucket, key = parameters["ArtifactBucket"], parameters[contract.POLICY_ANALYZER.code_key_parameter]
    payload = _client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    expected = _client("lambda").get_function_configuration(FunctionName=function_name)["CodeSha256"]
    if base64.b64encode(hashlib.sha256(payload).digest()).decode() != expected:
        raise SandboxFailed(f"s3://{bucket}/{key} is not the code of {function_name}")
    path = zip_dir / Path(key).name
    path.write_bytes(payload)
    print(f"    code: s3://{bucket}/{key} (CodeSha256 {expected}, as the function reports)")
    return path


def invoke_from_zip(code: Path, function_name: str, event: dict[str, Any]) -> str:
    """Run the zip's policy_change.handler on the event, as Lambda would: the zip's root first on sys.path,
    the function's environment, a context with its timeout. Returns what the function printed (its log).
    iam_guard itself is already imported in this process, so the zip's copy of iam_guard.analysis (built
    from the same files) is not the one that runs."""
    configuration = _client("lambda").get_function_configuration(FunctionName=function_name)
    environment = configuration.get("Environment", {}).get("Variables", {})
    context = LambdaContext(function_name, configuration["FunctionArn"], int(configuration["Timeout"]))
    before = set(sys.modules)
    sys.path.insert(0, str(code))
    printed = io.StringIO()
    try:
        with _environment(environment), contextlib.redirect_stdout(printed):
            module_name = configuration["Handler"].rsplit(".", 1)[0]
            handler = getattr(importlib.import_module(module_name), configuration["Handler"].rsplit(".")[-1])
            handler(event, context)
    finally:
        sys.path.remove(str(code))
        for name in set(sys.modules) - before:
            del sys.modules[name]
    return printed.getvalue()


def received_alerts(queue_url: str) -> list[dict[str, Any]]:
    reply = _client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(message["Body"]) for message in reply.get("Messages", [])]


def security_log_records(group: str) -> list[dict[str, Any]]:
    logs = _client("logs")
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
    events = [event for page in pages for event in page["events"]]
    return [json.loads(event["message"]) for event in sorted(events, key=lambda e: e["timestamp"])]


def run(config: Config) -> int:
    """The guided loop; 0 when the alert and the record arrived, SandboxFailed otherwise."""
    started = time.monotonic()
    step(1, "Starting moto's server on 127.0.0.1 (the local AWS emulator, in this process).")
    with emulator(config.region) as endpoint, tempfile.TemporaryDirectory(prefix="iam-guard-sandbox-") as tmp:
        print(f"    {endpoint}: every AWS call of this run goes there (AWS_ENDPOINT_URL, throwaway keys).")
        print(f"    {len(MOTO_GAPS)} emulator gaps are bridged by iam_guard.sandbox.emulator (MOTO_GAPS).")

        step(2, f"Deploying every stack of {config.environment} with iam-guard's deploy code.")
        outputs = deploy(config, Path(tmp))
        queue_url = subscribe_queue(outputs["AlertTopicArn"])
        print(f"    alert topic {outputs['AlertTopicArn']}")
        print(f"    subscriber: SQS queue {SUBSCRIBER_QUEUE} (stands in for the e-mail subscription)")

        step(3, f'An engineer attaches a policy allowing "*" on "*" to role {RISKY_ROLE_NAME}.')
        policy_arn, role = make_risky_change()
        caller = _client("sts").get_caller_identity()
        event = cloudtrail_event(caller["Account"], caller["Arn"], policy_arn, role)
        print(f"    iam:AttachRolePolicy {policy_arn} -> {role}")

        step(4, "Delivering the call's CloudTrail event to the deployed analyzer.")
        print("    moto records no CloudTrail events and runs no Lambda without Docker: the sandbox builds")
        print("    the event CloudTrail would send, checks that the deployed rule matches it and targets the")
        print("    function, and invokes the deployed code in this process as EventBridge would.")
        function_name = outputs["PolicyAnalyzerFunctionName"]
        check_rule_routes_to(event, outputs["IamChangeRuleName"], outputs["PolicyAnalyzerFunctionArn"])
        print(f"    rule {outputs['IamChangeRuleName']} matches event {event['detail']['eventID']}")
        monitoring_stack = next(a.stack_name for a in build_stacks(config) if a.name == "monitoring")
        code = deployed_code(function_name, monitoring_stack, Path(tmp))
        function_log = invoke_from_zip(code, function_name, event)
        print(f"    {function_name} ran; its log ({len(function_log.splitlines())} lines):")
        indented(function_log, "    > ")

        step(5, "What the subscriber receives.")
        alerts = received_alerts(queue_url)
        if len(alerts) != 1:
            raise SandboxFailed(f"expected one alert on {SUBSCRIBER_QUEUE}, got {len(alerts)}")
        print(ALERT_BEGIN)
        print(f"Subject: {alerts[0].get('Subject', '')}")
        print(alerts[0]["Message"])
        print(ALERT_END)
        log_group = outputs["SecurityLogGroupName"]
        records = [r for r in security_log_records(log_group) if r.get("kind") == "policy-finding"]
        if not records:
            raise SandboxFailed(f"no policy-finding record in {log_group}")
        print(f"Log group {log_group}:")
        print(RECORD_BEGIN)
        print(json.dumps(records[0], indent=2, sort_keys=True))
        print(RECORD_END)

        step(6, "Stopping the emulator (everything it held is gone).")
    print(f"\nDone in {time.monotonic() - started:.1f} s. What the emulator cannot show: README, 'Sandbox'.")
    return 0
