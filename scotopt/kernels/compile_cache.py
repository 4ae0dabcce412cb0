"""JAX's persistent compilation cache for scotopt's jitted PDHG/ADMM chunks.

A JAX solve compiles its iteration chunk and its evaluation once per problem shape and dtype:
2-7 s on CPU, about 2 s on an H200 (bench/README.md). Within one process the compiled functions are
reused, but every new process (each ``scotopt solve`` call, each batch job) pays again. JAX can
store compiled executables on disk, keyed on the program, the JAX/XLA version, the device kind
and the flags, and load them in later processes; with a warm cache a fresh process solved
Kennington ken-07 on JAX-CPU in 0.9 s instead of 7.3 s.

:func:`enable` points JAX at a cache folder. It changes JAX's global configuration, so the
library never calls it on its own: the CLI does (unless ``SCOTOPT_CACHE_DIR=off``), and API users
call it or set JAX's own ``JAX_COMPILATION_CACHE_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "SCOTOPT_CACHE_DIR"
# Our chunks compile in 0.3-3 s; JAX's default threshold (1 s) would skip the small ones.
MIN_COMPILE_SECONDS = 0.2


def default_dir() -> Path | None:
    """``$SCOTOPT_CACHE_DIR`` (None when it is "off" or empty), else ``$XDG_CACHE_HOME/scotopt/jax``
    (``~/.cache/scotopt/jax``)."""
    value = os.environ.get(ENV)
    if value is not None:
        return None if value.strip().lower() in ("", "off", "0", "none", "false") else Path(value).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "scotopt" / "jax"


def enable(path: str | os.PathLike | None = None) -> Path | None:
    """Use JAX's persistent compilation cache in ``path`` (default :func:`default_dir`).

    Returns the folder in use, or None when caching is off or JAX is not installed. A folder the
    user already gave JAX (``jax_compilation_cache_dir``, e.g. from ``JAX_COMPILATION_CACHE_DIR``)
    is kept: scotopt never overrides it.
    """
    try:
        import jax
    except ImportError:
        return None
    current = jax.config.jax_compilation_cache_dir
    if current:
        return Path(current)
    folder = Path(path).expanduser() if path is not None else default_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: solve without the cache rather than fail
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return folder
