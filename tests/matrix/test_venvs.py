"""The matrix's venvs: made once, reused while what they were made from is unchanged, and clear about what is missing."""

from __future__ import annotations

import subprocess

import pytest

from . import venvs


@pytest.fixture
def builder(tmp_path, monkeypatch):
    """ensure() with the venv commands recorded instead of run, in a matrix directory of its own."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("ansible-core>=2.16,<2.22\n")
    monkeypatch.setattr(venvs, "MATRIX_DIR", tmp_path / "matrix")
    monkeypatch.setattr(venvs, "REQUIREMENTS", requirements)
    monkeypatch.setattr(venvs, "installed_core", lambda bin_dir: "2.16.19")
    python = {"version": "3.10.13"}
    monkeypatch.setattr(venvs, "find_python", lambda version: ("/opt/python3.10", python["version"]))
    commands = []

    def run(command, **kwargs):
        commands.append(command)
        if command[1:3] == ["-m", "venv"]:
            (venvs.MATRIX_DIR / "2.16-py3.10" / "bin").mkdir(parents=True)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(venvs.subprocess, "run", run)
    return type("Builder", (), {"commands": commands, "requirements": requirements, "python": python})


def test_a_venv_is_made_once_and_reused_until_requirements_or_python_change(builder):
    pair = venvs.Pair("2.16", "3.10")
    assert venvs.ensure(pair) == venvs.MATRIX_DIR / "2.16-py3.10" / "bin"
    assert [c[1:3] for c in builder.commands] == [["-m", "venv"], ["-m", "pip"]]
    assert builder.commands[1][-3:] == ["-r", "requirements.txt", "ansible-core==2.16.*"]

    venvs.ensure(pair)
    assert len(builder.commands) == 2, "a venv whose stamp matches was made again"

    builder.requirements.write_text("ansible-core>=2.16,<2.23\n")
    venvs.ensure(pair)
    assert len(builder.commands) == 4, "a changed requirements.txt did not make the venv again"

    builder.python["version"] = "3.10.14"
    venvs.ensure(pair)
    assert len(builder.commands) == 6, "another Python did not make the venv again"


def test_a_missing_python_names_the_pair_s_python_and_the_fix():
    with pytest.raises(venvs.MatrixError, match=r"no Python 3\.99 .*pyenv install 3\.99"):
        venvs.find_python("3.99")


def test_pairs_are_found_by_any_of_their_names():
    assert venvs.find_pair("2.21/3.13") == venvs.find_pair("ansible-core-2.21-py3.13") == venvs.NEWEST
    with pytest.raises(venvs.MatrixError, match="ansible-core-2.16-py3.10"):
        venvs.find_pair("2.15/3.9")
