"""Byte-for-byte reproducible Lambda zips for the handlers (DEP-1, `make package`).

Each zip holds the handler module, the shared handler modules it imports, `iam_guard/__init__.py`,
`iam_guard/contract.py` and `iam_guard/analysis/**` (with its action index); nothing else. Entries are
sorted, every timestamp is 1980-01-01 00:00:00 and every mode 0644, so the same sources give the same
bytes on any machine and the S3 key `lambda/<handler>-<sha256[:16]>.zip` changes exactly when the code
does (an unchanged function is an unchanged template). Standard library only.

    python -m iam_guard.packaging [--out out/]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from iam_guard import contract
from iam_guard.files import write_atomic

HANDLERS: tuple[str, ...] = tuple(function.module for function in contract.FUNCTIONS)

# The handler modules each zip holds: the entry point first, then the shared modules it imports.
HANDLER_MODULES: dict[str, tuple[str, ...]] = {
    "policy_change": (
        "policy_change",
        "policy_events",
        "policy_documents",
        "policy_alerts",
        "member_sessions",
        "member_heartbeats",
        "event_marks",
        "remediation",
        "alerts",
        "emf",
        "lambda_support",
        "structured_log",
    ),
    "daily_audit": (
        "daily_audit",
        "audit_run",
        "run_store",
        "conditional_table",
        "audit_records",
        "audit_summary",
        "trail_check",
        "alerts",
        "emf",
        "lambda_support",
        "structured_log",
    ),
    # ORG-2: the organization's fan-out audit (org_reach uses ORG-3's iam_guard.analysis.cross_account).
    "org_audit_scheduler": (
        "org_audit_scheduler",
        "org_heartbeat_check",
        "member_heartbeats",
        "org_audit_support",
        "org_run_store",
        "conditional_table",
        "alerts",
        "emf",
        "lambda_support",
        "structured_log",
    ),
    "org_audit_worker": (
        "org_audit_worker",
        "org_audit_support",
        "org_run_store",
        "conditional_table",
        "org_reach",
        "org_report",
        "org_report_html",
        "org_report_graph",
        "audit_run",
        "run_store",
        "audit_records",
        "audit_summary",
        "trail_check",
        "alerts",
        "emf",
        "lambda_support",
        "structured_log",
    ),
    "org_audit_consolidator": (
        "org_audit_consolidator",
        "org_audit_support",
        "org_run_store",
        "conditional_table",
        "org_reach",
        "org_report",
        "org_report_html",
        "org_report_graph",
        "audit_records",
        "alerts",
        "emf",
        "lambda_support",
        "structured_log",
    ),
}

# The handler modules ship inside the installed package (package data, not a subpackage: inside the zip
# each one is a top-level module, as Lambda imports it). Read through importlib.resources, so a wheel
# installed anywhere packages exactly what a checkout does.
HANDLERS_FOLDER = "lambda_handlers"

_FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644  # regular file, rw-r--r--
_UNIX = 3
# Already compressed: deflating again only costs time.
_STORED_SUFFIXES = (".gz", ".zip")
_SKIPPED_PARTS = ("__pycache__",)


def _package() -> Traversable:
    return resources.files("iam_guard")


def handler_source(module: str) -> Traversable:
    """The source file of one handler module (e.g. "policy_change") inside the installed package."""
    return _package().joinpath(HANDLERS_FOLDER, f"{module}.py")


def _check_handler(handler: str) -> None:
    if handler not in HANDLERS:
        raise ValueError(f"unknown handler {handler!r}: expected one of {', '.join(HANDLERS)}")


def _files_under(folder: Traversable, prefix: str) -> list[tuple[str, Traversable]]:
    """(archive name, source) of every file below folder, skipping caches, .pyc and hidden files."""
    found: list[tuple[str, Traversable]] = []
    for child in folder.iterdir():
        if child.name in _SKIPPED_PARTS or child.name.startswith("."):
            continue
        name = f"{prefix}/{child.name}"
        if child.is_dir():
            found.extend(_files_under(child, name))
        elif child.is_file() and not child.name.endswith(".pyc"):
            found.append((name, child))
    return found


def _analysis_files() -> list[tuple[str, Traversable]]:
    """(archive name, source) of iam_guard/__init__.py, iam_guard/contract.py and iam_guard/analysis/**."""
    package = _package()
    files = [
        ("iam_guard/__init__.py", package.joinpath("__init__.py")),
        ("iam_guard/contract.py", package.joinpath("contract.py")),
    ]
    analysis = package.joinpath("analysis")
    if not analysis.joinpath("__init__.py").is_file():
        raise FileNotFoundError("iam_guard/analysis/__init__.py is missing: the handlers need it")
    return files + _files_under(analysis, "iam_guard/analysis")


def zip_entries(handler: str) -> list[tuple[str, Traversable]]:
    """Every (archive name, source) of the handler's zip, sorted by archive name."""
    _check_handler(handler)
    entries = [(f"{module}.py", handler_source(module)) for module in HANDLER_MODULES[handler]]
    for name, source in entries:
        if not source.is_file():
            raise FileNotFoundError(
                f"iam_guard/{HANDLERS_FOLDER}/{name} is missing from the installed package "
                "(a wheel built without its package data?)"
            )
    return sorted(entries + _analysis_files(), key=lambda entry: entry[0])


def build_zip(handler: str) -> bytes:
    """The handler's zip: sorted entries, fixed timestamps and modes, so the bytes are reproducible."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in zip_entries(handler):
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE_TIME)
            info.external_attr = _FILE_MODE << 16
            info.create_system = _UNIX
            stored = name.endswith(_STORED_SUFFIXES)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes(), compresslevel=None if stored else 9)
    return buffer.getvalue()


def _key_for(handler: str, payload: bytes) -> str:
    return f"lambda/{handler}-{hashlib.sha256(payload).hexdigest()[:16]}.zip"


def zip_key(handler: str) -> str:
    """The S3 key of the handler's zip: lambda/<handler>-<first 16 hex of its sha256>.zip."""
    return _key_for(handler, build_zip(handler))


def write_zips(out_dir: Path) -> dict[str, Path]:
    """Build every handler's zip and write it to out_dir/<basename of its zip_key>; returns the paths."""
    payloads = {handler: build_zip(handler) for handler in HANDLERS}
    written: dict[str, Path] = {}
    for handler, payload in payloads.items():
        path = Path(out_dir) / Path(_key_for(handler, payload)).name
        write_atomic(path, payload)
        written[handler] = path
    return written


def main(argv: list[str] | None = None) -> int:
    """`python -m iam_guard.packaging --out out/`: write the zips, print one line per zip."""
    parser = argparse.ArgumentParser(
        prog="python -m iam_guard.packaging", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out/)")
    args = parser.parse_args(argv)
    for handler, path in write_zips(args.out).items():
        print(f"{handler}: {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
