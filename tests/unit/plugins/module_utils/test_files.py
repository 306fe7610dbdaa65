"""write_atomically: the one file writer (delta state, reports, credentials file, EDA state)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.coconut.entra.plugins.module_utils import delta, files
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.files import write_atomically


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_text_is_written_as_utf8_and_bytes_as_given(tmp_path):
    write_atomically(tmp_path / "a.txt", "Zoë\n")
    write_atomically(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "a.txt").read_bytes() == "Zoë\n".encode() and (tmp_path / "b.bin").read_bytes() == b"\x00\xff"


def test_the_mode_is_the_one_asked_for_whatever_the_umask(tmp_path):
    old = os.umask(0o000)
    try:
        write_atomically(tmp_path / "default", "x")
        write_atomically(tmp_path / "group", "x", mode=0o640)
    finally:
        os.umask(old)
    assert mode(tmp_path / "default") == 0o600 and mode(tmp_path / "group") == 0o640


def test_replacing_a_file_sets_the_new_mode_and_content(tmp_path):
    path = tmp_path / "vars.yml"
    path.write_text("old: 1\n")
    path.chmod(0o644)
    write_atomically(path, "new: 2\n")
    assert path.read_text() == "new: 2\n" and mode(path) == 0o600


def test_missing_directories_are_created(tmp_path):
    write_atomically(tmp_path / "a" / "b" / "state.json", "{}")
    assert (tmp_path / "a" / "b" / "state.json").read_text() == "{}"


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch, step):
    path = tmp_path / "report.json"
    path.write_text("old")

    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, step, broken)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_the_delta_file_store_leaves_no_temporary_file_when_its_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "delta.json"
    path.write_text(json.dumps({"version": 1}))

    def broken(*args):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(files.os, "replace", broken)
    with pytest.raises(CoconutEntraError, match="could not be written to .*delta.json"):
        delta.FileStore(str(path)).save({"version": 2})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["delta.json"]
    delta.FileStore(str(path)).save({"version": 2})
    assert json.loads(path.read_text()) == {"version": 2} and mode(path) == 0o600
