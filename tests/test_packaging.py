"""The distribution claims one top-level name, `fundradar`: the stage folders of the checkout
(crawlers/, pipeline/, alerts/, config/) are its sub-packages, in a checkout as in a wheel.

Reads pyproject.toml as the wheel build does; imports the whole product and checks no stage was
loaded a second time under its bare folder name (two copies of the database models would each
map the tables).
"""

from __future__ import annotations

import importlib
import sys
import tomllib

from tests.conftest import REPO

STAGES = ("crawlers", "pipeline", "alerts", "config")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_package_folder_is_in_the_wheel_under_fundradar() -> None:
    tool = _pyproject()["tool"]["setuptools"]
    listed = set(tool["packages"])
    mapping = tool["package-dir"]
    assert {name for name in listed if "." not in name} == {"fundradar"}
    found = set()
    for prefix, folder in mapping.items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            name = ".".join([prefix, *rel.parts]) if rel.parts else prefix
            if prefix == "fundradar" and rel.parts and rel.parts[0] in STAGES:
                continue
            found.add(name)
    assert found == listed, f"missing: {found - listed}; stale: {listed - found}"
    assert {mapping[f"fundradar.{s}"] for s in STAGES} == set(STAGES)


def test_no_stage_is_importable_twice() -> None:
    tool = _pyproject()["tool"]["setuptools"]
    for package in tool["packages"]:
        if package.endswith(".migrations"):
            continue  # env.py runs Alembic when imported
        module = importlib.import_module(package)
        folder = REPO / tool["package-dir"].get(package, package.replace(".", "/"))
        if package.startswith(tuple(f"fundradar.{s}." for s in STAGES)):
            stage, *rest = package.removeprefix("fundradar.").split(".")
            folder = REPO / stage / "/".join(rest)
        for py in sorted(folder.glob("*.py")):
            if py.stem not in ("__init__", "__main__"):
                importlib.import_module(f"{module.__name__}.{py.stem}")
    bare = sorted(
        m for m in sys.modules if m in STAGES or m.startswith(tuple(f"{s}." for s in STAGES))
    )
    assert bare == [], f"loaded under a bare folder name: {bare[:5]}"
