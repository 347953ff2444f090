"""`python -m workloads.connect`: see `--help`."""

import sys

from workloads.connect.apply import main

sys.exit(main())
