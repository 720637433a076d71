"""The repository stands on its own: a fresh clone has nothing beside it, so no code, test,
benchmark or script may name a path above the repository root."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("vcall", "tests", "bench", "scripts", ".ci")
#: Folders of the reference material that sits beside a developer's checkout.
OUTSIDE_NAMES = re.compile(r"\.\./shared\b|\bshared/(fixtures|specs|anchors|hooks)\b")
PARENTS = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?\.parents\[(\d+)\]")
ABOVE_ROOT = re.compile(r"\bROOT\s*(?:\.parent\b|/\s*['\"]\.\.['\"])")


def checked_files() -> list[Path]:
    files = []
    for top in CHECKED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_symlink() or not path.is_file() or "node_modules" in path.parts:
                continue
            if path.suffix in {".py", ".sh", ".lua", ".js", ".json", ".md", ".toml"} or (
                path.parent.name == ".ci"
            ):
                files.append(path)
    return files


def test_the_checks_see_the_code() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in checked_files()}
    assert {"vcall/cli/__init__.py", "tests/conftest.py", "bench/_harness.py", ".ci/run"} <= names


def test_nothing_names_a_path_outside_the_repository() -> None:
    found = []
    for path in checked_files():
        rel = path.relative_to(ROOT)
        if rel == Path(__file__).relative_to(ROOT):
            continue
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE_NAMES.search(line) or ABOVE_ROOT.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
            for match in PARENTS.finditer(line):
                # parents[len(rel.parts) - 1] is the repository root; anything more is above it.
                if int(match.group(1)) > len(rel.parts) - 1:
                    found.append(f"{rel}:{number}: {line.strip()}")
    assert not found, "paths outside the repository:\n" + "\n".join(found)


def test_the_seed_call_and_the_specs_are_in_the_repository() -> None:
    assert (ROOT / "tests" / "fixtures" / "seed_call.json").is_file()
    specs = ROOT / "vcall" / "data" / "specs"
    for name in ("ncco-schema.json", "application.v2.yml", "numbers.yml", "LICENSE", "README.md"):
        assert (specs / name).is_file(), name
