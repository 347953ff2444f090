"""`python -m workloads.producer`: see `--help`."""

import sys

from workloads.producer.cli import main

sys.exit(main())
