"""``python -m merge.cli``: the ``crdtkit`` command."""

import sys

from merge.cli import main

sys.exit(main())
