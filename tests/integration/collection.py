"""The collection as users get it: a tarball built from this tree, installed where a user's Ansible finds it.

No Galaxy here: `ansible-galaxy collection build` makes the tarball, `ansible-galaxy collection install -p` installs it.
`user_env` is the environment of a user outside this checkout: its own HOME, no ANSIBLE_* settings, and the tools of
this virtualenv first on PATH (standing in for `pip install ansible-core`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .playbook import ROOT, VENV_BIN


def build_tarball(dest):
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(dest), str(ROOT)],
                          cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (tarball,) = dest.glob("coconut-entra-*.tar.gz")
    return tarball


def user_env(home, **extra):
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({
        "HOME": str(home),
        "PATH": "%s:%s" % (VENV_BIN, os.environ.get("PATH", "")),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "PIP_NO_INPUT": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env
