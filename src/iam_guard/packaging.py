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
from pathlib import Path

from iam_guard.files import write_atomic

HANDLERS: tuple[str, ...] = ("policy_change", "daily_audit")

# The handler modules each zip holds: the entry point first, then the shared modules it imports.
HANDLER_MODULES: dict[str, tuple[str, ...]] = {
    "policy_change": (
        "policy_change",
        "policy_events",
        "policy_documents",
        "policy_alerts",
        "event_marks",
        "remediation",
        "alerts",
        "emf",
        "lambda_support",
    ),
    "daily_audit": (
        "daily_audit",
        "audit_run",
        "run_store",
        "audit_records",
        "audit_summary",
        "trail_check",
        "alerts",
        "emf",
        "lambda_support",
    ),
}

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parents[1]
HANDLERS_DIR = REPO_ROOT / "handlers"

_FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644  # regular file, rw-r--r--
_UNIX = 3
# Already compressed: deflating again only costs time.
_STORED_SUFFIXES = (".gz", ".zip")
_SKIPPED_PARTS = ("__pycache__",)


def _check_handler(handler: str) -> None:
    if handler not in HANDLERS:
        raise ValueError(f"unknown handler {handler!r}: expected one of {', '.join(HANDLERS)}")


def _analysis_files() -> list[tuple[str, Path]]:
    """(archive name, source path) of iam_guard/__init__.py and every file of iam_guard/analysis."""
    files = [
        ("iam_guard/__init__.py", PACKAGE_ROOT / "__init__.py"),
        ("iam_guard/contract.py", PACKAGE_ROOT / "contract.py"),
    ]
    analysis = PACKAGE_ROOT / "analysis"
    if not (analysis / "__init__.py").is_file():
        raise FileNotFoundError(f"{analysis}/__init__.py is missing: the handlers need iam_guard.analysis")
    for path in analysis.rglob("*"):
        relative = path.relative_to(PACKAGE_ROOT.parent)
        if not path.is_file() or path.suffix == ".pyc" or path.name.startswith("."):
            continue
        if any(part in _SKIPPED_PARTS for part in relative.parts):
            continue
        files.append((relative.as_posix(), path))
    return files


def zip_entries(handler: str) -> list[tuple[str, Path]]:
    """Every (archive name, source path) of the handler's zip, sorted by archive name."""
    _check_handler(handler)
    entries = [(f"{module}.py", HANDLERS_DIR / f"{module}.py") for module in HANDLER_MODULES[handler]]
    for _, path in entries:
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing (a source checkout with handlers/ is needed)")
    return sorted(entries + _analysis_files())


def build_zip(handler: str) -> bytes:
    """The handler's zip: sorted entries, fixed timestamps and modes, so the bytes are reproducible."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, path in zip_entries(handler):
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE_TIME)
            info.external_attr = _FILE_MODE << 16
            info.create_system = _UNIX
            stored = name.endswith(_STORED_SUFFIXES)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=None if stored else 9)
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
