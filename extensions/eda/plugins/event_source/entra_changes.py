# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""entra_changes: an event when the members of the selected Entra groups, or the attributes the sync reads, change.

Polls Microsoft Graph's delta queries every `interval` seconds: `groups/delta` (filtered to each selected group,
members only) for joiners and leavers, and `users/delta` (the attributes the mapping reads, plus accountEnabled) for
renames, disables and deletions of members. It puts at most one event on the queue per poll, and only when something
the sync cares about changed, so a burst of changes within one interval is one event. The first event after a start
is always `startup`, asking for a full sync: it catches up whatever happened while nothing was running.

An event carries object ids, counts and reasons only: never a secret, never a name or an email.

    {"coconut_entra": {"kind": "startup" | "change" | "resync", "full_sync": bool, "groups": [group ids],
                       "users": [changed user object ids, at most 100], "users_left_out": int,
                       "counts": {"added", "removed", "attribute", "disabled", "deleted"}, "changed": int}}

`resync` follows a 410 syncStateNotFound (Graph forgot the delta links): a full sync, like `startup`.

The delta links and the members they track are kept in `state` (a JSON file, written atomically, mode 0600), so a
restart reports what changed while it was stopped. Errors (Graph 429/5xx past the client's retries, a refused token)
are logged in one line and polling backs off, up to `max_backoff` seconds between tries; it never stops by itself.

Arguments:
    entra_tenant_id, entra_client_id:   the Entra app (as for the collection's modules)
    entra_client_secret:                its secret; or entra_client_certificate with entra_client_private_key
    entra_authority_host, entra_graph_url, ca_path, validate_certs, timeout:  as for the modules
    entra_groups:           the groups to watch, as sync.yml takes them (ids, exact names, or dicts with `group`)
    coconut_staff_mapping:  the mapping sync.yml takes (only which Entra attributes it reads matters here)
    state:                  file for the delta links across restarts (required; the rulebook passes entra_events_state)
    interval:               seconds between polls (default 30)
    max_backoff:            the longest wait after repeated errors, in seconds (default 300)

Example:
    - name: Continuous sync
      hosts: all
      sources:
        - coconut.entra.entra_changes:
            entra_tenant_id: "{{ entra_tenant_id }}"
            entra_client_id: "{{ entra_client_id }}"
            entra_client_secret: "{{ entra_client_secret }}"
            entra_groups: "{{ entra_groups }}"
            state: /var/lib/coconut-entra/events.json
            interval: 30
      rules:
        - name: Sync on a change
          condition: event.coconut_entra is defined
          action:
            run_playbook:
              name: coconut.entra.sync
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys

LOG = logging.getLogger("coconut.entra.entra_changes")
STATE_VERSION = 1
EVENT_USERS_CAP = 100
REASONS = ("added", "removed", "attribute", "disabled", "deleted")


def collection_root():
    """Put the collection on sys.path: ansible-rulebook runs this file with runpy, outside Ansible's loader."""
    try:
        import ansible_collections.coconut.entra.plugins.module_utils.entra  # noqa: F401 - only proves it imports
        return None
    except ImportError:
        pass
    here = os.path.abspath(__file__)  # not realpath: a checkout is linked in as .collections/ansible_collections/...
    parts = here.split(os.sep)
    candidates = []
    if "ansible_collections" in parts:
        candidates.append(os.sep.join(parts[:len(parts) - 1 - parts[::-1].index("ansible_collections")]) or os.sep)
    for variable in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"):
        candidates.extend(p for p in os.environ.get(variable, "").split(os.pathsep) if p)
    candidates += [os.path.expanduser("~/.ansible/collections"), "/usr/share/ansible/collections"]
    for candidate in candidates:
        if os.path.isdir(os.path.join(candidate, "ansible_collections", "coconut", "entra")):
            sys.path.insert(0, os.path.abspath(candidate))
            return candidate
    return None


collection_root()

from ansible_collections.coconut.entra.plugins.module_utils import delta  # noqa: E402 - needs collection_root()
from ansible_collections.coconut.entra.plugins.module_utils.common import entra_client_from_params  # noqa: E402
from ansible_collections.coconut.entra.plugins.module_utils.entra import PERMISSION_USERS, DeltaExpired  # noqa: E402
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError  # noqa: E402
from ansible_collections.coconut.entra.plugins.module_utils.files import write_atomically  # noqa: E402
from ansible_collections.coconut.entra.plugins.module_utils.groups import group_refs  # noqa: E402
from ansible_collections.coconut.entra.plugins.module_utils.mapping import Mapping  # noqa: E402
from ansible_collections.coconut.entra.plugins.module_utils.times import isoformat  # noqa: E402


def _number(args, name, default, minimum):
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = None
    if value is None or value < minimum:
        raise CoconutEntraError("coconut.entra.entra_changes: %s must be a number of seconds, at least %s; got %r"
                                % (name, minimum, args.get(name)))
    return value


class EntraChanges:
    """The blocking part of the source (msal and requests): every method here runs in a worker thread."""

    def __init__(self, args, client=None):
        args = dict(args or {})
        if not args.get("state"):
            raise CoconutEntraError("coconut.entra.entra_changes needs state: a file to keep its delta links in across restarts "
                                    "(the rulebook passes entra_events_state)")
        self.path = os.path.abspath(os.path.expanduser(str(args["state"])))
        self.interval = _number(args, "interval", 30.0, 1)
        self.max_backoff = max(self.interval, _number(args, "max_backoff", 300.0, 1))
        self.refs = group_refs(args.get("entra_groups"))
        self.select = Mapping(args.get("coconut_staff_mapping") or {}).graph_select
        self.client = client or entra_client_from_params(args)
        self.group_ids = None
        self.started = False  # the startup event was made
        self.links, self.users_link, self.members = {}, None, {}

    # ---- state file ------------------------------------------------------------------------------

    def load(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                state = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            LOG.warning("coconut.entra.entra_changes: cannot read %s (%s); starting from a full read", self.path, exc)
            return None
        usable = (isinstance(state, dict) and state.get("version") == STATE_VERSION and state.get("groups") == self.group_ids
                  and state.get("select") == sorted(self.select) and state.get("users_link")
                  and set(state.get("links") or {}) == set(self.group_ids))
        if usable and delta.foreign_links(state, self.client.graph_url):
            # The links are followed with the Graph token: only this source's own delta queries on the configured host.
            LOG.warning("coconut.entra.entra_changes: %s holds links that are not its delta queries on the configured Graph "
                        "host; not trusted, starting from a full read", self.path)
            return None
        return state if usable else None

    def save(self):
        state = {"version": STATE_VERSION, "groups": self.group_ids, "select": sorted(self.select), "links": self.links,
                 "users_link": self.users_link, "members": {gid: sorted(ids) for gid, ids in self.members.items()},
                 "saved_at": isoformat()}
        write_atomically(self.path, json.dumps(state, separators=(",", ":")))  # mode 0600

    # ---- Graph -------------------------------------------------------------------------------------

    def baseline(self):
        """New delta links, then every member: links first, so a change made during the listing shows in the next poll."""
        self.links = {gid: self.client.latest_delta_link(group_id=gid) for gid in self.group_ids}
        self.users_link = self.client.latest_delta_link(select=self.select)
        self.members = {gid: {u["id"] for u in self.client.iter_group_members(gid, select=["id"]) if u.get("id")}
                        for gid in self.group_ids}

    def startup(self):
        """The first event: a full sync, with what changed since the saved state when there is one."""
        self.client.token()
        self.group_ids = [g["id"] for g in self.client.resolve_groups(self.refs)]
        state = self.load()
        changes = None
        if state:
            self.links, self.users_link = dict(state["links"]), state["users_link"]
            self.members = {gid: set(state.get("members", {}).get(gid) or ()) for gid in self.group_ids}
            try:
                changes = self.changes()
            except DeltaExpired:
                LOG.warning("coconut.entra.entra_changes: Graph no longer knows the saved delta links (410); reading the groups again")
                changes = None
        if changes is None:
            self.baseline()
            changes = {}
        self.save()
        self.started = True
        return self.event("startup", changes, full_sync=True)

    def poll(self):
        """One poll: an event when something the sync reads changed, else None."""
        try:
            changes = self.changes()
        except DeltaExpired:
            LOG.warning("coconut.entra.entra_changes: Graph answered 410 syncStateNotFound; reading the groups again and "
                        "asking for a full sync")
            self.baseline()
            self.save()
            return self.event("resync", {}, full_sync=True)
        self.save()
        return self.event("change", changes, full_sync=False) if changes else None

    def changes(self):
        """{user id: reason} since the current links; moves the links and the members on (in memory)."""
        rounds, links = {}, {}
        for gid in self.group_ids:
            items, links[gid] = self.client.delta_changes(self.links[gid], "polling the membership changes of Entra group %s" % gid)
            rounds[gid] = delta.member_changes(items)
        items, users_link = self.client.delta_changes(self.users_link, "polling the changes of Entra users", permission=PERMISSION_USERS)
        changed_users, deleted = delta.user_changes(items)
        disabled = {item["id"] for item in items if item.get("id") and item.get("accountEnabled") is False}
        was_member = set().union(*self.members.values()) if self.members else set()
        reasons = {}
        for gid, (added, removed) in rounds.items():
            for uid in removed:
                reasons.setdefault(uid, "removed")
            for uid in added:
                reasons[uid] = "added"
            self.members[gid] = (self.members.get(gid, set()) - removed) | added
        is_member = set().union(*self.members.values()) if self.members else set()
        for uid in changed_users & (was_member | is_member):
            if uid in deleted:
                reasons[uid] = "deleted"
            elif uid in disabled:
                reasons[uid] = "disabled"
            else:
                reasons.setdefault(uid, "attribute")
        for gid in self.group_ids:
            self.members[gid] -= deleted
        self.links, self.users_link = links, users_link
        return reasons

    def event(self, kind, reasons, full_sync):
        users = sorted(reasons)
        counts = {reason: 0 for reason in REASONS}
        for reason in reasons.values():
            counts[reason] += 1
        return {"coconut_entra": {"kind": kind, "full_sync": full_sync, "groups": list(self.group_ids),
                                  "users": users[:EVENT_USERS_CAP], "users_left_out": max(0, len(users) - EVENT_USERS_CAP),
                                  "counts": counts, "changed": len(users), "at": isoformat()}}

    def close(self):
        self.client.close()


async def main(queue, args, source=None, max_polls=None):
    """The source: a `startup` event, then at most one event per poll. `source` and `max_polls` are for tests."""
    source = source or EntraChanges(args)
    failures, polls = 0, 0
    try:
        while max_polls is None or polls < max_polls:
            polls += 1
            try:
                event = await asyncio.to_thread(source.poll if source.started else source.startup)
            except (CoconutEntraError, OSError) as exc:
                failures += 1
                wait = min(source.interval * 2 ** failures, source.max_backoff)
                LOG.warning("coconut.entra.entra_changes: %s; trying again in %ds", getattr(exc, "msg", None) or exc, wait)
                await asyncio.sleep(wait)
                continue
            failures = 0
            if event is not None:
                info = event["coconut_entra"]
                LOG.info("coconut.entra.entra_changes: %s event, %d changed user(s) %s", info["kind"], info["changed"],
                         {k: v for k, v in info["counts"].items() if v})
                await queue.put(event)
            await asyncio.sleep(source.interval)
    finally:
        await asyncio.to_thread(source.close)


if __name__ == "__main__":
    # A manual run: python entra_changes.py vars.yml [events-state.json] prints the events as they come.
    import yaml

    class MockQueue:
        async def put(self, event):
            print(json.dumps(event), flush=True)

    with open(sys.argv[1], encoding="utf-8") as vars_handle:
        variables = yaml.safe_load(vars_handle)
    variables["state"] = sys.argv[2] if len(sys.argv) > 2 else variables.get("entra_events_state")
    variables["interval"] = variables.get("entra_poll_interval", 30)
    asyncio.run(main(MockQueue(), variables))
