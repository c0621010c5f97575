"""``python -m reqfulfill``."""

import sys

from reqfulfill.cli import main

sys.exit(main())
