"""Backend algebra: one small class per array library, the only place (with the drivers) that
imports jax or cupy. ``get_backend(name)`` returns an object with

- ``xp``: the array namespace the algorithms are written against;
- ``asarray(host_array, dtype)`` / ``to_host(array)``: transfers;
- ``operator(A, dtype)``: A~ as an object with ``matvec`` / ``rmatvec`` on device arrays;
- ``compile(fn)``: jit where the backend has one, identity otherwise;
- ``repeat(body, n, state)``: apply ``body`` n times (a Python loop, or ``lax.fori_loop``);
- ``while_loop(cond, body, state)``: apply ``body`` while ``cond`` holds (``lax.while_loop``);
- ``precision(dtype)``: a context manager in which the dtype is usable (JAX float64).
"""

from __future__ import annotations

import glob
import os
import sys

from scotopt.status import BackendUnavailableError, InvalidOptionError

BACKENDS = ("numpy", "jax", "cupy")


def get_backend(name: str):
    """Return the backend called ``name`` ('numpy', 'jax', 'cupy'); raise if unavailable."""
    if name == "numpy":
        from scotopt.kernels.numpy_backend import NumpyBackend

        return NumpyBackend()
    if name == "jax":
        from scotopt.kernels.jax_backend import JaxBackend

        return JaxBackend()
    if name == "cupy":
        from scotopt.kernels.cupy_backend import CupyBackend

        return CupyBackend()
    raise InvalidOptionError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)} or 'auto'")


def no_gpu_device_files() -> bool:
    """True on Linux when no GPU device file exists (``/dev/nvidiactl``, ``/dev/nvidia0``...
    for CUDA, ``/dev/kfd`` for ROCm, ``/dev/dxg`` for WSL2): then no library can see a GPU, and
    asking JAX or CuPy, whose import alone takes about 1 s, is skipped (``backend="auto"`` on a
    CPU machine with JAX installed). False elsewhere: other systems are asked as before."""
    if not sys.platform.startswith("linux"):
        return False
    return not any(os.path.exists(path) for path in ("/dev/nvidiactl", "/dev/kfd", "/dev/dxg")) and not glob.glob(
        "/dev/nvidia[0-9]*")


def _jax_sees_gpu() -> bool:
    if "jax" not in sys.modules and no_gpu_device_files():
        return False
    try:
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    except Exception:  # noqa: BLE001 - any import or driver failure means "no JAX GPU"
        return False


def _cupy_sees_gpu() -> bool:
    if "cupy" not in sys.modules and no_gpu_device_files():
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - any import or driver failure means "no CuPy GPU"
        return False


def gpu_available() -> str | None:
    """Name of a GPU backend usable here ('cupy' or 'jax'), or None. Never raises."""
    if _cupy_sees_gpu():
        return "cupy"
    return "jax" if _jax_sees_gpu() else None


# Below this many units of work per iteration (nonzeros + rows + columns) a one-off GPU solve is
# faster on CuPy, which compiles nothing, than on JAX, which compiles for 2-5 s per new shape;
# above it JAX's fused iteration wins (H200, bench/README.md GPU section: CuPy 1.4 s vs JAX 3.0 s
# cold at 1.1e6 on a 10^6-arc network, a tie at 1.4e6 on the inventory LP, JAX 2-5x faster per
# iteration at 10^7).
CUPY_BELOW = 2_000_000


def gpu_backend_for(size: int | None, cupy_gpu: bool, jax_gpu: bool) -> str | None:
    """The GPU backend 'auto' picks for a problem of ``size`` units of work (None: unknown, as
    JAX's fused iteration is the safer choice at scale), given which GPU backends are usable."""
    if cupy_gpu and (not jax_gpu or (size is not None and size < CUPY_BELOW)):
        return "cupy"
    return "jax" if jax_gpu else None


def resolve_backend(name: str, size: int | None = None) -> str:
    """Map 'auto' to a concrete backend: a GPU backend when present, else the CPU default.

    On a GPU (:func:`gpu_backend_for`): CuPy for problems below :data:`CUPY_BELOW` units of work
    (``size`` = nonzeros + rows + columns), where JAX's compilation would dominate; JAX above,
    where its jitted iteration (XLA fuses the elementwise work and the loop runs on the device)
    took 1.1-2.1x the memory-traffic bound at 10^7 against 3-6x for CuPy on an H200.

    On CPU the NumPy/SciPy backend is the default: bench/README.md shows it faster than
    JAX-on-CPU on the Netlib/Kennington suite (JAX's scatter-based sparse matvec and its
    per-chunk dispatch cost more than SciPy's CSR kernels there).
    """
    if name != "auto":
        if name not in BACKENDS:
            raise InvalidOptionError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)} or 'auto'")
        return name
    return gpu_backend_for(size, _cupy_sees_gpu(), _jax_sees_gpu()) or "numpy"


__all__ = ["BACKENDS", "get_backend", "gpu_available", "gpu_backend_for", "resolve_backend",
           "BackendUnavailableError"]
