"""Shared fixtures: the array backends to run on and the shared benchmark data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scotopt.kernels import gpu_available

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# In-process CLI tests would otherwise turn on JAX's persistent cache in ~/.cache for the whole
# session; tests/test_compile_cache.py checks the cache in its own processes.
os.environ.setdefault("SCOTOPT_CACHE_DIR", "off")


def _cupy_present() -> bool:
    return gpu_available() == "cupy"


@pytest.fixture(
    params=[
        "numpy",
        "jax",
        pytest.param("cupy", marks=pytest.mark.gpu),
    ]
)
def backend(request) -> str:
    """Name of a backend to solve on; 'cupy' is gpu-marked and skipped without a CuPy GPU."""
    if request.param == "cupy" and not _cupy_present():
        pytest.skip("backend 'cupy' needs an NVIDIA GPU with CuPy (scotopt.kernels.gpu_available() != 'cupy')")
    return request.param


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ``shared/data`` folder beside the repository root, or skip."""
    if not SHARED_DATA.is_dir():
        pytest.skip("shared data folder ../shared/data not found")
    return SHARED_DATA
