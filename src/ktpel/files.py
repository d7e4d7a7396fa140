"""Data files readable by their owner only: directories 0700, files 0600 (population data, keys, logs).

The CLI also sets umask 077 for the whole process (ktpel.cli.main), so files made by libraries (SQLite's
WAL, PDFs, exports) are private too; these helpers make the rule hold when ktpel is used as a library.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as 0700; a directory we just created is tightened even under
    a permissive umask. Existing directories are left as the administrator set them."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for p in missing:
        os.chmod(p, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create an empty file as 0600 unless it exists (e.g. the SQLite database before SQLite opens it)."""
    path = Path(path)
    private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
    return path
