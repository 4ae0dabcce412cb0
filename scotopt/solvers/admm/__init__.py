"""OSQP-style ADMM for QPs (and LPs): scaling, the iteration written once, the driver."""
