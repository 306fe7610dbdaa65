"""The built tarball as Galaxy, Automation Hub and ansible-builder see it.

galaxy-importer is what Galaxy and Automation Hub run on every upload; ansible-builder's introspection is what decides
which Python packages an execution environment holding this collection gets. Both run offline on the tarball that
`ansible-galaxy collection build` makes, built once for this module.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

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


def requirement_lines(path):
    return [line.split("#")[0].strip() for line in Path(path).read_text().splitlines() if line.split("#")[0].strip()]


def test_execution_environment_example_builds_a_context_and_introspection_lists_exactly_the_collections_python_needs(tarball, tmp_path):
    # The example's paths are relative to it: examples/execution-environment.yml next to build/<the tarball>.
    (tmp_path / "examples").mkdir()
    (tmp_path / "build").mkdir()
    (tmp_path / "examples" / "execution-environment.yml").write_bytes((ROOT / "examples" / "execution-environment.yml").read_bytes())
    (tmp_path / "build" / tarball.name).write_bytes(tarball.read_bytes())
    env = user_env(tmp_path / "home")
    proc = subprocess.run([str(VENV_BIN / "ansible-builder"), "create", "-f", "examples/execution-environment.yml", "-c", "context"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0 and "WARNING" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    build = tmp_path / "context" / "_build"
    # The galaxy requirement names the tarball the build context holds, at the version galaxy.yml gives.
    requirements = yaml.safe_load((build / "requirements.yml").read_text())
    assert [c["name"] for c in requirements["collections"]] == ["collections/" + tarball.name]
    assert (build / "collections" / tarball.name).is_file()

    # The builder's own introspection, on the collection as ansible-galaxy installs it.
    installed = tmp_path / "installed"
    proc = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "-p", str(installed), str(tarball)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([str(VENV_BIN / "python"), str(build / "scripts" / "introspect.py"), "introspect", str(installed)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = yaml.safe_load(proc.stdout)
    python = [line.split("#")[0].strip() for line in found["python"]]
    assert all(line.endswith("# from collection coconut.entra") for line in found["python"]), found
    assert found["system"] == []
    runtime = [line for line in requirement_lines(ROOT / "requirements.txt") if not line.startswith("ansible-core")]
    assert sorted(python) == sorted(runtime) == sorted(requirement_lines(ROOT / "meta" / "ee-requirements.txt"))
