"""ORG-4 in a real browser: Debian's headless Chromium renders the consolidated HTML report of a realistic
organization (four accounts, one failed, a cross-account path); the totals in the DOM it builds equal the
JSON's, and a screenshot is written as part of the test output (tmp dir and out/test-artifacts/).

Skipped, with the reason shown, when /usr/bin/chromium is absent (`.ci/run` installs it when it can)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from org_report_fixture import D, dom_totals, json_totals, realistic_report

from org_report import render_html
from support import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACT = REPO_ROOT / "out" / "test-artifacts" / "org-report.png"
WINDOW = (1280, 2000)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (Debian: apt-get install chromium)"
)


def chromium(profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with nothing that reaches the network, in its own throwaway profile."""
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


def png_size_and_pixels(path: Path) -> tuple[int, int, bytes]:
    """(width, height, the decompressed scanlines) of a PNG, read with the standard library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


@pytest.fixture
def rendered(tmp_path: Path) -> tuple[dict, Path]:
    report = realistic_report()
    page = tmp_path / "org-report.html"
    page.write_text(render_html(report), encoding="utf-8")
    return report, page


def test_org_4_chromium_renders_the_report_and_its_dom_totals_equal_the_json(
    rendered: tuple[dict, Path], tmp_path: Path
) -> None:
    report, page = rendered
    done = chromium(tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    dom = dom_totals(done.stdout)
    by_account, overall = json_totals(report)
    assert dom.by_account == by_account
    assert dom.overall == overall
    assert dom.failed == [D]
    tags = {tag for tag, _ in dom.tags}
    assert {"svg", "table", "details"} <= tags and not tags & {"script", "img"}
    assert sum(1 for tag, attributes in dom.tags if tag == "g" and "data-arn" in attributes) >= 3
    sections = [
        str(attributes.get("id")) for tag, attributes in dom.tags if tag == "section" and "id" in attributes
    ]
    assert sections[:2] == ["failed-accounts", "totals"]  # the accounts that could not be audited come first
    policies = [
        attributes
        for tag, attributes in dom.tags
        if attributes.get("http-equiv") == "Content-Security-Policy"
    ]
    assert [str(attributes["content"]).split(";")[0] for attributes in policies] == ["default-src 'none'"]


def test_org_4_chromium_screenshot_of_the_report(
    rendered: tuple[dict, Path], tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    _, page = rendered
    screenshot = tmp_path / "org-report.png"
    chromium(
        tmp_path / "profile-shot",
        f"--screenshot={screenshot}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--hide-scrollbars",
        page.as_uri(),
    )
    width, height, pixels = png_size_and_pixels(screenshot)
    assert (width, height) == WINDOW
    assert len(set(pixels[:: max(len(pixels) // 20000, 1)])) > 20  # a rendered page, not a blank one
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, ARTIFACT)
    record_property("screenshot", str(ARTIFACT))
    print(f"org report screenshot: {screenshot} (copied to {ARTIFACT})")
