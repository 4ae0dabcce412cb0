"""asv benchmarks of scotopt (configuration: ../asv.conf.json).

In an asv-built environment the installed scotopt is measured. In an existing environment
(``asv run --python=same``, ``ASV_ENV_TYPE=existing``) or when scotopt does not import, the
checkout these files live in is put first on ``sys.path``, so the working tree is measured.
"""

import importlib.util
import os
import sys
from pathlib import Path

_CHECKOUT = str(Path(__file__).resolve().parents[2])
if os.environ.get("ASV_ENV_TYPE", "existing") == "existing" or importlib.util.find_spec("scotopt") is None:
    if _CHECKOUT not in sys.path:
        sys.path.insert(0, _CHECKOUT)
