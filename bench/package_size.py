"""How big the Lambda package is, and which runtime dependencies make it so."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench.cold_start import REPO

DEPLOYMENT_ZIP = REPO / "build" / "deployment.zip"
REQUIREMENTS = REPO / "requirements.txt"
MIB = 1024 * 1024


@dataclass(frozen=True)
class ZipSize:
    """A zip's size on disk and unpacked (Lambda's limits: 50 MB zipped upload, 250 MB unzipped)."""

    zipped_bytes: int
    unzipped_bytes: int
    files: int
    pyc_files: int


def build_package() -> int:
    """Build build/deployment.zip with the project's own command; returns its exit code."""
    return subprocess.run([sys.executable, "-m", "infra.package", "build"], cwd=REPO).returncode


def zip_size(path: Path = DEPLOYMENT_ZIP) -> ZipSize | None:
    """The size of the deployment zip, or None when it has not been built."""
    if not path.is_file():
        return None
    with zipfile.ZipFile(path) as archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
    return ZipSize(
        zipped_bytes=path.stat().st_size,
        unzipped_bytes=sum(info.file_size for info in entries),
        files=len(entries),
        pyc_files=sum(info.filename.endswith(".pyc") for info in entries),
    )


@dataclass(frozen=True)
class InstalledSize:
    """One installed distribution and its size on disk, without the bytecode pip compiled for it."""

    name: str
    bytes: int
    direct: bool  # named in requirements.txt, rather than pulled in by one that is


def _direct_requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def _installed_bytes(dist: metadata.Distribution) -> int:
    # .pyc files are compiled at install time and are not in the wheels Chalice packages.
    total = 0
    for file in dist.files or []:
        if file.suffix == ".pyc":
            continue
        located = Path(str(dist.locate_file(file)))
        if located.is_file():
            total += located.stat().st_size
    return total


def _applies(requirement: Requirement, extras: set[str]) -> bool:
    """Whether a requirement holds here, for a dependent installed with `extras`."""
    if requirement.marker is None:
        return True
    environment = default_environment()
    return any(requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras)


def runtime_sizes(path: Path = REQUIREMENTS) -> list[InstalledSize]:
    """Every installed distribution the runtime requirements need (their closure), largest first."""
    direct = [req for req in _direct_requirements(path) if _applies(req, {""})]
    direct_names = {canonicalize_name(req.name) for req in direct}
    pending, seen = list(direct), set[str]()
    sizes: list[InstalledSize] = []
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        dist = metadata.distribution(name)
        sizes.append(InstalledSize(name, _installed_bytes(dist), name in direct_names))
        extras = {"", *requirement.extras}
        needed = (Requirement(text) for text in dist.requires or [])
        pending.extend(dep for dep in needed if _applies(dep, extras))
    return sorted(sizes, key=lambda size: size.bytes, reverse=True)
