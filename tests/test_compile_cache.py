"""JAX's persistent compilation cache as the CLI uses it (scotopt.kernels.compile_cache)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scotopt.kernels import compile_cache

pytest.importorskip("jax")

DEMO = Path(__file__).resolve().parents[1] / "scotopt" / "data" / "distribution_demo.mps"


def _env(**values):
    env = {k: v for k, v in os.environ.items() if k not in ("SCOTOPT_CACHE_DIR", "JAX_COMPILATION_CACHE_DIR")}
    env.update(values)
    return env


@pytest.mark.parametrize("value", ["off", "", "0", "none"])
def test_cache_off(monkeypatch, value):
    monkeypatch.setenv(compile_cache.ENV, value)
    assert compile_cache.default_dir() is None


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "c"))
    assert compile_cache.default_dir() == tmp_path / "c"
    monkeypatch.delenv(compile_cache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compile_cache.default_dir() == tmp_path / "scotopt" / "jax"


def _cli_solve(env):
    out = subprocess.run([sys.executable, "-m", "scotopt", "solve", str(DEMO), "--backend", "jax", "--json"],
                         capture_output=True, text=True, env=env, timeout=300, check=True)
    return json.loads(out.stdout)


def test_cli_fills_the_cache_and_a_second_process_gives_the_same_answer(tmp_path):
    cache = tmp_path / "jax-cache"
    env = _env(SCOTOPT_CACHE_DIR=str(cache), PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    first = _cli_solve(env)
    entries = [p for p in cache.rglob("*") if p.is_file()]
    assert entries, "the first solve stored no compiled executable"
    second = _cli_solve(env)  # loads the executables stored by the first process
    assert first["status"] == second["status"] == "OPTIMAL"
    assert second["primal_objective"] == pytest.approx(first["primal_objective"], rel=1e-12)


def test_a_cache_folder_the_user_gave_jax_is_kept(tmp_path):
    code = ("from scotopt.kernels import compile_cache; "
            f"print(compile_cache.enable({str(tmp_path / 'ours')!r}))")
    env = _env(JAX_COMPILATION_CACHE_DIR=str(tmp_path / "theirs"), PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
    assert out.stdout.strip() == str(tmp_path / "theirs")
    assert not (tmp_path / "ours").exists()


def test_jax_solve_compiles_whole_functions_only():
    """A JAX solve of a new shape compiles its chunk, its evaluation and the work around the loop
    as a few whole functions (``driver._point_functions``). Run operation by operation, that work
    compiled ~30 small programs more (37 in all for this LP), each a GPU compile of its own."""
    import jax.monitoring
    import numpy as np
    import scipy.sparse as sp

    from scotopt.problem import LP
    from scotopt.solvers.api import solve

    compiled = []

    def listener(name, secs, **kwargs):
        if name.endswith("backend_compile_duration"):
            compiled.append(name)

    rng = np.random.default_rng(3)
    A = sp.random(37, 53, density=0.2, random_state=4, format="csr")  # a shape no other test uses
    x = rng.uniform(0, 1, 53)
    lp = LP(c=rng.uniform(0.1, 1, 53), A=A, con_lb=A @ x, con_ub=A @ x + 1, var_ub=2.0)
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        result = solve(lp, backend="jax", eps=1e-6)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert result.status.name == "OPTIMAL"
    assert len(compiled) <= 8, len(compiled)  # 7 here; a compile ahead that missed JAX's cache adds 3


@pytest.mark.parametrize("x64", [False, True])
def test_compile_ahead_serves_the_call(x64):
    """``JaxBackend.compile_ahead`` compiles on a background thread what the first call then
    finds in JAX's cache (no second compile), with float64 on where the caller has it, and the
    wrapped function returns what the plain one does."""
    import contextlib

    import jax
    import jax.monitoring
    import jax.numpy as jnp

    from scotopt.kernels.jax_backend import JaxBackend

    compiled = []

    def listener(name, secs, **kwargs):
        if name.endswith("backend_compile_duration"):
            compiled.append(name)

    dtype = jnp.float64 if x64 else jnp.float32
    with jax.enable_x64(True) if x64 else contextlib.nullcontext():
        fn = jax.jit(lambda v, s: (jnp.sin(v) * s["k"]).sum() + s["w"])
        v = jnp.linspace(0.0, 1.0, 41, dtype=dtype)
        state = {"k": jnp.asarray(3.0, dtype=dtype), "w": 0.5}
        expected = jax.jit(lambda v, s: (jnp.sin(v) * s["k"]).sum() + s["w"])(v, state)
        ahead = JaxBackend().compile_ahead(fn, v, state)
        ahead._thread.join()
        jax.monitoring.register_event_duration_secs_listener(listener)
        try:
            got = ahead(v, state)
        finally:
            jax.monitoring.unregister_event_duration_listener(listener)
    assert got.dtype == expected.dtype == dtype
    assert float(got) == float(expected)
    assert compiled == []
