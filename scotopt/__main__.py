"""``python -m scotopt [COMMAND ...]``: the ``scotopt`` command line (no command: ``demo``)."""

import sys

from scotopt.cli import main

if __name__ == "__main__":
    sys.exit(main())
