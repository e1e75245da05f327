"""The hash-locked requirement files under requirements/ agree with pyproject.toml.

These tests read files only: they need no network and no pip.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from pytest_llmcost.importwatch import MIN_LITELLM_VERSION

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements"
LOCKS = sorted(REQUIREMENTS.glob("*.txt"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# Releases of LiteLLM that were compromised on the package index.
COMPROMISED_LITELLM = {Version("1.82.7"), Version("1.82.8")}

HASH_OPTION = re.compile(r"\s--hash=sha256:[0-9a-f]{64}")


def lock_entries(lock: Path) -> list[tuple[Requirement, int]]:
    """Return each requirement of a lock file with its number of `--hash` options."""
    entries: list[tuple[Requirement, int]] = []
    logical_line = ""
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            logical_line += line[:-1] + " "
            continue
        logical_line += line
        text = logical_line.strip()
        logical_line = ""
        if not text:
            continue
        hashes = len(HASH_OPTION.findall(" " + text))
        requirement_text = HASH_OPTION.sub("", " " + text).strip()
        entries.append((Requirement(requirement_text), hashes))
    return entries


def pins(lock: Path) -> dict[str, list[Version]]:
    """Return the versions that a lock pins, by canonical package name."""
    pinned: dict[str, list[Version]] = {}
    for requirement, _ in lock_entries(lock):
        (specifier,) = requirement.specifier
        pinned.setdefault(canonicalize_name(requirement.name), []).append(
            Version(specifier.version)
        )
    return pinned


def declared_requirements() -> list[Requirement]:
    """Return the runtime, test and build requirements that pyproject.toml declares."""
    texts = (
        PYPROJECT["project"]["dependencies"]
        + PYPROJECT["project"]["optional-dependencies"]["test"]
        + PYPROJECT["build-system"]["requires"]
    )
    return [Requirement(text) for text in texts]


def litellm_requirement() -> Requirement:
    (requirement,) = (
        Requirement(text)
        for text in PYPROJECT["project"]["dependencies"]
        if canonicalize_name(Requirement(text).name) == "litellm"
    )
    return requirement


def test_locks_found() -> None:
    assert REQUIREMENTS / "test.txt" in LOCKS
    assert REQUIREMENTS / "test-lowest.txt" in LOCKS


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_lock_pins_with_hashes(lock: Path) -> None:
    entries = lock_entries(lock)
    assert entries, f"{lock.name} has no requirements"
    for requirement, hashes in entries:
        assert not requirement.extras, str(requirement)
        assert requirement.url is None, str(requirement)
        assert len(requirement.specifier) == 1, str(requirement)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", str(requirement)
        assert hashes >= 1, f"{lock.name}: {requirement} has no --hash"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_lock_excludes_compromised_litellm(lock: Path) -> None:
    litellm_pins = pins(lock)["litellm"]
    assert not COMPROMISED_LITELLM & set(litellm_pins)


def test_pyproject_excludes_compromised_litellm() -> None:
    specifier = litellm_requirement().specifier
    for version in COMPROMISED_LITELLM:
        assert version not in specifier


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_lock_satisfies_pyproject(lock: Path) -> None:
    pinned = pins(lock)
    for requirement in declared_requirements():
        versions = pinned.get(canonicalize_name(requirement.name))
        assert versions, f"{lock.name} does not pin {requirement.name}"
        for version in versions:
            assert version in requirement.specifier, f"{lock.name}: {version} vs {requirement}"


def test_lowest_lock_pins_oldest_litellm() -> None:
    lower_bounds = [
        Version(specifier.version)
        for specifier in litellm_requirement().specifier
        if specifier.operator == ">="
    ]
    oldest = Version(".".join(str(part) for part in MIN_LITELLM_VERSION))

    assert lower_bounds == [oldest]
    assert pins(REQUIREMENTS / "test-lowest.txt")["litellm"] == [oldest]
    assert pins(REQUIREMENTS / "test.txt")["litellm"] != [oldest]
