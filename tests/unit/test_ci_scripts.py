"""The CI scripts parse, and shellcheck (where it is installed) finds nothing in them: a broken .ci/run fails CI before any test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CI = Path(__file__).resolve().parents[2] / ".ci"
SCRIPTS = sorted(p for p in CI.iterdir() if p.is_file())


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_ci_script_parses(script):
    checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (.ci/run installs it on CI)")
def test_ci_scripts_pass_shellcheck():
    checked = subprocess.run(["shellcheck", *map(str, SCRIPTS)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout
