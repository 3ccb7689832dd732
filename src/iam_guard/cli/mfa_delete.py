"""`iam-guard mfa-delete status|enable` (DS-2): report a bucket's versioning and MFA-delete state, and
switch MFA delete on with the root user's MFA device (CloudFormation cannot)."""

from __future__ import annotations

import argparse


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("mfa-delete", help="report or enable S3 MFA delete on a bucket (DS-2)")
    actions = parser.add_subparsers(dest="mfa_action", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="versioning, MFA delete and lifecycle rules of a bucket")
    status.add_argument("--bucket", required=True, help="bucket name")
    status.set_defaults(run=run_status)
    enable = actions.add_parser("enable", help="switch MFA delete on (root user credentials and MFA device)")
    enable.add_argument("--bucket", required=True, help="bucket name")
    enable.add_argument(
        "--serial",
        required=True,
        help="the root user's MFA device ARN (arn:aws:iam::<account>:mfa/...) or token serial",
    )
    enable.add_argument("--code", required=True, help="the current 6-digit code of that device")
    enable.add_argument(
        "--accept-lifecycle-conflict",
        action="store_true",
        help="switch it on even though the bucket has lifecycle rules (S3 does not support both)",
    )
    enable.set_defaults(run=run_enable)


def _s3() -> object:
    import boto3

    return boto3.session.Session().client("s3")


def run_status(args: argparse.Namespace) -> int:
    from iam_guard.deploy.aws_errors import reporting_aws_errors
    from iam_guard.deploy.mfa_delete import read_state, validate_bucket

    bucket = validate_bucket(args.bucket)

    def report() -> int:
        print(read_state(_s3(), bucket).describe())
        return 0

    return reporting_aws_errors("mfa-delete status", "bucket", bucket, report)


def run_enable(args: argparse.Namespace) -> int:
    from iam_guard.deploy.aws_errors import reporting_aws_errors
    from iam_guard.deploy.mfa_delete import enable, validate_bucket, validate_code, validate_serial

    bucket = validate_bucket(args.bucket)
    serial = validate_serial(args.serial)
    code = validate_code(args.code)
    return reporting_aws_errors(
        "mfa-delete enable",
        "bucket",
        bucket,
        lambda: enable(_s3(), bucket, serial, code, args.accept_lifecycle_conflict),
    )
