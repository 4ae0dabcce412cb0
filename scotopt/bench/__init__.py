"""scotopt's benchmark harness: ``scotopt bench`` runs scotopt and its peers side by side.

Modules, one job each:

- :mod:`~scotopt.bench.machine`  the machine (CPU, cores, GPU) and its memory bandwidth (STREAM triad)
- :mod:`~scotopt.bench.roofline` bytes one first-order iteration must move, and the time bound they give
- :mod:`~scotopt.bench.peers`    peer solvers (HiGHS, OR-Tools PDLP and SimpleMinCostFlow, MPAX, OSQP,
  cuPDLPx) behind one calling convention
- :mod:`~scotopt.bench.solvers`  the solver registry (scotopt's methods and backends plus the peers)
- :mod:`~scotopt.bench.verify`   every answer re-checked with scotopt's KKT evaluation on the original problem
- :mod:`~scotopt.bench.families` the problem-family registry (one entry per family, quick and full sizes)
- :mod:`~scotopt.bench.suite`    the run loop
- :mod:`~scotopt.bench.report`   CSV and Markdown tables
- :mod:`~scotopt.bench.plots`    PNG plots (time vs size, performance profiles, convergence curves)
- :mod:`~scotopt.bench.kernels`  fixtures of the kernel microbenchmarks (operator products, PDHG steps) for asv

Nothing here is imported by ``import scotopt``; matplotlib and the peers are imported only when used.
"""
