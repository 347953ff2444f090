"""Every module in tests/fixtures is a pytest plugin: server launchers and the Pulumi mock harness."""

import pkgutil
from pathlib import Path

pytest_plugins = [
    f"tests.fixtures.{module.name}"
    for module in pkgutil.iter_modules([str(Path(__file__).parent / "fixtures")])
    if not module.name.startswith("_")
]
