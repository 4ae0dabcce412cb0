"""Per-call timing of the fused network kernels, shared by the A/B scripts
(``network_rows_ab.py``, ``network_step_ab.py``, ``network_refresh_ab.py``)."""

import time


def time_kernels(module, names: dict) -> dict:
    """Replace each kernel ``module.<attribute>`` of ``names`` (attribute -> key) by a wrapper that
    appends its call's seconds to ``calls[key]``; returns ``calls``. The solver looks its kernels
    up in the module when it runs them, so the wrappers are what it calls."""
    calls = {key: [] for key in names.values()}

    def wrapped(kernel, key):
        def run(*args):
            started = time.perf_counter()
            kernel(*args)
            calls[key].append(time.perf_counter() - started)
        return run

    for attribute, key in names.items():
        setattr(module, attribute, wrapped(getattr(module, attribute), key))
    return calls
