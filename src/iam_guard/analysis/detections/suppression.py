"""IAMG018 (CLI-1): an iam-guard suppression in a template's Metadata without a reason. Reported by the
scanner (`iam-guard analyze`, iam_guard.scan.suppressions), not by the analyzer: its examples are
CloudFormation templates."""

from __future__ import annotations

from typing import Any

from iam_guard.analysis.detections.unit import SCANNER, Detection, Example
from iam_guard.analysis.model import Severity

TEMPLATE = "template"  # an example's policy type: a CloudFormation template for the scanner


def _template(suppression: dict[str, str]) -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Reader": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Metadata": {"iam-guard": {"suppressions": [suppression]}},
                "Properties": {
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}],
                    }
                },
            }
        },
    }


UNIT = Detection(
    code="IAMG018",
    requirement="CLI-1",
    title="Suppression without a reason",
    detects="iam-guard suppression without a reason (reported by `iam-guard analyze`)",
    severity=Severity.HIGH,
    severity_rule="high",
    scope=SCANNER,
    policy_types=frozenset({TEMPLATE}),
    after_star_action=True,
    remediation="Give every suppression a reason that says why the finding is safe.",
    good=(Example(_template({"code": "IAMG008", "reason": "parameters hold no secrets here"}), TEMPLATE),),
    bad=(
        Example(_template({"code": "IAMG008"}), TEMPLATE, severity=Severity.HIGH),
        Example(_template({"code": "IAMG008", "reason": "  "}), TEMPLATE, severity=Severity.HIGH),
    ),
)
