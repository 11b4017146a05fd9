"""requirements.lock holds every dependency pyproject.toml declares, at a version the declaration allows."""
from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def locked() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            out[canonicalize_name(name)] = version.strip()
    return out


def test_every_declared_dependency_is_locked_at_an_allowed_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    lock = locked()
    assert len(lock) > len(declared)  # the transitive ones too
    for text in declared:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} is not in requirements.lock: run scripts/lock.sh"
        assert req.specifier.contains(lock[name], prereleases=True), f"{text}: locked {lock[name]}"


def test_the_packages_installed_without_their_dependencies_are_locked():
    lock = locked()
    for name in ("rapid-layout", "rapid-table", "img2table", "torch"):
        assert name in lock, name
    assert "opencv-python" not in lock  # the headless build serves cv2; two OpenCVs corrupt it
