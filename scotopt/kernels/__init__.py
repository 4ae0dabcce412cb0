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


def _jax_sees_gpu() -> bool:
    try:
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    except Exception:  # noqa: BLE001 - any import or driver failure means "no JAX GPU"
        return False


def gpu_available() -> str | None:
    """Name of a GPU backend usable here ('cupy' or 'jax'), or None. Never raises."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return "cupy"
    except Exception:  # noqa: BLE001 - any import or driver failure means "no CuPy GPU"
        pass
    return "jax" if _jax_sees_gpu() else None


def resolve_backend(name: str) -> str:
    """Map 'auto' to a concrete backend: a GPU backend when present, else the CPU default.

    On a GPU, JAX when it sees the GPU, else CuPy: on an H200 JAX's jitted iteration (XLA
    fuses the elementwise work and the iteration loop runs on the device) took 1.4x the
    memory-traffic bound at 10^7 arcs, CuPy 5.6x, and JAX was 2.5-8x faster end to end
    (bench/README.md, GPU section).

    On CPU the NumPy/SciPy backend is the default: bench/README.md shows it faster than
    JAX-on-CPU on the Netlib/Kennington suite (JAX's scatter-based sparse matvec and its
    per-chunk dispatch cost more than SciPy's CSR kernels there).
    """
    if name != "auto":
        if name not in BACKENDS:
            raise InvalidOptionError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)} or 'auto'")
        return name
    gpu = gpu_available()
    if gpu is not None and _jax_sees_gpu():
        return "jax"
    return gpu or "numpy"


__all__ = ["BACKENDS", "get_backend", "gpu_available", "resolve_backend", "BackendUnavailableError"]
