"""`make bench` (many sites): one `sync.yml` run over many Coconut sites, an inventory host per site, at two fork counts.

    python tests/bench/many_sites.py [--sites 20] [--members 2000] [--forks 1,10] [--runs 1] [--latency-ms 20]

Each site is its own sandbox (one process: Entra login, Graph and Coconut, like a tenant and a site of their own),
holding `--members` Entra users in one group, every one already synced and equal in Coconut: the run reads both sides
in full and writes nothing but its outcome on the integration record. The same inventory runs with each fork count in
the same invocation (median of --runs each), and the speed-up is wall(forks=first) / wall(forks=n). On a machine with
few cores the Ansible worker processes share them, so the speed-up is bounded by the cores more than by the forks.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from sandbox.client import start  # noqa: E402 - needs the path above

VENV_BIN = Path(sys.executable).parent


def site_scenario(members, seed):
    rng = random.Random(seed)

    def new_id():
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    users = [{"id": new_id(), "displayName": f"Person {n}", "givenName": "Person", "surname": f"Number{n}",
              "mail": f"person{n}@site{seed}.example", "userPrincipalName": f"person{n}@site{seed}.example",
              "accountEnabled": True, "jobTitle": "Teller"} for n in range(members)]
    group = {"id": new_id(), "displayName": "Everyone", "members": [u["id"] for u in users]}
    staff = [{"id": 101 + n, "first_name": u["givenName"], "last_name": u["surname"], "email": u["mail"], "job_title": u["jobTitle"],
              "integration": {"source": "entra_id", "object_id": u["id"]}} for n, u in enumerate(users)]
    return {"entra": {"tenant_id": new_id(),
                      "applications": [{"app_id": new_id(), "id": new_id(), "roles": ["GroupMember.Read.All", "User.Read.All"],
                                        "secrets": [{"text": f"bench~secret-{seed}"}]}],
                      "users": users, "groups": [group]},
            "coconut": {"site": f"site{seed:02d}", "api_tokens": [{"value": f"bench-token-{seed}"}], "users": staff,
                        "integration": {"status": "connected", "groups": [group["id"]]}}}


def inventory(sandboxes, path):
    hosts = {}
    for name, sandbox, group_id in sandboxes:
        host = dict(sandbox.vars)
        host.update(entra_groups=[group_id], ansible_connection="local", ansible_python_interpreter=sys.executable)
        hosts[name] = host
    path.write_text(yaml.safe_dump({"all": {"children": {"coconut_sites": {"hosts": hosts}}}}))


def run(inventory_path, forks, workdir):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    cmd = [str(VENV_BIN / "ansible-playbook"), str(ROOT / "playbooks" / "sync.yml"), "-i", str(inventory_path), "--forks", str(forks)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"sync.yml with --forks {forks} failed (rc {proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    recap = [line for line in proc.stdout.splitlines() if " : ok=" in line]
    return wall, recap


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--forks", default="1,10")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args(argv)
    forks = [int(f) for f in args.forks.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="coconut-bench-sites-"))
    sandboxes = []
    try:
        for n in range(args.sites):
            scene = site_scenario(args.members, n)
            path = workdir / f"site{n:02d}.json"
            path.write_text(json.dumps(scene))
            sandbox = start(str(path), workdir / f"site{n:02d}", latency_ms=args.latency_ms, timeout=120)
            sandboxes.append((f"site{n:02d}", sandbox, scene["entra"]["groups"][0]["id"]))
        inventory_path = workdir / "inventory.yml"
        inventory(sandboxes, inventory_path)
        walls = {}
        for fork_count in forks:
            samples = []
            for _run in range(args.runs):
                wall, recap = run(inventory_path, fork_count, workdir)
                if len(recap) != args.sites or any("failed=0" not in line or "unreachable=0" not in line for line in recap):
                    raise SystemExit("not every site synced:\n" + "\n".join(recap))
                samples.append(wall)
            walls[fork_count] = statistics.median(samples)
        base = walls[forks[0]]
        print(f"many sites: {args.sites} sites x {args.members} members (all synced, nothing to change), latency {args.latency_ms} ms, "
              f"{os.cpu_count()} CPUs, median of {args.runs}")
        print("| forks | wall s | speed-up vs forks %d |" % forks[0])
        print("|---:|---:|---:|")
        for fork_count in forks:
            print(f"| {fork_count} | {walls[fork_count]:.1f} | {base / walls[fork_count]:.2f}x |")
    finally:
        for _name, sandbox, _group in sandboxes:
            sandbox.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
