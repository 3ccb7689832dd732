"""Integration fixtures: moto's server (tests/conftest.py) with the adapter's emulator-side bridges, and a
module-scoped clean account so several tests can read one deployment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from iam_guard.sandbox.emulator import install_emulator_patches
from support import point_aws_at, reset_moto


@pytest.fixture(scope="session", autouse=True)
def _emulator_patches() -> None:
    install_emulator_patches()


@pytest.fixture(scope="module")
def aws_module(moto_server: str) -> Iterator[str]:
    """Like the `aws` fixture, once per module: a clean emulated account shared by the module's tests."""
    reset_moto(moto_server)
    with pytest.MonkeyPatch.context() as patch:
        point_aws_at(patch, moto_server)
        yield moto_server
