"""Demand scenarios from forecasts, and the Willems (2008) chains as inventory models."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from scotopt.io.errors import FileFormatError
from scotopt.io.willems import read_willems
from scotopt.models.demand import normal_scenarios, scenarios_from_quantiles
from scotopt.models.inventory_instances import distribution_network, willems_model
from scotopt.status import InvalidProblemError, Status
from tests.inventory_reference import highs_objective


def test_quantile_scenarios_reproduce_the_forecast_quantiles():
    levels = [0.1, 0.5, 0.9]
    values = np.zeros((2, 2, 1, 3))
    values[..., :] = [80.0, 100.0, 130.0]
    values[1, 1, 0] = [0.0, 0.0, 10.0]  # intermittent demand: P10 = P50 = 0
    d = scenarios_from_quantiles(levels, values, 40_000, seed=3)
    assert d.shape == (40_000, 2, 2, 1)
    assert (d >= 0).all()
    # sampling error of an empirical quantile ~ sqrt(a(1-a)/n)/f: well under 1 unit here
    np.testing.assert_allclose(np.quantile(d[:, 0, 0, 0], levels), [80, 100, 130], atol=1.0)
    assert np.mean(d[:, 1, 1, 0] == 0.0) == pytest.approx(0.5, abs=0.01)
    again = scenarios_from_quantiles(levels, values, 40_000, seed=3)
    np.testing.assert_array_equal(d, again)


def test_time_correlation_links_consecutive_periods():
    values = np.tile(np.array([10.0, 20.0, 30.0]), (3, 1, 1, 1))
    independent = scenarios_from_quantiles([0.1, 0.5, 0.9], values, 20_000, seed=1)
    linked = scenarios_from_quantiles([0.1, 0.5, 0.9], values, 20_000, seed=1, time_correlation=0.8)
    r0 = np.corrcoef(independent[:, 0, 0, 0], independent[:, 1, 0, 0])[0, 1]
    r1 = np.corrcoef(linked[:, 0, 0, 0], linked[:, 1, 0, 0])[0, 1]
    assert abs(r0) < 0.03 and r1 > 0.7


@pytest.mark.parametrize(
    "levels, values, match",
    [
        ([0.5, 0.1], np.ones((1, 1, 1, 2)), "increasing"),
        ([0.1, 0.9], np.array([[[[5.0, 3.0]]]]), "decrease"),
        ([0.1, 0.9], np.ones((1, 1, 2)), "shape"),
        ([0.1, 0.9], np.array([[[[np.nan, 3.0]]]]), "finite"),
    ],
)
def test_bad_forecasts_are_refused(levels, values, match):
    with pytest.raises(InvalidProblemError, match=match):
        scenarios_from_quantiles(levels, values, 10)


def test_normal_scenarios_have_the_moments():
    d = normal_scenarios(np.full((1, 1, 1), 100.0), 10.0, 50_000, seed=0)
    assert d.mean() == pytest.approx(100.0, abs=0.2) and d.std() == pytest.approx(10.0, abs=0.2)


def test_every_willems_chain_reads_with_the_indexed_counts(shared_data):
    folder = shared_data / "meio_willems"
    with open(folder / "index.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 38
    for row in rows:
        chain = read_willems(folder / row["file_snc"])
        assert chain.num_stages == int(row["stages"]), row["chain"]
        assert len(chain.arc_from) == int(row["arcs"]), row["chain"]
        assert int((chain.demand_mean > 0).sum()) == int(row["demand_stages"]), row["chain"]


def test_willems_chain_solves_to_the_highs_optimum(shared_data):
    model = willems_model(shared_data / "meio_willems/snc_processed/willems_01.csv", num_scenarios=5)
    sol = model.solve(eps=1e-8, time_limit=120)
    assert sol.status == Status.OPTIMAL
    highs, _ = highs_objective(model)
    assert sol.result.fun == pytest.approx(highs, rel=1e-6)
    # the assembly consumes the parts: what Manuf_0001 releases it draws from its three parts
    assert model.lane_inputs.nnz == 10


def test_malformed_willems_file_names_its_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("stage_id,lead_time,max_s_time,cost_rate,risk_pool,ext_demand_mean,ext_demand_std,"
                    "ext_demand_thres,up_stages\nA,3,,1,2,,,\nB,x,,1,2,5,1,1.645,A,1\n")
    with pytest.raises(FileFormatError, match=r"bad.csv:3: lead_time 'x' is not a number"):
        read_willems(path)
    path.write_text("stage_id,lead_time,max_s_time,cost_rate,risk_pool,ext_demand_mean,ext_demand_std,"
                    "ext_demand_thres,up_stages\nA,3,,1,2,,,,B,1\nB,2,,1,2,5,1,1.645,A,1\n")
    with pytest.raises(FileFormatError, match="cycle"):
        read_willems(path)


def test_generated_network_is_solved_and_matches_highs():
    model = distribution_network(dcs=2, stores_per_dc=3, products=2, periods=5, scenarios=4, seed=1)
    sol = model.solve(eps=1e-8, time_limit=120)
    assert sol.status == Status.OPTIMAL
    highs, _ = highs_objective(model)
    assert sol.result.fun == pytest.approx(highs, rel=1e-6)


def test_willems_chain_22_is_not_reported_infeasible(shared_data):
    """Right-hand sides of 10^7: a poor Farkas ray once passed the relative ray test here."""
    model = willems_model(shared_data / "meio_willems/snc_processed/willems_22.csv", num_scenarios=2)
    result = model.solve(eps=1e-3, time_limit=120).result
    assert result.status in (Status.OPTIMAL, Status.TIME_LIMIT)
