"""The one place templates become bytes, and the one place files reach out/."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from troposphere import Template


def template_dict(template: Template) -> dict[str, Any]:
    """The template as plain JSON data (what CloudFormation receives)."""
    return json.loads(render(template))


def render(template: Template) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline. Same input, same bytes."""
    return json.dumps(template.to_dict(), indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write to a temporary file in the same folder, then rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_all_atomic(files: Mapping[Path, str | bytes]) -> None:
    """Write several files; all are rendered before the first is written, so bad input writes none."""
    for path, data in files.items():
        write_atomic(path, data)
