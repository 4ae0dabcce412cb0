"""Solvers: each algorithm once (``pdhg/``), its driver, and the public ``solve``."""
