"""``python -m shenjing``: the ``shenjing`` command without the console script."""

import sys

from shenjing.cli import main

sys.exit(main())
