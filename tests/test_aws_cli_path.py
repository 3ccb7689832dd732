"""OPS-2: the README's "Deploying with the AWS CLI" commands deploy what `iam-guard deploy` deploys. For
each example config, the documented `aws cloudformation deploy` commands are checked against the templates
the project's generate code writes and against the deploy code's own names (stack names, regions, order,
parameters, tags, capabilities, artifact bucket and code keys); nothing here is copied from the README."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

from aws_cli_docs import (
    DocumentedDeploy,
    assignments,
    aws_calls,
    blocks,
    commands,
    deploys,
    options,
    termination_protection,
)
from iam_guard.build import StackArtifact, build_stacks, generate_templates
from iam_guard.config import Config, load_config
from iam_guard.contract import MONITORING_FUNCTIONS
from iam_guard.deploy.artifacts import MAX_INLINE_TEMPLATE_BYTES, default_bucket_name, tls_only_policy
from iam_guard.deploy.external_id import EXTERNAL_ID_ENV, EXTERNAL_ID_PARAMETER
from iam_guard.deploy.runner import ARTIFACT_BUCKET_PARAMETER, CODE_KEY_PARAMETERS
from iam_guard.deploy.stacks import CAPABILITIES
from iam_guard.packaging import HANDLERS, zip_key
from support import REPO_ROOT

# What deploy passes for each parameter, as the documented shell spells it.
BUCKET_VARIABLE = "$BUCKET"

# The monitoring stack's code keys (dev and prod deploy no organization functions).
MONITORING_CODE_KEYS = {
    parameter: handler
    for parameter, handler in CODE_KEY_PARAMETERS.items()
    if parameter in {function.code_key_parameter for function in MONITORING_FUNCTIONS}
}


def config_of(cfg_name: str) -> Config:
    return load_config(REPO_ROOT / "templates" / f"{cfg_name}.yaml")


def generated(cfg_name: str, out: Path) -> list[tuple[StackArtifact, dict[str, Any], int]]:
    """(artifact, template, size in bytes) of every stack, from the templates generate writes to `out`."""
    config = config_of(cfg_name)
    written = generate_templates(config, out).written
    result = []
    for artifact in build_stacks(config):
        text = written[artifact.name].read_text(encoding="utf-8")
        result.append((artifact, json.loads(text), len(text.encode("utf-8"))))
    return result


def documented(cfg_name: str) -> dict[str, DocumentedDeploy]:
    return {deploy.stack_name: deploy for deploy in deploys(blocks()[f"deploy {cfg_name}"])}


def bucket_block() -> str:
    return blocks()["bucket"]


def parameters_deploy_passes(template: dict[str, Any]) -> set[str]:
    """The parameters `iam-guard deploy` gives a value (runner._stack_request): the artifact bucket, the
    code keys and the audit external ID, where the template declares them."""
    passed = {ARTIFACT_BUCKET_PARAMETER, EXTERNAL_ID_PARAMETER, *CODE_KEY_PARAMETERS}
    return passed & set(template.get("Parameters", {}))


def test_ops_2_aws_cli_documents_every_stack_in_deploy_order_region_and_template(
    cfg_name: str, tmp_path: Path
) -> None:
    stacks = generated(cfg_name, tmp_path / "out")
    commands = deploys(blocks()[f"deploy {cfg_name}"])

    assert [(d.stack_name, d.region) for d in commands] == [(a.stack_name, a.region) for a, _, _ in stacks]
    for deploy, (artifact, _, _) in zip(commands, stacks, strict=True):
        assert deploy.template_file == f"out/{artifact.name}.json"
        assert (tmp_path / deploy.template_file).is_file()


def test_ops_2_aws_cli_parameter_overrides_match_the_template_parameters(
    cfg_name: str, tmp_path: Path
) -> None:
    docs = documented(cfg_name)
    checked = 0
    for artifact, template, _ in generated(cfg_name, tmp_path / "out"):
        declared = template.get("Parameters", {})
        overrides = docs[artifact.stack_name].parameter_overrides
        required = {name for name, spec in declared.items() if "Default" not in spec}
        assert required <= set(overrides), f"{artifact.stack_name}: no value for {required - set(overrides)}"
        assert set(overrides) <= set(declared), f"{artifact.stack_name}: not in the template: {overrides}"
        assert set(overrides) == parameters_deploy_passes(template)
        checked += len(overrides)
    # The monitoring stack takes the bucket, the two code keys and the external ID, in dev and prod alike.
    assert checked == 4


def test_ops_2_aws_cli_parameter_values_are_the_ones_deploy_uses(cfg_name: str) -> None:
    monitoring = documented(cfg_name)[f"iam-guard-monitoring-{cfg_name}"].parameter_overrides
    variables = assignments(bucket_block())

    assert monitoring[ARTIFACT_BUCKET_PARAMETER] == BUCKET_VARIABLE
    assert monitoring[EXTERNAL_ID_PARAMETER] == f"${EXTERNAL_ID_ENV}"
    for parameter, handler in MONITORING_CODE_KEYS.items():
        key = monitoring[parameter]
        assert key.startswith("lambda/$"), key
        # The variable holds the basename of the zip `make package` writes for exactly this handler.
        found = re.fullmatch(r"\$\(basename out/(?P<glob>[^)]+)\)", variables[key.removeprefix("lambda/$")])
        assert found, variables[key.removeprefix("lambda/$")]
        zip_names = {name: Path(zip_key(name)).name for name in HANDLERS}
        matching = {name for name, file in zip_names.items() if fnmatch.fnmatch(file, found["glob"])}
        assert matching == {handler}


def test_ops_2_aws_cli_tags_and_capabilities_are_what_deploy_passes(cfg_name: str) -> None:
    config = config_of(cfg_name)
    docs = documented(cfg_name)

    assert len(docs) == len(build_stacks(config))
    for deploy in docs.values():
        assert deploy.tags == config.tags
        assert sorted(deploy.capabilities) == sorted(CAPABILITIES)
        assert "CAPABILITY_NAMED_IAM" in deploy.capabilities
        assert "--no-fail-on-empty-changeset" in deploy.flags


def test_ops_2_aws_cli_a_template_over_the_inline_limit_goes_through_the_artifact_bucket(
    cfg_name: str, tmp_path: Path
) -> None:
    docs = documented(cfg_name)
    over_limit = []
    for artifact, _, size in generated(cfg_name, tmp_path / "out"):
        deploy = docs[artifact.stack_name]
        if size > MAX_INLINE_TEMPLATE_BYTES:
            over_limit.append(artifact.name)
            assert deploy.s3_bucket == BUCKET_VARIABLE
        else:
            # The bucket lives in the config's region; a stack elsewhere (the forwarder) must not name it.
            assert deploy.s3_bucket is None
    assert over_limit == ["monitoring"]


def test_ops_2_aws_cli_turns_termination_protection_on_for_every_stack(cfg_name: str) -> None:
    script = blocks()[f"deploy {cfg_name}"]
    protected = termination_protection(script)

    assert protected == [(d.stack_name, d.region) for d in deploys(script)]


def test_ops_2_aws_cli_artifact_bucket_is_the_default_one_hardened_as_deploy_hardens_it() -> None:
    script = bucket_block()
    variables = assignments(script)

    assert variables["BUCKET"] == default_bucket_name("$ACCOUNT", "$REGION")
    created = aws_calls(script, "s3api", "create-bucket")
    assert created and all(options(call)["--object-ownership"] == ["BucketOwnerEnforced"] for call in created)
    (block,) = aws_calls(script, "s3api", "put-public-access-block")
    settings = dict(s.split("=") for s in options(block)["--public-access-block-configuration"][0].split(","))
    assert settings == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), "true"
    )
    (versioning,) = aws_calls(script, "s3api", "put-bucket-versioning")
    assert options(versioning)["--versioning-configuration"] == ["Status=Enabled"]
    (encryption,) = aws_calls(script, "s3api", "put-bucket-encryption")
    rule = json.loads(options(encryption)["--server-side-encryption-configuration"][0])["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    (policy,) = aws_calls(script, "s3api", "put-bucket-policy")
    name = "iam-guard-artifacts-123456789012-eu-west-1"
    assert json.loads(options(policy)["--policy"][0].replace(BUCKET_VARIABLE, name)) == tls_only_policy(name)


def test_ops_2_aws_cli_uploads_each_zip_under_the_key_the_stack_is_given(cfg_name: str) -> None:
    script = bucket_block()
    (upload,) = aws_calls(script, "s3", "cp")
    source, destination, *rest = upload
    loops = [words for words in commands(script) if words[:3] == ["for", "zip", "in"]]
    code_keys = documented(cfg_name)[f"iam-guard-monitoring-{cfg_name}"].parameter_overrides

    assert source == "out/$zip"
    assert destination == f"s3://{BUCKET_VARIABLE}/lambda/$zip"
    assert options(rest)["--sse"] == ["AES256"]
    assert len(loops) == 1
    uploaded = {f"lambda/{word.rstrip(';')}" for word in loops[0][3:] if word != "do"}
    assert uploaded == {code_keys[parameter] for parameter in MONITORING_CODE_KEYS}
