"""Shared pieces of the fused-network A/B scripts (``network_rows_ab.py``, ``network_step_ab.py``,
``network_refresh_ab.py``, ``network_evaluation_ab.py``, ``network_pairs_ab.py``): per-call kernel
timing, a solve's fused step and operands, and switches back to the session-29 behaviour that
session 30 changed."""

import statistics
import time

from scotopt.kernels import network_fused as nf
from scotopt.solvers.pdhg import algorithm as alg

CURRENT_MASKS = alg.infinite_bounds


def time_kernels(module, names: dict) -> dict:
    """Replace each kernel ``module.<attribute>`` of ``names`` (attribute -> key) by a wrapper that
    appends its call's seconds to ``calls[key]`` (and returns what the kernel returns); returns
    ``calls``. The solver looks its kernels up in the module when it runs them, so the wrappers
    are what it calls; ``module`` may be a class (its methods then get the wrapper)."""
    calls = {key: [] for key in names.values()}

    def wrapped(kernel, key):
        def run(*args, **kwargs):
            started = time.perf_counter()
            result = kernel(*args, **kwargs)
            calls[key].append(time.perf_counter() - started)
            return result
        return run

    for attribute, key in names.items():
        setattr(module, attribute, wrapped(getattr(module, attribute), key))
    return calls


def captured_step(model) -> dict:
    """The fused step of a 2-iteration float32 solve of ``model`` (``screening=False``) and the
    operands of its last Halpern step: keys step, tail, head, columns, rows (lists, so that a
    script can swap vectors in), scalars."""
    import scotopt
    from scotopt.options import PDHGOptions

    captured = {}
    iterate = nf.FusedNetworkStep._iterate

    def capture(step, chunks, halpern, tail, head, columns, rows, scalars, outputs, **kwargs):
        if halpern:
            captured.update(step=step, tail=tail, head=head, columns=list(columns), rows=list(rows),
                            scalars=scalars)
        return iterate(step, chunks, halpern, tail, head, columns, rows, scalars, outputs, **kwargs)

    nf.FusedNetworkStep._iterate = capture
    try:
        scotopt.solve(model.lp, dtype="float32", eps=1e-4, iteration_limit=2, options=PDHGOptions(screening=False))
    finally:
        nf.FusedNetworkStep._iterate = iterate
    return captured


def alternating_steps(captured: dict, variants: dict, blocks: int, per_block: int, label: str = "variant"):
    """Whole fused iterations on :func:`captured_step`'s operands, ``per_block`` of one variant
    after another, the order swapped every other block, the iterate carried from step to step as
    the solver does. ``variants``: name -> a function that sets the variant up and returns the
    (tail, head) its steps read. The first step of each block is left out (it runs loop 1, and
    checks the order of a new tail). Prints per variant the median and minimum time per step and
    the medians of loops 1-2 and loop 3 per call."""
    step, columns, rows = captured["step"], captured["columns"], captured["rows"]
    kernel_times = time_kernels(nf, {"_arc_pass_parallel": "arcs", "_node_pass_parallel": "nodes"})
    chunks = nf.parallel_chunks(step.E)
    results = {name: {"step": [], "arcs": [], "nodes": []} for name in variants}
    for block in range(blocks):
        for name in (list(variants) if block % 2 == 0 else list(variants)[::-1]):
            tail, head = variants[name]()
            for k in range(per_block):
                outputs = (step._column_output(), *step._row_outputs())
                kernel_times["arcs"].clear()
                kernel_times["nodes"].clear()
                started = time.perf_counter()
                step._iterate(chunks, True, tail, head, columns, rows, captured["scalars"], outputs)
                seconds = time.perf_counter() - started
                if k > 0:
                    results[name]["step"].append(seconds)
                    results[name]["arcs"].extend(kernel_times["arcs"])
                    results[name]["nodes"].extend(kernel_times["nodes"])
                columns[0], rows[0], rows[1] = outputs  # x, y, A x of the next step
    print(f"{step.E} arcs, {chunks} threads, {blocks} blocks of {per_block} steps per {label}")
    print_step_table(results, label)


def print_step_table(results: dict, label: str):
    """A Markdown table of ``results`` (variant -> lists of seconds: step, arcs, nodes): the
    median and minimum step, the medians of loops 1-2 and loop 3."""
    print(f"| {label} | step ms median | step ms min | loops 1-2 ms median | loop 3 ms median |")
    print("|---|---|---|---|---|")
    for name, times in results.items():
        print(f"| {name} | {1e3 * statistics.median(times['step']):.2f} | {1e3 * min(times['step']):.2f} "
              f"| {1e3 * statistics.median(times['arcs']):.2f} | {1e3 * statistics.median(times['nodes']):.2f} |")


def session29_masks(xp, data, columns=True):
    """The infinite-bound masks as session 29 formed them: all four, with isneginf / isposinf."""
    return alg.InfiniteBounds(xp.isneginf(data.con_lb), xp.isposinf(data.con_ub),
                              xp.isneginf(data.var_lb), xp.isposinf(data.var_ub))


def use_session29_code(on: bool):
    """With ``on``: loop 1 in every step (no ``refresh_tables``), no residual sums in the kernels
    (``measures_residual`` off: an evaluation after a restart forms T of the anchor, and every
    evaluation reduces T(z) - z from the vectors) and :func:`session29_masks`; else the code as
    it is."""
    nf.FusedNetworkStep.refresh_tables = not on
    nf.FusedNetworkStep.measures_residual = not on
    alg.infinite_bounds = session29_masks if on else CURRENT_MASKS
