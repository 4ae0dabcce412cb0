"""The CPU's data-cache sizes, for the loops that size their blocks to them.

Read once from Linux's ``/sys/devices/system/cpu/cpu0/cache/index*/`` (level, type, size) of
the first CPU: the per-core L2 and the L3 that the package's cores share (on a virtual machine,
the host's whole L3, of which other guests may use part). Elsewhere, or where the files cannot
be read, the sizes are None and callers keep their size-free defaults.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

CACHE_DIRECTORY = Path("/sys/devices/system/cpu/cpu0/cache")

_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


@dataclass(frozen=True)
class CacheSizes:
    """Bytes of the level-2 (per core) and level-3 (shared) data or unified caches; None where
    unknown."""

    l2: int | None = None
    l3: int | None = None


def parse_size(text: str) -> int | None:
    """``"2048K"`` -> 2097152 (sysfs writes KiB with a ``K``); None for anything else."""
    text = text.strip()
    if not text:
        return None
    scale = _UNITS.get(text[-1].upper())
    digits = text[:-1] if scale else text
    return int(digits) * (scale or 1) if digits.isdigit() else None


def read_cache_sizes(directory: Path = CACHE_DIRECTORY) -> CacheSizes:
    """The L2 and L3 sizes listed under ``directory`` (one ``index*`` folder per cache)."""
    found = {}
    try:
        entries = sorted(directory.glob("index*"))
        for entry in entries:
            kind = (entry / "type").read_text().strip()
            if kind not in ("Data", "Unified"):
                continue
            level = int((entry / "level").read_text())
            size = parse_size((entry / "size").read_text())
            if level in (2, 3) and size:
                found[level] = size
    except (OSError, ValueError):
        return CacheSizes()
    return CacheSizes(found.get(2), found.get(3))


@functools.lru_cache(maxsize=1)
def cache_sizes() -> CacheSizes:
    """:func:`read_cache_sizes` of this machine, read once per process."""
    return read_cache_sizes()
