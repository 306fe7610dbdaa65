"""Run the collection's playbooks the way a user does, and read back what each task returned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    results: list = field(default_factory=list)

    @property
    def output(self):
        return self.stdout + self.stderr

    def task(self, name, host=None):
        """The last result of the task whose name contains `name`."""
        found = [r for r in self.results if name in r["task"] and (host is None or r["host"] == host)]
        assert found, "no result for task %r in %s" % (name, [r["task"] for r in self.results])
        return found[-1]["result"]

    @property
    def sync(self):
        return self.task("Reconcile staff")


def run_playbook(playbook, tmp_path, vars_files=(), extra=None, check=False, diff=False, verbosity=0,
                 inventory=None, env=None, args=(), bin_dir=VENV_BIN):
    """ansible-playbook from the repo root; returns the exit code, output and every task's result.

    `playbook` may be a list: one ansible-playbook run plays them in order. `bin_dir` holds the Ansible to use.
    """
    tmp_path = Path(tmp_path)
    record = tmp_path / ("results-%d.jsonl" % len(list(tmp_path.glob("results-*.jsonl"))))
    playbooks = [playbook] if isinstance(playbook, str | os.PathLike) else list(playbook)
    cmd = [str(Path(bin_dir) / "ansible-playbook")]
    cmd += [str(Path(p) if Path(p).is_absolute() else ROOT / "playbooks" / p) for p in playbooks]
    for path in vars_files:
        cmd += ["-e", "@%s" % path]
    if extra:
        extra_file = tmp_path / ("extra-%d.yml" % len(list(tmp_path.glob("extra-*.yml"))))
        extra_file.write_text(yaml.safe_dump(extra))
        cmd += ["-e", "@%s" % extra_file]
    if inventory:
        cmd += ["-i", str(inventory)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    cmd += list(args)
    run_env = dict(os.environ)
    run_env.update({
        "ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "tests" / "integration" / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "record_results",
        "RECORD_RESULTS_FILE": str(record),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "PATH": "%s:%s" % (bin_dir, os.environ.get("PATH", "")),
    })
    run_env.update(env or {})
    proc = subprocess.run(cmd, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=600, check=False)
    results = []
    if record.exists():
        results = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, results)
