"""The log of one service of the running stack, on either target.

    python -m tools.logs --stack local streaming-job [--tail 200]     (make logs SERVICE=... [TAIL=...])

The last lines of every replica's log, one replica after another; one-shot tasks keep theirs after they
exit, so this is also how to see why one failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from components.settings import parse_settings
from tools.mock_deploy import deployment_or_exit, stack_config
from tools.status import engine_for


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", nargs="?", help="a service name, as `make plan` lists them")
    parser.add_argument("--stack", default="local")
    parser.add_argument("--tail", type=int, default=200, help="lines per replica (default 200)")
    options = parser.parse_args(argv)
    deployment = deployment_or_exit(options.stack)
    services = [spec.name for spec in deployment.specs]
    if options.service not in services:
        print(
            f"error: name a service with SERVICE=...; stack {options.stack} has: {', '.join(services)}", file=sys.stderr
        )
        return 2
    config, secret_keys = stack_config(options.stack)
    settings = parse_settings(config, secret_keys, "streamstack", options.stack)
    try:
        engine = engine_for(settings, deployment)
    except Exception as error:  # whatever the client raises, the answer is one line
        print(f"error: cannot reach the engine of stack {options.stack}: {error}", file=sys.stderr)
        return 1
    text = engine.logs(options.service, tail=options.tail)
    if not text:
        print(f"{options.service} has no log on this engine (is stack {options.stack} up?)", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
