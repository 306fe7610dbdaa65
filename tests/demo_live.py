"""`make demo-live`: continuous sync. Starts the sandbox and the rulebook, changes a few group members in Entra,
and shows each change reaching Coconut, with its latency.

    ANSIBLE_COLLECTIONS_PATH=.collections ansible-rulebook --rulebook extensions/eda/rulebooks/sync.yml \\
      --inventory inventory.yml --vars vars.yml
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eda.rulebook import Rulebook, rulebook_vars, staff_by_object_id  # noqa: E402 - needs the path above
from sandbox.client import make_scenario, staff_from, start, synced  # noqa: E402

INTERVAL = 5
MEMBERS = 12


def banner(text):
    line = "=" * 78
    print("\n%s\n  %s\n%s" % (line, text, line), flush=True)


def main():
    scene = make_scenario(users=MEMBERS + 3, integration={"status": "connected", "groups": []})
    people = scene["entra"]["users"]
    group = scene["entra"]["groups"][0]
    group["members"] = [u["id"] for u in people[:MEMBERS]]
    scene["coconut"]["users"] = [staff_from(u, integration=synced(u)) for u in people[:MEMBERS]]
    with tempfile.TemporaryDirectory(prefix="coconut-demo-live-") as tmp:
        workdir = Path(tmp)
        sandbox = start(scene, workdir / "sandbox")
        variables = rulebook_vars(sandbox, workdir, entra_groups=[group["id"]], entra_poll_interval=INTERVAL)
        rulebook = Rulebook(workdir / "rulebook", variables, verbosity=None)
        try:
            banner("The sandbox: Entra group '%s' with %d members; Coconut has their %d staff" % (group["displayName"], MEMBERS, MEMBERS))
            print("$ ANSIBLE_COLLECTIONS_PATH=.collections ansible-rulebook --rulebook extensions/eda/rulebooks/sync.yml "
                  "--inventory inventory.yml --vars vars.yml   (entra_poll_interval: %d)" % INTERVAL)
            print("  (its output, while it runs: %s)" % rulebook.log_path, flush=True)
            started = time.monotonic()
            rulebook.start()
            rulebook.wait_runs(1, timeout=180)
            print("started; the startup event's catch-up sync ran after %.1f s (JVM and first playbook included)"
                  % (time.monotonic() - started))
            joiner, renamed, disabled, leaver = people[MEMBERS], people[1], people[2], people[0]

            def members():
                return next(g for g in sandbox.state()["entra"]["groups"] if g["id"] == group["id"])["members"]

            steps = [
                ("%s joins the group" % joiner["displayName"],
                 lambda: sandbox.patch_entra({"groups": {"update": [{"id": group["id"], "members": members() + [joiner["id"]]}]}}),
                 joiner["id"], lambda s: s["status"] == "active", "created"),
                ("%s is renamed to %s Married" % (renamed["displayName"], renamed["givenName"]),
                 lambda: sandbox.patch_entra({"users": {"update": [{"id": renamed["id"], "surname": "Married"}]}}),
                 renamed["id"], lambda s: s["last_name"] == "Married", "updated"),
                ("%s's account is disabled" % disabled["displayName"],
                 lambda: sandbox.patch_entra({"users": {"update": [{"id": disabled["id"], "accountEnabled": False}]}}),
                 disabled["id"], lambda s: s["status"] == "archived", "archived"),
                ("%s leaves the group" % leaver["displayName"],
                 lambda: sandbox.patch_entra({"groups": {"update": [{"id": group["id"], "members": [m for m in members() if m != leaver["id"]]}]}}),
                 leaver["id"], lambda s: s["status"] == "archived", "archived"),
            ]
            banner("Changes in Entra, and when Coconut shows them")
            for what, change, oid, done, action in steps:
                print("Entra: %-45s" % what, end="", flush=True)
                made = time.monotonic()
                change()
                while True:
                    staff = (staff_by_object_id(sandbox).get(oid) or [None])[0]
                    if staff and done(staff):
                        break
                    if time.monotonic() - made > 120:
                        sys.exit("\nnot applied within 120 s; the rulebook's output: %s" % rulebook.log()[-3000:])
                    time.sleep(0.2)
                print(" -> Coconut: staff %s %s after %.1f s" % (staff["id"], action, time.monotonic() - made), flush=True)
            print("\nEach change reached Coconut within one poll interval (%d s) plus one playbook run." % INTERVAL)
        finally:
            rulebook.stop()
            sandbox.stop()


if __name__ == "__main__":
    main()
