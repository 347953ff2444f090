"""`python -m workloads.streaming_job`: see main.py."""

import sys

from workloads.streaming_job.main import main

sys.exit(main())
