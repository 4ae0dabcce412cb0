"""Model families of the bench registry that come from ``scotopt.models`` (multi-echelon inventory,
issue 5; truck loading, issue 7): PDHG at eps 1e-4 on the family's first quick-suite instance.
Skipped (NotImplementedError) while the model or its ``bench_instance`` hook is absent; see
scotopt/bench/families.py."""

from __future__ import annotations

import math

from .common import SolveTracks, family_instance

MODEL_FAMILIES = ["multi_echelon_inventory", "truck_loading"]


class ModelFamilyPDHG(SolveTracks):
    params = MODEL_FAMILIES
    param_names = ["family"]

    def setup(self, family):
        from scotopt.bench.families import FAMILIES

        instance = family_instance(family, FAMILIES[family].quick[0])
        self.problem, self.reference = instance.problem, math.nan
        self.kwargs = {"eps": 1e-4}
        self.result = self.solve()
