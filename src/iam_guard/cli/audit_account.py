"""`iam-guard audit-account`: audit another account through its cross-account audit role (MON-10), with
a session policy that narrows the session to the audit's reads (MON-5)."""

from __future__ import annotations

import argparse
import json
import os

from iam_guard.deploy.external_id import EXTERNAL_ID_ENV
from iam_guard.errors import UsageError


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "audit-account",
        help="audit an account's IAM policies through its iam-guard audit role",
        description="Assumes the audit role with the external ID (read from an environment variable, never "
        "from the command line, so it stays out of shell history) and a narrowing session policy, then "
        "analyzes every policy of the account.",
    )
    parser.add_argument("--role-arn", required=True, help="the audit role's ARN (stack output AuditRoleArn)")
    parser.add_argument(
        "--external-id-env",
        default=EXTERNAL_ID_ENV,
        help="environment variable holding the external ID",
    )
    parser.add_argument("--region", default=None, help="STS region (default: the AWS environment's)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--fail-on", default="high", help="exit 1 at or above this severity (default high)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from iam_guard.analysis import Severity
    from iam_guard.remote_audit import (
        assume_audit_role,
        audit_details,
        authorization_details,
        iter_lines,
        parse_role_arn,
    )

    try:
        parse_role_arn(args.role_arn)
        threshold = Severity.parse(args.fail_on)
    except ValueError as error:
        raise UsageError(str(error).replace("unknown severity", "--fail-on: unknown severity")) from None
    external_id = os.environ.get(args.external_id_env, "")
    if not external_id:
        raise UsageError(f"--external-id-env: environment variable {args.external_id_env} is empty or unset")
    session = assume_audit_role(args.role_arn, external_id, args.region)
    iam = session.client("iam")
    findings = audit_details(authorization_details(iam), iam)
    if args.format == "json":
        print(json.dumps([item.to_dict() for item in findings], indent=2, sort_keys=True))
    else:
        for line in iter_lines(findings):
            print(line)
        print(f"{len(findings)} findings")
    return 1 if any(item.finding.severity >= threshold for item in findings) else 0
