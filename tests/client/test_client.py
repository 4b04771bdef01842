"""The browser client's own checks, so the README's test command covers them: the constants it takes from
the server are current, it type-checks (`tsc --checkJs`, strict), and its unit tests pass (`node --test`).

Node is needed for the last two; without it they are skipped with one line locally, and fail in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from web.client_constants import render

WEB = Path(__file__).resolve().parents[2] / "web"
CONSTANTS = WEB / "src" / "constants.js"


def test_constants_are_the_servers() -> None:
    assert CONSTANTS.read_text() == render(), (
        "web/src/constants.js is not what the server's values give now: run "
        "`.venv/bin/python -m web.client_constants > web/src/constants.js` and rebuild the app"
    )


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js is not on PATH: CI must check the browser client", pytrace=False)
        pytest.skip("Node.js is not on PATH: the browser client's type check and unit tests need it")
    return node


def _run(command: list[str]) -> None:
    result = subprocess.run(command, cwd=WEB, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_client_type_checks() -> None:
    node = _node()
    tsc = WEB / "node_modules" / "typescript" / "bin" / "tsc"
    if not tsc.exists():
        pytest.fail("TypeScript is not installed in web/: run ./scripts/setup --dev", pytrace=False)
    _run([node, str(tsc), "-p", "jsconfig.json"])


def test_client_unit_tests_pass() -> None:
    # The spec reporter ends with the failures, which is the part an assertion message keeps.
    _run([_node(), "--test", "--test-reporter=spec", "test/"])
