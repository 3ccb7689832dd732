"""Integration fixtures: moto's server (tests/conftest.py) with the adapter's emulator-side bridges, and a
module-scoped clean account so several tests can read one deployment."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator

import pytest
from moto_adapter import install_emulator_patches

_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="session", autouse=True)
def _emulator_patches() -> None:
    install_emulator_patches()


def reset_moto(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture(scope="module")
def aws_module(moto_server: str) -> Iterator[str]:
    """Like the `aws` fixture, once per module: a clean emulated account shared by the module's tests."""
    reset_moto(moto_server)
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith("AWS_") and key not in _AWS_ENV:
                patch.delenv(key)
        for key, value in _AWS_ENV.items():
            patch.setenv(key, value)
        patch.setenv("AWS_ENDPOINT_URL", moto_server)
        yield moto_server
