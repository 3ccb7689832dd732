"""Paths and skips every test module may import (`from support import ...`); fixtures live in conftest.py.

A separate module, because pytest loads several conftest.py files and only one can be imported by name.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The Lambda handler modules (package data of iam_guard; top-level modules inside each zip).
HANDLERS_DIR = REPO_ROOT / "src" / "iam_guard" / "lambda_handlers"


def corpus_dir(name: str) -> Path:
    """A folder of ../shared/corpus; the calling test is skipped, visibly, when it is absent."""
    path = CORPUS / name
    if not path.is_dir():
        pytest.skip(f"../shared/corpus/{name} is not beside this checkout (only CI and developers have it)")
    return path


# Throwaway credentials: the emulator accepts anything, and real credentials must never reach a test.
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def reset_moto(endpoint: str) -> None:
    """Forget every resource the emulator holds (moto's own reset API)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def point_aws_at(patch: pytest.MonkeyPatch, endpoint: str) -> None:
    """Every boto3 client created from now on talks to `endpoint` with throwaway credentials; any other
    AWS_* variable of the caller's environment (a profile, real keys) is removed for the test."""
    for key in list(os.environ):
        if key.startswith("AWS_") and key not in AWS_TEST_ENV:
            patch.delenv(key)
    for key, value in AWS_TEST_ENV.items():
        patch.setenv(key, value)
    patch.setenv("AWS_ENDPOINT_URL", endpoint)
