"""The sandbox's state: loading and dumping the scenario, the request log, faults, the page cache.

Sandbox is the one object the HTTP layer talks to; each service's behaviour lives in its own module
(login, graph, coconut, control) as a mixin over this state."""

import collections
import secrets
import threading


from .coconut import CoconutService
from .common import PAGE_CACHE_MAX, USER_KNOWN_PROPERTIES, Reply, dumps, new_guid, next_int, staff_record
from .control import ControlService
from .graph import GraphService
from .login import LoginService


class Sandbox(LoginService, GraphService, CoconutService, ControlService):
    """All state and behaviour; the HTTP layer only parses and writes."""

    def __init__(self, scenario, latency_ms=0):
        self.lock = threading.RLock()
        self.latency = latency_ms / 1000.0
        self.token_key = secrets.token_bytes(32)
        self.urls = {}
        self.request_log = []
        self.faults = []
        self.delta_tokens = collections.OrderedDict()
        self.delta_pages = collections.OrderedDict()
        self.secret_created = {}
        # Encoded list pages, answered again until the state changes: serving a page must cost the
        # sandbox far less than parsing it costs the client, or the sandbox sets a benchmark's wall time.
        self.page_cache = {}
        self.token_claims = {}  # verified Graph access tokens: a page served again skips the JWT check's cost
        self.load(scenario)

    # -- loading and dumping ---------------------------------------------------------------

    def load(self, scenario):
        if not isinstance(scenario, dict) or not isinstance(scenario.get("entra"), dict) or not scenario["entra"].get("tenant_id"):
            raise ValueError("scenario needs entra.tenant_id")
        with self.lock:
            self.set_entra(scenario["entra"])
            self.set_coconut(scenario.get("coconut") or {})
            self.delta_tokens.clear()
            self.delta_pages.clear()

    def set_entra(self, entra):
        entra = dict(entra)
        entra.setdefault("token_lifetime_seconds", 3599)
        entra.setdefault("secret_propagation_seconds", 0)
        entra.setdefault("delta_members_per_item", 500)
        apps = []
        for app in entra.get("applications") or []:
            app = {"app_id": new_guid(), "id": new_guid(), "display_name": "Coconut staff sync", "roles": [],
                   "secrets": [], "certificates": [], **app}
            app["secrets"] = [{"key_id": new_guid(), "text": secrets.token_urlsafe(30), "end": "2099-01-01T00:00:00Z",
                               "display_name": None, **s} for s in app.get("secrets") or []]
            app["certificates"] = list(app.get("certificates") or [])
            apps.append(app)
        entra["applications"] = apps
        users = [u if u.get("id") else {**u, "id": new_guid()} for u in entra.get("users") or []]
        groups = []
        for group in entra.get("groups") or []:
            group = {"id": new_guid(), "displayName": None, **group}
            group["members"] = [str(m) for m in group.get("members") or []]
            groups.append(group)
        entra["users"], entra["groups"] = users, groups
        self.entra = entra
        self.users_by_id = {u["id"]: u for u in users}
        # `$filter=id eq '...' or ...` (a delta run's read of the changed users) looks ids up here, not in a scan of
        # every user: {case-folded id: positions in the directory}, so the answer keeps the directory's order.
        self.user_positions = {}
        for position, user in enumerate(users):
            self.user_positions.setdefault(str(user["id"]).casefold(), []).append(position)
        self.users_by_upn = {str(u.get("userPrincipalName", "")).lower(): u for u in users if u.get("userPrincipalName")}
        self.groups_by_id = {g["id"]: g for g in groups}
        # What a groups/delta snapshot holds per group (the members that exist, in order, and as a set), made here
        # once per change of the directory rather than in every delta round.
        self.group_members_known = {g["id"]: self.known_members(g["members"]) for g in groups}
        self.user_properties = USER_KNOWN_PROPERTIES.union(*(u.keys() for u in users)) if users else USER_KNOWN_PROPERTIES
        self.member_cache = {}
        self.changed()

    def set_coconut(self, coconut):
        coconut = dict(coconut)
        coconut.setdefault("site", "demo")
        tokens = []
        for n, token in enumerate(coconut.get("api_tokens") or [], start=1):
            tokens.append({"id": f"t{n}", "value": secrets.token_urlsafe(32), "name": f"token {n}",
                           "created_at": "2024-01-01T00:00:00Z", "revoked": False, **token})
        coconut["api_tokens"] = tokens
        coconut["locations"] = self._with_int_ids(coconut.get("locations") or [], {"external_id": None, "name": None})
        coconut["user_groups"] = self._with_int_ids(coconut.get("user_groups") or [], {"external_id": None, "name": None})
        coconut.setdefault("integration", None)
        coconut["invites"] = list(coconut.get("invites") or [])
        users = {}
        next_id = max(next_int(coconut.get("users") or []), 101)
        for user in coconut.get("users") or []:
            if user.get("id") is None:
                user, next_id = {**user, "id": next_id}, next_id + 1
            user = staff_record(int(user["id"]), user)
            users[user["id"]] = user
        coconut.pop("users", None)
        self.coconut = coconut
        self.staff = users
        self.staff_order = sorted(users)
        self.next_staff_id = max(max(users, default=100) + 1, next_id)
        self.staff_version = 0
        self.staff_list_cache = {}
        self.changed()
        self.object_ids = {}
        self.staff_by_status, self.synced_staff = {}, set()
        for user in users.values():
            self.index_staff(user)
            oid = (user.get("integration") or {}).get("object_id")
            if oid:
                self.object_ids.setdefault(oid, user["id"])

    @staticmethod
    def _with_int_ids(records, defaults):
        out, next_id = [], next_int(records)
        for record in records:
            record = {**defaults, **record}
            if record.get("id") is None:
                record["id"], next_id = next_id, next_id + 1
            out.append(record)
        return out

    def dump(self):
        with self.lock:
            entra = dict(self.entra)
            coconut = dict(self.coconut)
            coconut["users"] = [self.staff[i] for i in self.staff_order]
            return {"entra": entra, "coconut": coconut}

    def vars(self):
        app = (self.entra["applications"] or [{}])[0]
        secret = (app.get("secrets") or [{}])[0]
        token = (self.coconut["api_tokens"] or [{}])[0]
        return {"entra_tenant_id": self.entra["tenant_id"], "entra_client_id": app.get("app_id"),
                "entra_client_secret": secret.get("text"), "entra_app_object_id": app.get("id"),
                "entra_authority_host": self.urls["login"], "entra_graph_url": self.urls["graph"],
                "coconut_url": self.urls["coconut"], "coconut_api_token": token.get("value"),
                "ca_path": self.ca_path, "sandbox_url": self.urls["coconut"] + "/_sandbox"}

    # -- request log and faults ------------------------------------------------------------

    def log(self, service, method, path, status):
        with self.lock:
            self.request_log.append({"service": service, "method": method, "path": path, "status": status})

    def take_fault(self, service, method, path):
        with self.lock:
            for fault in self.faults:
                if fault.matches(service, method, path) and fault.take():
                    return fault
        return None

    def changed(self):
        """Forget every encoded page: called wherever what a kept page shows can change (staff writes, loads,
        control edits). Sign-ins, tokens, user groups, the integration record and apps change no kept page."""
        with self.lock:
            self.page_cache.clear()
            self.token_claims.clear()

    def cached_page(self, key, build):
        """A GET list page's reply: its encoded bytes while the state is unchanged, else built (and kept if 200)."""
        with self.lock:
            kept = self.page_cache.get(key)
            if kept is not None:
                status, data, headers, content_type = kept
                return Reply(status, data, dict(headers), content_type)
            reply = build()
            if reply.status == 200 and reply.body is not None:
                data = reply.body if isinstance(reply.body, bytes) else dumps(reply.body)
                if len(self.page_cache) >= PAGE_CACHE_MAX:
                    self.page_cache.clear()
                self.page_cache[key] = (reply.status, data, dict(reply.headers), reply.content_type)
                reply = Reply(reply.status, data, dict(reply.headers), reply.content_type)
            return reply
