"""``python -m microgradnet``: the same as the ``microgradnet`` command."""

import sys

from microgradnet.cli import main

sys.exit(main())
