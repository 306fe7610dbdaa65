"""The built tarball as Galaxy, Automation Hub and ansible-builder see it.

galaxy-importer is what Galaxy and Automation Hub run on every upload; ansible-builder's introspection is what decides
which Python packages an execution environment holding this collection gets. Both run offline on the tarball that
`ansible-galaxy collection build` makes, built once for this module.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from .collection import build_tarball, user_env
from .playbook import ROOT, VENV_BIN

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    return build_tarball(tmp_path_factory.mktemp("collection"))


def test_galaxy_importer_accepts_the_tarball_with_no_warning_and_no_error(tarball, tmp_path):
    env = user_env(tmp_path / "home", GALAXY_IMPORTER_CONFIG=ROOT / "tests" / "galaxy-importer.cfg")
    proc = subprocess.run([str(VENV_BIN / "python"), "-m", "galaxy_importer.main", str(tarball)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Importer processing completed successfully" in output, output
    # The importer prints INFO lines bare and every other level as "LEVEL: message".
    complaints = [line for line in output.splitlines() if re.match(r"\s*(WARNING|ERROR|CRITICAL)\b", line)]
    assert complaints == [], output
    # It ran the parts that need ansible-doc and ansible-lint instead of skipping them with a warning.
    assert "Linting collection via ansible-lint" in output and "ansible-doc" in output, output
