"""``scotopt solve`` on a network file: DIMACS min-cost flow or CommaLAB multicommodity flow.

The file is read into its model (:func:`scotopt.io.load_model`), the model's matrix-free LP is
solved with the command's options, and the result is decoded (``MinCostFlow.decode``,
``MultiCommodityFlow.decode``). The summary adds the network's size, the arcs saturated at
their capacity, for a min-cost flow the Lagrangian lower bound of the potentials (valid for any
potentials), and with ``--integral`` the flow rounded and repaired into an exactly feasible
integral one (:mod:`scotopt.models.repair`) with its cost and its gap to that bound.

``--aggregate none`` keeps one commodity per origin-destination pair of a CommaLAB file (the
default, ``source``, merges the pairs of an origin: the same optimum, fewer variables).

``--out DIR`` writes ``<name>_summary.json`` (the LP's summary plus a ``"network"`` entry) and
``<name>_flow.npz``, arcs in the file's order and nodes by file id - 1:

- min-cost flow: ``flow``, ``potentials``, ``reduced_costs``, ``capacity_prices``, ``saturated``,
  ``tail``, ``head`` (0-based), and with ``--integral`` ``integral_flow``;
- multicommodity: ``flow`` (commodities x arcs), ``total_flow``, ``potentials`` (commodities x
  nodes), ``capacity_prices``, ``saturated``, ``commodity_origin``, ``tail``, ``head``;
- both: ``status`` and ``summary_json``.
"""

from __future__ import annotations

import contextlib
import sys
import time

import numpy as np


def _network_summary(model, solution, integral) -> dict:
    """The ``"network"`` entry of the summary: sizes and what the decoder adds."""
    from scotopt.models import MinCostFlow

    summary = {"model": type(model).__name__, "nodes": int(model.num_nodes), "arcs": int(model.num_arcs)}
    if not isinstance(model, MinCostFlow):
        summary["commodities"] = int(model.num_commodities)
        summary["aggregate"] = model.aggregate
    summary["saturated_arcs"] = int(np.count_nonzero(solution.saturated))
    if isinstance(model, MinCostFlow):
        summary["lagrangian_bound"] = float(solution.lower_bound)
    if integral is not None:
        summary["integral_flow"] = {"cost": integral.cost, "lower_bound": integral.lower_bound,
                                    "gap": integral.gap, "repaired_units": integral.imbalance,
                                    "feasible": bool(integral.feasible)}
    return summary


def _flow_arrays(model, solution, integral) -> dict:
    from scotopt.models import MinCostFlow

    single = isinstance(model, MinCostFlow)
    # a min-cost flow may keep its arcs in another order (MinCostFlow's arc_order); the file's is wanted
    tail, head = ((model.to_input_order(model.tail), model.to_input_order(model.head)) if single
                  else (model.operator.tail, model.operator.head))
    arrays = {"tail": np.asarray(tail), "head": np.asarray(head), "flow": solution.flow,
              "potentials": solution.potentials, "capacity_prices": solution.capacity_prices,
              "saturated": solution.saturated}
    if single:
        arrays["reduced_costs"] = solution.reduced_costs
        if integral is not None:
            arrays["integral_flow"] = integral.flow
    else:
        arrays["total_flow"] = solution.total_flow
        arrays["commodity_origin"] = solution.commodity_origin
    return arrays


def _network_rows(summary: dict) -> list[tuple[str, str]]:
    """Lines the summary table adds for a network file."""
    size = f"{summary['model']}: {summary['nodes']} nodes, {summary['arcs']} arcs"
    if "commodities" in summary:
        size += f", {summary['commodities']} commodities (aggregate={summary['aggregate']!r})"
    rows = [("network", size), ("saturated arcs", f"{summary['saturated_arcs']} of {summary['arcs']}")]
    if "lagrangian_bound" in summary:
        rows.append(("lower bound", f"{summary['lagrangian_bound']:.12g}  (Lagrangian, from the potentials)"))
    integral = summary.get("integral_flow")
    if integral is not None:
        state = "feasible" if integral["feasible"] else "NOT feasible: the bounds admit no flow"
        units = integral["repaired_units"]
        rows.append(("integral flow", f"cost {integral['cost']:.12g}, gap {integral['gap']:.2e} to the bound "
                                      f"{integral['lower_bound']:.12g}; {units:g} unit{'' if units == 1 else 's'} "
                                      f"of imbalance repaired, {state}"))
    return rows


def solve_network(args, kind, termination, options, devices) -> int:
    """``scotopt solve`` on a DIMACS or CommaLAB file (``kind``, :func:`scotopt.io.file_kind`;
    module docstring); returns the exit code."""
    import scotopt
    from scotopt.cli import EXIT_INTERRUPTED, EXIT_OK, _fail, _summary_table
    from scotopt.io import load_model
    from scotopt.models import MinCostFlow
    from scotopt.models.repair import require_integral_data
    from scotopt.status import InvalidProblemError, Status

    started = time.perf_counter()
    if args.aggregate is not None:
        if kind != "commalab":
            return _fail(f"{args.file}: --aggregate applies to CommaLAB multicommodity files")
        model = load_model(args.file, aggregate=args.aggregate)
    else:
        model = load_model(args.file)
    read_seconds = time.perf_counter() - started
    if args.integral:
        if not isinstance(model, MinCostFlow):
            return _fail(f"{args.file}: --integral applies to single-commodity (DIMACS) networks")
        try:
            require_integral_data(model)  # before the solve, not after it
        except InvalidProblemError as exc:
            return _fail(f"{args.file}: --integral: {exc}")
    problem = model.lp
    verbose = not args.quiet
    if verbose and not args.json:
        print(f"scotopt {scotopt.__version__}: {model!r}, read in {read_seconds:.2f} s", flush=True)
    with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
        result = scotopt.solve(problem, method=args.method, backend=args.backend, dtype=args.dtype,
                               eps=termination.eps, eps_infeasible=termination.eps_infeasible,
                               time_limit=termination.time_limit, iteration_limit=termination.iteration_limit,
                               verbose=verbose, options=options, devices=devices)
    solution = model.decode(result)
    integral = model.integral_flow(solution.flow, solution.potentials) if args.integral else None
    network = _network_summary(model, solution, integral)
    from scotopt.io.solution import summary_json

    summary = summary_json(result, problem, network=network)
    files = []
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        summary_path = args.out / f"{problem.name}_summary.json"
        summary_path.write_text(summary + "\n")
        flow_path = args.out / f"{problem.name}_flow.npz"
        with open(flow_path, "wb") as fh:
            np.savez(fh, status=np.str_(result.status.name), summary_json=np.str_(summary),
                     **_flow_arrays(model, solution, integral))
        files = [str(summary_path), str(flow_path)]
    if args.json:
        print(summary)
    elif not args.quiet:
        print()
        print(_summary_table(result, problem, files, _network_rows(network)))
    else:
        line = f"{problem.name}: {result.status.name} objective {result.fun:.10g} in {result.nit} iterations"
        if integral is not None:
            line += f"; integral flow cost {integral.cost:.10g} (gap {integral.gap:.2e})"
        print(line)
    return EXIT_INTERRUPTED if result.status == Status.INTERRUPTED else EXIT_OK
