# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Delta sync state: what a run keeps so that the next one reads only what changed in Entra.

The state (a JSON document) holds, for one site, group set, mapping and plan options (its fingerprint):
- one Graph deltaLink per selected group (groups/delta filtered to the group, members only),
- one users/delta deltaLink (attribute changes, renames, disables, of any user),
- the user members of each group and which of them are disabled, so that a changed user can be
  placed in or out of scope without listing the group again.

It lives in a file on the controller, or in the Coconut site's integration record (`coconut`), for jobs
that keep no files (AWX). Loading and saving are the only I/O here; deciding what changed is pure.

Whoever can write the record (any Coconut API token) or the file could otherwise steer the sync: add a user
to a group's members, or point a link at another Graph query. So the sync signs what it saves (HMAC-SHA256,
keyed by a key derived from the Entra credential, which Coconut never sees) and trusts only a state whose
signature verifies and whose links are this sync's own delta queries on the configured Graph host; anything
else means a full run, with a warning. A rotated Entra credential changes the key: one full run follows.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
from urllib.parse import urlsplit

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.files import write_atomically

STATE_VERSION = 1
IN_COCONUT = "coconut"
RECORD_KEY = "delta_state"
MAC_KEY = "mac"
USER_TYPE = "#microsoft.graph.user"


def fingerprint(**parts):
    """A stable hash of everything a stored state depends on; any change means a full run."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def new_state(fingerprint_, group_ids, links, users_link, members, disabled):
    return {
        "version": STATE_VERSION,
        "fingerprint": fingerprint_,
        "groups": list(group_ids),
        "links": dict(links),
        "users_link": users_link,
        "members": {gid: sorted(ids) for gid, ids in members.items()},
        "disabled": sorted(disabled),
        "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017 - managed hosts may run Python < 3.11
    }


def _signed_bytes(state):
    return json.dumps({k: v for k, v in state.items() if k != MAC_KEY}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True, default=str).encode()


def sign(state, key):
    """The state with its MAC (HMAC-SHA256 over everything else in it, canonical JSON)."""
    signed = {k: v for k, v in state.items() if k != MAC_KEY}
    signed[MAC_KEY] = hmac.new(key, _signed_bytes(signed), hashlib.sha256).hexdigest()
    return signed


def signed_by(state, key):
    """True when the state carries a MAC made with `key` over exactly what it holds."""
    mac = state.get(MAC_KEY)
    return isinstance(mac, str) and hmac.compare_digest(mac, hmac.new(key, _signed_bytes(state), hashlib.sha256).hexdigest())


def foreign_links(state, graph_url):
    """The stored links that are not this sync's own delta queries on the configured Graph host ([] when all are)."""
    graph = urlsplit(graph_url)
    base = graph.path.rstrip("/") + "/v1.0/"
    wanted = [(link, "groups/delta") for link in (state.get("links") or {}).values()] + [(state.get("users_link"), "users/delta")]
    foreign = []
    for link, path in wanted:
        parts = urlsplit(link) if isinstance(link, str) else None
        if parts is None or parts.scheme != "https" or (parts.netloc or "").lower() != graph.netloc.lower() \
                or parts.path != base + path or parts.fragment:
            foreign.append(link)
    return foreign


def usable(state, fingerprint_, group_ids, key=None, graph_url=None):
    """Why `state` cannot drive a delta run (a reason to print), or None when it can.

    With `key`, the state must carry this sync's signature; with `graph_url`, its links must be the sync's own
    delta queries on that Graph host."""
    if not state:
        return "no delta state yet"
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        return "the delta state has an unknown format"
    if key is not None and not signed_by(state, key):
        return ("the delta state does not carry this sync's signature, so it is not trusted: it was changed outside the sync, "
                "saved before signatures were kept, or the Entra credential changed since (rotate_token.yml)")
    if graph_url is not None and foreign_links(state, graph_url):
        return ("the delta state holds links that are not this sync's delta queries on %s, so it is not trusted"
                % urlsplit(graph_url).netloc)
    if state.get("fingerprint") != fingerprint_:
        return "the groups, membership, mapping or plan options changed since the delta state was saved"
    if state.get("groups") != list(group_ids) or set(state.get("links") or {}) != set(group_ids) or not state.get("users_link"):
        return "the delta state does not cover the selected groups"
    return None


def member_changes(items):
    """(added, removed) user ids from the pages of a groups/delta round (`members@delta`)."""
    added, removed = set(), set()
    for item in items:
        for member in item.get("members@delta") or []:
            if member.get("@odata.type", USER_TYPE) != USER_TYPE or not member.get("id"):
                continue  # nested groups: `membership: direct` syncs users only
            if "@removed" in member:
                removed.add(member["id"])
                added.discard(member["id"])
            else:
                added.add(member["id"])
                removed.discard(member["id"])
    return added, removed


def user_changes(items):
    """(changed, deleted) user ids from the pages of a users/delta round."""
    changed, deleted = set(), set()
    for item in items:
        if not item.get("id"):
            continue
        changed.add(item["id"])
        if "@removed" in item:
            deleted.add(item["id"])
    return changed, deleted


# ---- where the state is kept ------------------------------------------------------------------


class FileStore:
    """The state in a JSON file on the host running the module (the controller, for sync.yml)."""

    def __init__(self, path):
        self.path = os.path.abspath(os.path.expanduser(path))
        self.where = self.path

    def load(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise CoconutEntraError(f"cannot read the delta state {self.path}: {exc}; delete it to start again with a full run") from None

    @staticmethod
    def encode(state):
        """The file's text for `state` (a delta run makes it in a thread, ahead of save)."""
        return json.dumps(state, separators=(",", ":"))

    def save(self, state, encoded=None):
        try:
            write_atomically(self.path, self.encode(state) if encoded is None else encoded)
        except OSError as exc:
            raise CoconutEntraError(f"the sync was applied, but its delta state could not be written to {self.path}: {exc}; "
                                    "the next run will be a full one") from None


class CoconutStore:
    """The state in the site's Entra ID integration record (`GET/PUT /api/v2/integrations/entra-id`)."""

    where = "the Coconut integration record"

    def __init__(self, coconut):
        self.coconut = coconut
        self.record = None

    def load(self):
        self.record = self.coconut.get_integration()
        if self.record is None:
            raise CoconutEntraError("entra_delta_state: coconut keeps the delta state in the site's Entra ID integration record, "
                                    "and this site has none: run connect.yml first (or give entra_delta_state a file path)")
        return self.record.get(RECORD_KEY)

    @staticmethod
    def encode(state):
        return None  # the record goes out through the Coconut client, which encodes it itself

    def save(self, state, encoded=None):
        # Only our key, on the record as it is now: the sync lease changes it while the run lasts.
        self.record = self.coconut.update_integration({RECORD_KEY: state})


def store_for(option, coconut):
    if option == IN_COCONUT:
        return CoconutStore(coconut)
    return FileStore(option)
