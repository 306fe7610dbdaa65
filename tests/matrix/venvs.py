"""The ansible-core x Python pairs the collection declares, each in a venv of its own, made once and reused.

    python tests/matrix/venvs.py                # make (or reuse) every pair's venv
    python tests/matrix/venvs.py --bin 2.21/3.13   # make (or reuse) one, print its bin directory
    python tests/matrix/venvs.py --list         # the pairs, one a line

A pair's venv lives in .venv-matrix/<pair>/ and holds requirements.txt with ansible-core pinned to the
pair's minor release: the runtime requirements and nothing else (the e2e run drives it from the main
.venv). It is made again only when what it was made from changes (requirements.txt, the pin, the
Python), recorded in its stamp like the Makefile's .venv/.installed. The main pair (2.19 on 3.11)
is the Makefile's .venv itself.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MATRIX_DIR = ROOT / ".venv-matrix"
MAIN_VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"
# Bump when the way a venv is made changes, so existing ones are made again.
RECIPE = 1


class MatrixError(RuntimeError):
    """A pair's venv could not be made; the message names the pair and the fix."""


@dataclass(frozen=True)
class Pair:
    core: str  # an ansible-core minor release, "2.16"
    python: str  # a Python minor release, "3.10"
    main: bool = False  # the Makefile's .venv, not a venv of the matrix's own

    def __str__(self):
        return f"ansible-core-{self.core}-py{self.python}"

    @property
    def venv(self):
        return MAIN_VENV if self.main else MATRIX_DIR / f"{self.core}-py{self.python}"

    @property
    def bin(self):
        return self.venv / "bin"


# Each ansible-core the collection declares (requirements.txt) on its oldest controller Python, and the
# newest release on the newest Python it supports. tests/matrix/test_declared_range.py keeps this list and
# the declarations in step.
PAIRS = (
    Pair("2.16", "3.10"),
    Pair("2.17", "3.10"),
    Pair("2.18", "3.11"),
    Pair("2.19", "3.11", main=True),
    Pair("2.20", "3.12"),
    Pair("2.21", "3.12"),
    Pair("2.21", "3.13"),
)
NEWEST = PAIRS[-1]


def find_pair(name):
    """A pair by its name: "2.21/3.13", "2.21-py3.13" or "ansible-core-2.21-py3.13"."""
    match = re.fullmatch(r"(?:ansible-core-)?(\d+\.\d+)(?:/|-py)(\d+\.\d+)", name.strip())
    for pair in PAIRS:
        if match and (pair.core, pair.python) == match.groups():
            return pair
    raise MatrixError(f"no pair {name!r} in the matrix; the pairs are {', '.join(str(p) for p in PAIRS)}")


def python_version(executable):
    """'3.10.13' for a Python that runs, or None (a pyenv shim for a version not selected does not)."""
    try:
        proc = subprocess.run([executable, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                              capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def find_python(version):
    """(path, full version) of a Python `version` ("3.10"): pythonX.Y on PATH, else pyenv's versions/X.Y.*."""
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = [shutil.which(f"python{version}")]
    installed = glob.glob(os.path.join(pyenv_root, "versions", f"{version}.*", "bin", f"python{version}"))
    candidates += sorted(installed, key=lambda p: [int(n) for n in re.findall(r"\d+", Path(p).parents[1].name)], reverse=True)
    for candidate in filter(None, candidates):
        found = python_version(candidate)
        if found and found.rsplit(".", 1)[0] == version:
            return candidate, found
    raise MatrixError(f"no Python {version} on this machine (looked for python{version} on PATH and in "
                      f"{pyenv_root}/versions/{version}.*): install it, e.g. `pyenv install {version}`")


def recipe(pair, python_path, python_full):
    """What a pair's venv is made from; the venv is made again when this changes."""
    return {
        "pair": str(pair),
        "python": python_full,
        "python_path": python_path,
        "install": ["-r", "requirements.txt", f"ansible-core=={pair.core}.*"],
        "requirements_sha256": hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest(),
        "recipe": RECIPE,
    }


def installed_core(bin_dir):
    """The ansible-core version a venv holds, or None."""
    python = Path(bin_dir) / "python"
    if not python.exists():
        return None
    proc = subprocess.run([str(python), "-c", "import ansible.release; print(ansible.release.__version__)"],
                          capture_output=True, text=True, timeout=60, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def ensure(pair, log=None):
    """The pair's bin directory, with its venv made if missing or stale. Safe to call from parallel processes."""
    if pair.main:
        version = installed_core(pair.bin)
        if not version or not version.startswith(pair.core + "."):
            raise MatrixError(f"{pair}: the main .venv holds ansible-core {version or '(none)'}, not {pair.core}: run `make venv`")
        return pair.bin
    MATRIX_DIR.mkdir(exist_ok=True)
    with open(MATRIX_DIR / f".{pair.venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two pytest workers, or make and pytest, never build one venv at once
        python_path, python_full = find_python(pair.python)
        wanted = recipe(pair, python_path, python_full)
        stamp = pair.venv / ".installed"
        if stamp.exists() and json.loads(stamp.read_text()) == wanted:
            return pair.bin
        if log:
            log(f"{pair}: making {pair.venv.relative_to(ROOT)} (Python {python_full})")
        shutil.rmtree(pair.venv, ignore_errors=True)
        steps = [
            [python_path, "-m", "venv", str(pair.venv)],
            [str(pair.bin / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + wanted["install"],
        ]
        for step in steps:
            proc = subprocess.run(step, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
            if proc.returncode != 0:
                output = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines()
                                   if "is neither a file nor a directory" not in line)
                raise MatrixError(f"{pair}: `{' '.join(step)}` failed (exit {proc.returncode}):\n{output[-4000:]}")
        version = installed_core(pair.bin)
        if not version or not version.startswith(pair.core + "."):
            raise MatrixError(f"{pair}: pip installed ansible-core {version or '(none)'}, not {pair.core}.*")
        stamp.write_text(json.dumps(wanted, indent=1) + "\n")
        return pair.bin


def main(argv):
    if argv[:1] == ["--list"]:
        print("\n".join(str(p) for p in PAIRS))
        return 0
    try:
        if argv[:1] == ["--bin"]:
            print(ensure(find_pair(argv[1]) if len(argv) > 1 else NEWEST, log=lambda m: print(m, file=sys.stderr)))
            return 0
        for pair in [find_pair(a) for a in argv] or PAIRS:
            bin_dir = ensure(pair, log=print)
            print(f"{pair}: {Path(bin_dir).parent.relative_to(ROOT)} (ansible-core {installed_core(bin_dir)})")
    except MatrixError as exc:
        print(f"matrix: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
