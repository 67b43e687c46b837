"""Tracker modules (MOD, XM, S3M, IT) of free games, from their Debian packages, or any folder of modules.

``overworld fetch tracker --out DIR`` copies the modules that twelve Debian game packages install (61 files)
into ``DIR/<package>/``, and records each file's package and licence in ``dataset.json`` (they differ:
GPL-1+, GPL-2+, GPL-3+, GPL-2, GPL-2 or GPL-3, LGPL-2.1, Zlib; each from the package's
``/usr/share/doc/<pkg>/copyright``).
``--path DIR`` takes every module under a folder instead (recursively, suffixes in any case); ``--no-copy``
records the files in place. ``overworld prepare`` reads modules through :mod:`overworld.midi.modules`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, NamedTuple

from overworld.datasets.folder import copy_tree
from overworld.datasets.registry import FetchOptions, Source
from overworld.errors import DataError
from overworld.midi.modules import MODULE_SUFFIXES

__all__ = ["DPKG_INFO", "PACKAGES", "SOURCE", "Package", "package_modules"]

DPKG_INFO = Path("/var/lib/dpkg/info")  # dpkg's list of the files each installed package put in place


class Package(NamedTuple):
    licence: str  # SPDX, as /usr/share/doc/<package>/copyright states it for the package's data
    homepage: str
    modules: str  # what it holds
    not_modules: tuple[str, ...] = ()  # files named like modules that are not (ri-li's language.It is text)


PACKAGES: dict[str, Package] = {
    "pingus-data": Package("GPL-2.0-or-later", "http://pingus.seul.org/", "19 IT, 1 S3M"),
    "tecnoballz-data": Package(
        "GPL-3.0-or-later", "http://linux.tlk.fr/games/TecnoballZ/", "14 MOD, 1 XM named .mod"
    ),
    "bomberclone-data": Package("GPL-2.0-only", "http://www.bomberclone.de/", "5 XM, 1 MOD"),
    "tomatoes-data": Package("Zlib", "http://tomatoes.sourceforge.net/", "1 IT"),
    "gltron": Package("GPL-2.0-or-later", "http://www.gltron.org", "1 IT"),
    "fb-music-high": Package("GPL-2.0-or-later", "http://www.frozen-bubble.org/", "1 XM"),
    "solarwolf": Package("LGPL-2.1-only", "https://www.pygame.org/shredwheat/solarwolf/", "2 XM"),
    "gweled": Package("GPL-2.0-or-later", "http://gweled.org/", "1 S3M"),
    "njam-data": Package("GPL-2.0-or-later", "https://sourceforge.net/projects/njam/", "2 XM, 1 S3M"),
    # "distributed under the GNU GENERAL PUBLIC LICENSE", no version named: any version
    "circuslinux-data": Package("GPL-1.0-or-later", "http://www.newbreedsoftware.com/circus-linux/", "5 MOD"),
    "penguin-command": Package("GPL-2.0-or-later", "http://www.linux-games.com/penguin-command/", "3 S3M"),
    "ri-li-data": Package(
        "GPL-2.0-only OR GPL-3.0-only", "http://www.ri-li.org/", "2 XM, 1 MOD", not_modules=("language.It",)
    ),
}


def _is_module_name(path: str | Path) -> bool:
    return str(path).lower().endswith(MODULE_SUFFIXES)


def package_modules(package: str) -> list[Path]:
    """The module files an installed Debian package put in place (none when it is not installed)."""
    lists = sorted(DPKG_INFO.glob(f"{package}.list")) + sorted(DPKG_INFO.glob(f"{package}:*.list"))
    skip = PACKAGES[package].not_modules if package in PACKAGES else ()
    found: list[Path] = []
    for listing in lists:
        for line in listing.read_text(encoding="utf-8", errors="replace").splitlines():
            if _is_module_name(line) and Path(line).name not in skip and Path(line).is_file():
                found.append(Path(line))
    return sorted(set(found))


def _from_packages(out: Path, copy: bool) -> list[Path]:
    files = []
    for package in PACKAGES:
        for module in package_modules(package):
            if not copy:
                files.append(module)
                continue
            target = out / package / module.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(module, target)
            files.append(target)
    if not files:
        raise DataError(
            "no tracker modules found; install the games' data with `sudo apt-get install "
            f"{' '.join(PACKAGES)}` or pass --path DIR"
        )
    return files


def _from_folder(root: Path, out: Path, copy: bool) -> list[Path]:
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    found = sorted(p for p in root.rglob("*") if _is_module_name(p.name) and p.is_file())
    if not found:
        raise DataError(f"no modules ({', '.join(MODULE_SUFFIXES)}) under {root}")
    return copy_tree(found, root, out) if copy else found


def fetch(out: Path, options: FetchOptions) -> list[Path]:
    if options.path:
        return _from_folder(Path(options.path), out, options.copy)
    return _from_packages(out, options.copy)


def _package_of(out: Path, file: Path) -> str | None:
    """The Debian package a fetched (or in-place) module came from, checked against the package's files."""
    try:
        rel = file.relative_to(out)
    except ValueError:  # recorded in place
        return next((p for p in PACKAGES if file in package_modules(p)), None)
    in_package = len(rel.parts) == 2 and rel.parts[0] in PACKAGES
    if in_package and any(m.name == rel.name for m in package_modules(rel.parts[0])):
        return rel.parts[0]
    return None


def file_info(out: Path, file: Path) -> dict[str, Any]:
    """A module's package, licence and copyright file for its dataset.json entry; "unknown" for a module
    from --path, whose licence is its owner's to state."""
    package = _package_of(out, file)
    if package is None:
        return {"licence": "unknown (from --path: see where the file came from)"}
    return {
        "package": package,
        "licence": PACKAGES[package].licence,
        "copyright": f"/usr/share/doc/{package}/copyright",
    }


SOURCE = Source(
    name="tracker",
    licence="per file: GPL-1.0-or-later, GPL-2.0-or-later, GPL-3.0-or-later, GPL-2.0-only, GPL-2.0-only OR "
    "GPL-3.0-only, LGPL-2.1-only, Zlib (see dataset.json)",
    homepage="https://packages.debian.org/",
    size="61 modules (MOD, XM, S3M, IT) from 12 Debian game packages",
    how=f"Debian packages {', '.join(PACKAGES)} (apt-get install), or --path DIR of .mod/.xm/.s3m/.it",
    fetch=fetch,
    file_info=file_info,
)
