"""Deploy and destroy every stack of a config (DEP-1, DS-9): zips to the artifact bucket, stacks in
order through change sets, each to its own region, then out/flat-outputs.json; destroy in reverse order,
saying which retained resources remain."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from iam_guard import contract
from iam_guard.deploy.adopt import Place, plan_adoption
from iam_guard.deploy.artifacts import (
    MAX_INLINE_TEMPLATE_BYTES,
    default_bucket_name,
    ensure_artifact_bucket,
    upload_template,
    upload_zips,
)
from iam_guard.deploy.aws_errors import AwsCallFailed, CallLog, aws_step
from iam_guard.deploy.events import Activity
from iam_guard.deploy.external_id import (
    EXTERNAL_ID_ENV,
    EXTERNAL_ID_FLAG,
    EXTERNAL_ID_PARAMETER,
    check_against_parameter,
)
from iam_guard.deploy.stack_sets import DEFAULT_TIMEOUT_SECONDS, StackSetReport, watch_stack_sets
from iam_guard.deploy.stacks import Confirm, Say, StackDeployer, StackRequest, StackResult
from iam_guard.errors import UsageError
from iam_guard.files import write_atomic

FLAT_OUTPUTS_FILE = "flat-outputs.json"
RETAIN_POLICIES = ("Retain", "RetainExceptOnCreate")

# The template parameters deploy fills in, and the packaged handler each code key belongs to.
ARTIFACT_BUCKET_PARAMETER = "ArtifactBucket"
CODE_KEY_PARAMETERS = {function.code_key_parameter: function.module for function in contract.FUNCTIONS}


class Artifact(Protocol):
    """What deploy needs of iam_guard.build.StackArtifact (read-only)."""

    @property
    def name(self) -> str: ...

    @property
    def stack_name(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def body(self) -> str: ...


ClientFactory = Callable[[str, str], Any]  # (service, region) -> boto3 client


def boto3_clients(service: str, region: str) -> Any:
    """A boto3 client from the standard environment and profiles (AWS_ENDPOINT_URL included)."""
    import boto3

    return boto3.session.Session().client(service, region_name=region)


@dataclass(frozen=True)
class DeployOptions:
    """How to deploy: out folder, artifact bucket (None: iam-guard-artifacts-<account>-<region>), the
    audit external ID (never printed), whether to review each change set, the polling interval, and how
    long to wait for a StackSet's operation (ORG-1) before giving up."""

    out_dir: Path = Path("out")
    artifact_bucket: str | None = None
    audit_external_id: str | None = None
    confirm: Confirm | None = None
    poll_seconds: float = 5.0
    tags: Mapping[str, str] = field(default_factory=dict)
    stack_set_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS


def template_parameters(body: str) -> dict[str, Any]:
    return dict(json.loads(body).get("Parameters", {}))


def retained_resources(body: str) -> dict[str, str]:
    """logical id -> resource type of every resource the template keeps on stack deletion."""
    resources = json.loads(body).get("Resources", {})
    return {
        logical_id: resource["Type"]
        for logical_id, resource in sorted(resources.items())
        if resource.get("DeletionPolicy") in RETAIN_POLICIES
    }


def print_to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def deploy_all(
    artifacts: Sequence[Artifact],
    options: DeployOptions,
    clients: ClientFactory = boto3_clients,
    say: Say = print,
    warn: Say = print_to_stderr,
) -> int:
    """Deploy the stacks in order; stop at the first failure. 0 on success (including "no changes"),
    1 on a failed or aborted stack, or on an AWS error (one block through `warn`, naming the stack, the
    operation and AWS's code and message). Writes out/flat-outputs.json after a successful run."""
    calls = CallLog()
    try:
        return _deploy_all(artifacts, options, calls.watching(clients), calls, say)
    except AwsCallFailed as failure:
        warn(failure.block("deploy"))
        return 1


def _deploy_all(
    artifacts: Sequence[Artifact], options: DeployOptions, clients: ClientFactory, calls: CallLog, say: Say
) -> int:
    _check_external_id(artifacts, options, clients, calls)
    bucket_per_region: dict[str, str] = {}
    code_keys_per_region: dict[str, dict[str, str]] = {}
    results: list[StackResult] = []
    stack_sets: list[StackSetReport] = []
    started = time.monotonic()
    for artifact in artifacts:
        with aws_step(artifact.stack_name, artifact.region, calls):
            result = _deploy_one(artifact, options, clients, say, bucket_per_region, code_keys_per_region)
        results.append(result)
        say(f"stack {artifact.stack_name}: {result.outcome}: {result.message}")
        if not result.succeeded:
            say(deploy_summary(results, time.monotonic() - started, len(artifacts)))
            return 1
        with aws_step(artifact.stack_name, artifact.region, calls):
            stack_sets += watch_stack_sets(
                artifact.body,
                clients("cloudformation", artifact.region),
                say,
                poll_seconds=options.poll_seconds,
                timeout_seconds=options.stack_set_timeout_seconds,
            )
    path = write_flat_outputs(options.out_dir, results)
    say(f"wrote {path} ({sum(len(r.outputs) for r in results)} outputs)")
    say(deploy_summary(results, time.monotonic() - started, len(artifacts), stack_sets))
    return 0 if all(report.succeeded for report in stack_sets) else 1


def deploy_summary(
    results: Sequence[StackResult],
    seconds: float,
    planned: int,
    stack_sets: Sequence[StackSetReport] = (),
) -> str:
    """The closing line: how it ended, how long it took, each stack's outcome and the resource counts
    (and, ORG-1, how many StackSet instances failed)."""
    total = Activity()
    for result in results:
        total.add(result.activity)
    failed_sets = [report for report in stack_sets if not report.succeeded]
    ok = len(results) == planned and all(result.succeeded for result in results) and not failed_sets
    head = f"deploy {'complete' if ok else 'FAILED'} in {seconds:.1f} s"
    stacks = ", ".join(f"{result.stack_name} {result.outcome}" for result in results)
    skipped = planned - len(results)
    tail = f"; {skipped} stack(s) not attempted" if skipped else ""
    for report in failed_sets:
        what = f"{len(report.failures)} instance(s) failed" if report.failures else "operation not finished"
        tail += f"; StackSet {report.name}: {what}"
    return f"{head}: {stacks}{tail}; resources: {total.describe()}"


def _deploy_one(
    artifact: Artifact,
    options: DeployOptions,
    clients: ClientFactory,
    say: Say,
    bucket_per_region: dict[str, str],
    code_keys_per_region: dict[str, dict[str, str]],
) -> StackResult:
    declared = template_parameters(artifact.body)
    region = artifact.region
    needs_bucket = ARTIFACT_BUCKET_PARAMETER in declared or len(artifact.body) > MAX_INLINE_TEMPLATE_BYTES
    if needs_bucket and region not in bucket_per_region:
        named = options.artifact_bucket not in bucket_per_region.values()
        bucket_per_region[region] = _prepare_bucket(region, options, clients, say, named)
    if set(CODE_KEY_PARAMETERS) & set(declared) and region not in code_keys_per_region:
        code_keys_per_region[region] = _upload_handler_zips(
            bucket_per_region[region], region, options, clients, say
        )
    code_keys = code_keys_per_region.get(region, {})
    request = _stack_request(
        artifact, declared, bucket_per_region.get(artifact.region), code_keys, options, clients
    )
    say(f"stack {artifact.stack_name} ({artifact.name}) in {artifact.region}: deploying")
    deployer = StackDeployer(
        clients("cloudformation", artifact.region), say=say, poll_seconds=options.poll_seconds
    )
    existing = deployer.describe_stack(artifact.stack_name)
    if existing is None or existing["StackStatus"] == "REVIEW_IN_PROGRESS":
        return _create_adopting_retained(deployer, request, clients, options, say)
    return deployer.deploy(request, options.confirm)


def _create_adopting_retained(
    deployer: StackDeployer, request: StackRequest, clients: ClientFactory, options: DeployOptions, say: Say
) -> StackResult:
    """Create the stack; when an earlier deployment's retained resources exist, import them first (or,
    where that cannot be done, create nothing and say what to do)."""
    identity = clients("sts", request.region).get_caller_identity()
    place = Place(
        account=str(identity["Account"]),
        region=request.region,
        partition=str(identity["Arn"]).split(":")[1],
        parameters=dict(request.parameters),
    )
    plan = plan_adoption(request.body, place, clients)
    if plan.blockers:
        return StackResult(request.stack_name, request.region, "failed", plan.describe())
    if not plan.adoptions:
        return deployer.deploy(request, options.confirm)
    say(plan.describe(request.stack_name))
    resources = [adoption.as_resource_to_import() for adoption in plan.adoptions]
    imported = deployer.import_resources(
        request, plan.import_template(request.body), resources, options.confirm
    )
    if not imported.succeeded:
        return imported
    say(f"stack {request.stack_name}: imported {len(resources)} retained resource(s); now the rest")
    rest = deployer.deploy(request, options.confirm)
    activity = Activity()
    activity.add(imported.activity)
    activity.add(rest.activity)
    outcome = "created" if rest.succeeded else rest.outcome
    message = (
        f"{rest.message} (adopted {len(resources)} retained resource(s))" if rest.succeeded else rest.message
    )
    return dataclasses.replace(rest, outcome=outcome, message=message, activity=activity)


def _external_id(options: DeployOptions) -> str | None:
    return options.audit_external_id or os.environ.get(EXTERNAL_ID_ENV) or None


def _external_id_source(options: DeployOptions) -> str:
    return EXTERNAL_ID_FLAG if options.audit_external_id else EXTERNAL_ID_ENV


def _check_external_id(
    artifacts: Sequence[Artifact], options: DeployOptions, clients: ClientFactory, calls: CallLog
) -> None:
    """Before anything is deployed: a stack that needs the audit external ID gets a value that satisfies
    its template's AuditExternalId parameter now, or already has one from an earlier deploy (then it
    keeps its previous value)."""
    value = _external_id(options)
    if value:
        for artifact in artifacts:
            spec = template_parameters(artifact.body).get(EXTERNAL_ID_PARAMETER)
            if spec is not None:
                check_against_parameter(value, spec, _external_id_source(options), artifact.stack_name)
        return
    for artifact in artifacts:
        spec = template_parameters(artifact.body).get(EXTERNAL_ID_PARAMETER)
        if spec is None or "Default" in spec:
            continue
        with aws_step(artifact.stack_name, artifact.region, calls):
            stack = StackDeployer(clients("cloudformation", artifact.region)).describe_stack(
                artifact.stack_name
            )
        if not stack or EXTERNAL_ID_PARAMETER not in {p["ParameterKey"] for p in stack.get("Parameters", [])}:
            raise UsageError(
                f"{EXTERNAL_ID_PARAMETER}: stack {artifact.stack_name} needs the audit role's external ID: "
                f"set the environment variable {EXTERNAL_ID_ENV} (or {EXTERNAL_ID_FLAG})"
            )


def _prepare_bucket(
    region: str, options: DeployOptions, clients: ClientFactory, say: Say, use_named: bool = True
) -> str:
    """The artifact bucket of a region: --artifact-bucket for the first region that needs one (a bucket
    lives in one region), iam-guard-artifacts-<account>-<region> otherwise."""
    bucket = options.artifact_bucket if use_named else None
    if bucket is None:
        account = clients("sts", region).get_caller_identity()["Account"]
        bucket = default_bucket_name(account, region)
    ensure_artifact_bucket(clients("s3", region), bucket, region, say)
    return bucket


def _upload_handler_zips(
    bucket: str, region: str, options: DeployOptions, clients: ClientFactory, say: Say
) -> dict[str, str]:
    from iam_guard.packaging import write_zips

    zips = write_zips(options.out_dir)
    say(f"handler zips -> s3://{bucket}/lambda/")
    return upload_zips(clients("s3", region), bucket, zips, say)


def _stack_request(
    artifact: Artifact,
    declared: Mapping[str, Any],
    bucket: str | None,
    code_keys: Mapping[str, str],
    options: DeployOptions,
    clients: ClientFactory,
) -> StackRequest:
    parameters: dict[str, str] = {}
    keep_previous: dict[str, str] = {}
    if ARTIFACT_BUCKET_PARAMETER in declared and bucket:
        parameters[ARTIFACT_BUCKET_PARAMETER] = bucket
    for parameter, handler in CODE_KEY_PARAMETERS.items():
        if parameter in declared and handler in code_keys:
            parameters[parameter] = code_keys[handler]
    if EXTERNAL_ID_PARAMETER in declared:
        external_id = _external_id(options)
        if external_id:
            parameters[EXTERNAL_ID_PARAMETER] = external_id
        elif "Default" not in declared[EXTERNAL_ID_PARAMETER]:
            keep_previous[EXTERNAL_ID_PARAMETER] = f"set the environment variable {EXTERNAL_ID_ENV}"
    template_url = None
    if len(artifact.body) > MAX_INLINE_TEMPLATE_BYTES and bucket:
        template_url = upload_template(
            clients("s3", artifact.region), bucket, artifact.region, artifact.name, artifact.body
        )
    return StackRequest(
        stack_name=artifact.stack_name,
        region=artifact.region,
        body=artifact.body,
        parameters=parameters,
        keep_previous=keep_previous,
        tags=dict(options.tags),
        template_url=template_url,
    )


def flat_outputs(results: Iterable[StackResult]) -> dict[str, str]:
    """Every stack output as one flat {OutputKey: OutputValue} map, sorted by key. Output keys are
    unique across the project's stacks; a clash would hide a value, so it is an error."""
    merged: dict[str, str] = {}
    for result in results:
        for key, value in result.outputs.items():
            if key in merged and merged[key] != value:
                raise ValueError(f"output {key} is defined by two stacks with different values")
            merged[key] = value
    return dict(sorted(merged.items()))


def write_flat_outputs(out_dir: Path, results: Iterable[StackResult]) -> Path:
    path = Path(out_dir) / FLAT_OUTPUTS_FILE
    write_atomic(path, json.dumps(flat_outputs(results), indent=2, sort_keys=True) + "\n")
    return path
