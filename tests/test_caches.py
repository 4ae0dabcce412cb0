"""scotopt.kernels.caches: cache sizes read from a sysfs-like folder."""

from __future__ import annotations

import pytest

from scotopt.kernels.caches import CacheSizes, cache_sizes, parse_size, read_cache_sizes


def _cache(folder, index, level, kind, size):
    entry = folder / f"index{index}"
    entry.mkdir()
    (entry / "level").write_text(f"{level}\n")
    (entry / "type").write_text(f"{kind}\n")
    (entry / "size").write_text(f"{size}\n")


@pytest.mark.parametrize("text, expected", [("48K", 48 << 10), ("266240K", 266240 << 10), ("2M", 2 << 20),
                                            ("512", 512), ("", None), ("K", None), ("1.5M", None)])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


def test_read_cache_sizes_takes_the_data_and_unified_caches_of_levels_2_and_3(tmp_path):
    _cache(tmp_path, 0, 1, "Data", "48K")
    _cache(tmp_path, 1, 1, "Instruction", "32K")
    _cache(tmp_path, 2, 2, "Unified", "2048K")
    _cache(tmp_path, 3, 3, "Unified", "266240K")
    assert read_cache_sizes(tmp_path) == CacheSizes(l2=2 << 20, l3=260 << 20)


def test_read_cache_sizes_without_an_l3_or_a_folder(tmp_path):
    _cache(tmp_path, 0, 2, "Unified", "1024K")
    assert read_cache_sizes(tmp_path) == CacheSizes(l2=1 << 20, l3=None)
    assert read_cache_sizes(tmp_path / "absent") == CacheSizes()


def test_read_cache_sizes_gives_up_on_malformed_entries(tmp_path):
    _cache(tmp_path, 0, "two", "Unified", "1024K")
    assert read_cache_sizes(tmp_path) == CacheSizes()


def test_cache_sizes_of_this_machine_are_positive_or_unknown():
    sizes = cache_sizes()
    assert sizes is cache_sizes()  # read once
    for size in (sizes.l2, sizes.l3):
        assert size is None or size > 0
