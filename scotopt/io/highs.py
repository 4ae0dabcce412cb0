"""Hand an :class:`~scotopt.LP` to HiGHS (``highspy``): the model HiGHS solves and writes."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from scotopt.problem import LP
from scotopt.status import InvalidProblemError


def to_highs_lp(lp: LP):
    """A ``highspy.HighsLp`` holding ``lp`` (minimisation, column-wise matrix, offset = c0)."""
    import highspy

    if lp.is_matrix_free:
        raise InvalidProblemError("a matrix-free LP (LinearOperator) cannot be handed to HiGHS")
    A = sp.csc_matrix(lp.A, dtype=np.float64)
    A.sort_indices()
    m, n = A.shape
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n, m
    model.col_cost_ = np.asarray(lp.c, dtype=np.float64)
    model.col_lower_ = np.asarray(lp.var_lb, dtype=np.float64)  # highspy.kHighsInf is inf
    model.col_upper_ = np.asarray(lp.var_ub, dtype=np.float64)
    model.row_lower_ = np.asarray(lp.con_lb, dtype=np.float64)
    model.row_upper_ = np.asarray(lp.con_ub, dtype=np.float64)
    model.offset_ = float(lp.c0)
    model.sense_ = highspy.ObjSense.kMinimize
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.num_col_, model.a_matrix_.num_row_ = n, m
    model.a_matrix_.start_ = A.indptr.astype(np.int32)
    model.a_matrix_.index_ = A.indices.astype(np.int32)
    model.a_matrix_.value_ = A.data
    return model
