"""Physical names: every one carries the environment and the region (EDGE-1)."""

from __future__ import annotations

from troposphere import Sub

from iam_guard.config import Config

PROJECT = "iam-guard"


def name(config: Config, base: str) -> str:
    """iam-guard-<base>-<environment>-<region>: unique per environment and region in one account."""
    return f"{PROJECT}-{base}-{config.name_suffix}"


def pascal_name(config: Config, base: str) -> str:
    """For IAM roles and policies, whose names read better in PascalCase: IamGuard<Base>-<env>-<region>."""
    return f"IamGuard{base}-{config.name_suffix}"


def global_name(config: Config, base: str) -> Sub:
    """Globally unique names (S3 buckets): the account ID is added; at most 63 characters."""
    return Sub(f"{PROJECT}-{base}-${{AWS::AccountId}}-{config.name_suffix}")


def export_name(config: Config, stack: str, output: str) -> str:
    """Export names are unique per account and region; the stack, environment and output make them so."""
    return f"{PROJECT}-{stack}-{config.environment}-{output}"
