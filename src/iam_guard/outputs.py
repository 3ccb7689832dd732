"""Stack outputs, each exported under a name unique per account and region (EDGE-3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from troposphere import Export, Output, Template

from iam_guard import naming
from iam_guard.config import Config


def add_exported_outputs(
    template: Template, config: Config, stack: str, outputs: Mapping[str, tuple[str, Any]]
) -> None:
    """`outputs` maps OutputKey -> (description, value); every one is exported as
    iam-guard-<stack>-<environment>-<OutputKey>."""
    for output_key, (description, value) in outputs.items():
        template.add_output(
            Output(
                output_key,
                Description=description,
                Value=value,
                Export=Export(naming.export_name(config, stack, output_key)),
            )
        )
