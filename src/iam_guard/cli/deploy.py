"""`iam-guard deploy` and `iam-guard destroy` (DEP-1, DS-9).

deploy: build the templates and handler zips, ensure the hardened artifact bucket, upload the zips under
their content-hash keys, create or update each stack through a change set (stack tags from the config,
termination protection on), then write out/flat-outputs.json. ORG-1: after a stack that creates a StackSet
(org-security), wait for the StackSet's latest operation (at most --stack-set-timeout seconds) and print
every failed account and region in one block; any failed instance makes the exit code 1. destroy: ask (or
--yes), termination protection off, delete the stacks, and say which retained resources remain.
Credentials and endpoints come from the standard AWS environment and profiles; the audit external ID is
read from IAM_GUARD_AUDIT_EXTERNAL_ID (or --audit-external-id) and never printed.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from iam_guard.cli.generate import DEFAULT_CONFIG, DEFAULT_OUT
from iam_guard.deploy.external_id import EXTERNAL_ID_ENV, EXTERNAL_ID_FLAG, EXTERNAL_ID_PARAMETER
from iam_guard.errors import UsageError

if TYPE_CHECKING:
    from iam_guard.build import StackArtifact

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
DEFAULT_STACK_SET_TIMEOUT = 1800
MAX_STACK_SET_TIMEOUT = 6 * 3600


def register(subcommands: argparse._SubParsersAction) -> None:
    deploy = subcommands.add_parser("deploy", help="deploy the stacks with CloudFormation change sets")
    _common(deploy)
    deploy.add_argument(
        "--review",
        action="store_true",
        help="show each change set and ask y/N on the terminal before applying it",
    )
    deploy.add_argument(
        "--artifact-bucket",
        default=None,
        help="S3 bucket for the handler zips (default: iam-guard-artifacts-<account>-<region>)",
    )
    deploy.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="folder for the zips and flat-outputs.json (default out/)",
    )
    deploy.add_argument(
        EXTERNAL_ID_FLAG,
        dest="audit_external_id",
        default=None,
        help=f"external ID of the cross-account audit role (checked against the template's "
        f"{EXTERNAL_ID_PARAMETER} parameter before anything is deployed); prefer the environment variable "
        f"{EXTERNAL_ID_ENV} (a command line is visible to other local users)",
    )
    deploy.add_argument(
        "--stack-set-timeout",
        default=str(DEFAULT_STACK_SET_TIMEOUT),
        metavar="SECONDS",
        help=f"how long to wait for the org-member StackSet's operation after org-security is deployed "
        f"(default {DEFAULT_STACK_SET_TIMEOUT}, at most {MAX_STACK_SET_TIMEOUT})",
    )
    deploy.set_defaults(run=run_deploy)
    destroy = subcommands.add_parser(
        "destroy",
        help="delete the stacks after asking; retained data, keys and logs remain",
        description="Lists the deployed stacks and asks before deleting them (a production config: type "
        "each stack's name). Without a terminal it refuses unless --yes is given.",
    )
    _common(destroy)
    destroy.add_argument(
        "--yes", action="store_true", help="delete without asking (automation); nothing else changes"
    )
    destroy.set_defaults(run=run_destroy)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="deployment config (YAML)")
    parser.add_argument("--stack", default=None, help="only this stack (data-store, monitoring, ...)")


def run_deploy(args: argparse.Namespace) -> int:
    from iam_guard.build import build_stacks
    from iam_guard.config import load_config
    from iam_guard.deploy.review import ask_on_terminal
    from iam_guard.deploy.runner import DeployOptions, deploy_all

    if args.artifact_bucket is not None and not _BUCKET_NAME.fullmatch(args.artifact_bucket):
        raise UsageError(f"--artifact-bucket: {args.artifact_bucket!r} is not a valid S3 bucket name")
    stack_set_timeout = _stack_set_timeout(args.stack_set_timeout)
    config = load_config(args.config)
    artifacts = _deployable(build_stacks(config, args.stack))
    options = DeployOptions(
        out_dir=args.out,
        artifact_bucket=args.artifact_bucket,
        audit_external_id=args.audit_external_id,
        confirm=ask_on_terminal if args.review else None,
        tags=config.tags,
        stack_set_timeout_seconds=stack_set_timeout,
    )
    return _reporting_aws_errors("deploy", lambda: deploy_all(artifacts, options))


def _stack_set_timeout(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_STACK_SET_TIMEOUT:
        raise UsageError(
            f"--stack-set-timeout: {text!r} is not a whole number of seconds "
            f"from 1 to {MAX_STACK_SET_TIMEOUT}"
        )
    return int(text)


def run_destroy(args: argparse.Namespace) -> int:
    from iam_guard.build import build_stacks
    from iam_guard.config import load_config
    from iam_guard.deploy.confirm import DestroyConfirmation, production_reason
    from iam_guard.deploy.destroy import destroy_all

    config = load_config(args.config)
    artifacts = _deployable(build_stacks(config, args.stack))
    approve = DestroyConfirmation(
        yes=args.yes, production=production_reason(config.environment, config.data_classification)
    )
    return _reporting_aws_errors("destroy", lambda: destroy_all(artifacts, approve=approve))


def _deployable(artifacts: list[StackArtifact]) -> list[StackArtifact]:
    """The stacks deploy and destroy handle: org-member is deployed by org-security's StackSet (ORG-1)."""
    skipped = [artifact.name for artifact in artifacts if not artifact.deployable]
    kept = [artifact for artifact in artifacts if artifact.deployable]
    if skipped and not kept:
        raise UsageError(
            f"--stack: {skipped[0]} is not a stack of this account: the org-security stack's StackSet "
            "deploys it to the member accounts (deploy org-security)"
        )
    return kept


def _reporting_aws_errors(command: str, action: Callable[[], int]) -> int:
    """deploy_all and destroy_all report AWS errors per stack themselves; one raised outside any stack
    still becomes the same readable block on stderr and exit code 1, not a traceback."""
    from iam_guard.deploy.aws_errors import reporting_aws_errors

    return reporting_aws_errors(command, "stack", "(none)", action)
