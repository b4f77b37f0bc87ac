"""Package data as folders on disk, wherever the package was imported from.

pip unpacks a wheel, so `importlib.resources.files(package)` is already a folder. Scrapyd runs a
job from the project's egg, a zip file on `sys.path`: its files are then readable one by one but
are no folder, and Alembic (it loads `env.py` and `versions/*.py` by path) and the config loader
need one. Such a package's files are extracted once per process into a temporary folder, removed
when the process exits.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path


def package_folder(package: str) -> Path:
    """The folder holding `package`'s files: itself, or an extracted copy (zip import)."""
    root = files(package)
    if isinstance(root, Path):
        return root
    return _extracted(package)


@cache
def _extracted(package: str) -> Path:
    target = Path(tempfile.mkdtemp(prefix=f"fundradar-{package.rsplit('.', 1)[-1]}-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    _copy(files(package), target)
    return target


def _copy(node: Traversable, target: Path) -> None:
    for child in node.iterdir():
        if child.name == "__pycache__":
            continue
        if child.is_dir():
            (target / child.name).mkdir()
            _copy(child, target / child.name)
        else:
            (target / child.name).write_bytes(child.read_bytes())
