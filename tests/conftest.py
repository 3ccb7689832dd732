"""Shared fixtures: a real moto server on 127.0.0.1 for integration tests. Paths live in support.py."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fault_injection import FaultProxy
from support import point_aws_at, reset_moto

if TYPE_CHECKING:
    from scanners import ScanResults


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1 at a free port, for the whole session; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A clean emulated AWS account: resets moto's state, points every boto3 client at the server through
    AWS_ENDPOINT_URL, with throwaway credentials. Yields the endpoint URL."""
    reset_moto(moto_server)
    point_aws_at(monkeypatch, moto_server)
    yield moto_server


@pytest.fixture(params=["dev", "prod"])
def cfg_name(request: pytest.FixtureRequest) -> str:
    """The name of each example config (templates/dev.yaml, templates/prod.yaml): a test that takes it
    runs once per config."""
    return str(request.param)


@pytest.fixture
def fault_proxy(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """Faults on the server side: a FaultProxy in front of the moto server. AWS clients created from now on
    go through it; clients created before (e.g. the handler tests' readers) keep talking to moto directly."""
    proxy = FaultProxy(aws).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> ScanResults:
    """cfn-lint, checkov and `iam-guard analyze`, each run once per session over every generated template
    (tests/scanners.py); the tests that take this fixture assert on the results."""
    from scanners import scan  # imports cfn-lint and the stacks: only for the sessions that need them

    folder: Path = tmp_path_factory.mktemp("scanned")
    return scan(folder)
