"""PDHG reaches eps = 1e-8 on the small Netlib LPs (nonzeros <= 5000) and their published optima.

The instances and reference values come from ``../shared/data/netlib/index.csv``. Instances that
took 15 s or more in the reference run are marked ``slow``; the default run takes about two
minutes on a 2-core machine. Reference run (numpy, float64, eps = 1e-8, default options,
2-core VM under load): every default instance under 13 s (capri 12 s); bore3d 19 s (433k
iterations) and forplan 32 s (709k iterations). tuff later took 65 s (session 35, a fresh
clone's default run on the 2-core Xeon VM: a sixth of that run's time), so it is ``slow`` too.
"""

from __future__ import annotations

import csv

import pytest

import scotopt
from scotopt.io import read_mps
from scotopt.solvers.kkt import kkt_report
from scotopt.status import Status
from tests.conftest import SHARED_DATA

EPS = 1e-8
MAX_NONZEROS = 5000
TIME_LIMIT = 120.0  # generous: a slow machine must not fail, a broken solver must
SLOW_TIME_LIMIT = 300.0  # forplan took 92 s on a loaded 2-core machine
SLOW = {"bore3d", "forplan", "tuff"}
# index.csv `check` values whose published objective leaves out the objective constant c0
# (README: E226's objective row RHS -7.113 is a constant +7.113 the published value excludes).
EXCLUDES_CONSTANT = {"ok_after_constant"}

INDEX = SHARED_DATA / "netlib" / "index.csv"


def _instances():
    if not INDEX.exists():
        return [pytest.param(None, id="no-shared-data")]
    with open(INDEX, newline="") as fh:
        rows = list(csv.DictReader(fh))
    params = []
    for row in rows:
        try:
            nonzeros = int(row["nonzeros"])
            float(row["optimal_objective"])
        except ValueError:  # missing files / no published value
            continue
        if nonzeros > MAX_NONZEROS:
            continue
        marks = [pytest.mark.slow] if row["name"] in SLOW else []
        params.append(pytest.param(row, id=row["name"], marks=marks))
    return params


def test_index_selection_is_sane(shared_data):
    rows = [p.values[0] for p in _instances()]
    names = {row["name"] for row in rows}
    assert len(rows) >= 40
    assert {"afiro", "blend", "e226"} | SLOW <= names
    assert all(int(row["nonzeros"]) <= MAX_NONZEROS for row in rows)


@pytest.mark.parametrize("row", _instances())
def test_netlib_instance(row, shared_data):
    path = shared_data / "netlib" / row["file"]
    if not path.exists():
        pytest.skip(f"{path} not found")
    lp = read_mps(path)
    reference = float(row["optimal_objective"])
    time_limit = SLOW_TIME_LIMIT if row["name"] in SLOW else TIME_LIMIT
    res = scotopt.solve(lp, backend="numpy", dtype="float64", eps=EPS, time_limit=time_limit)
    assert res.status == Status.OPTIMAL, res
    objective = res.fun - lp.c0 if row["check"] in EXCLUDES_CONSTANT else res.fun
    rel_err = abs(objective - reference) / max(1.0, abs(reference))
    assert rel_err <= 1e-6, (objective, reference, rel_err)
    report = kkt_report(lp, res.x, res.y)
    assert report.rel_primal <= EPS
    assert report.rel_dual <= EPS
    assert report.rel_gap <= EPS
    assert (res.rel_primal, res.rel_dual, res.rel_gap) == pytest.approx(
        (report.rel_primal, report.rel_dual, report.rel_gap), rel=1e-9, abs=1e-15)
