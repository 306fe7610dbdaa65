"""The sandbox: Entra login, Microsoft Graph v1.0 and the Coconut API on 127.0.0.1.

    python3 tests/sandbox/serve.py --scenario FILE --vars-out FILE [--latency-ms N] [--port-base N]

The contract is ../shared/sandbox.md (and the Coconut details in docs/architecture.md).
One process, three HTTPS listeners (login, graph, coconut) with certificates from one
throwaway CA; writing the vars file is the ready signal; SIGTERM/SIGINT stop it.

Control endpoints, under ``/_sandbox`` on the Coconut listener, no auth:

- ``GET /state``, ``PUT /state`` (scenario format; PUT replaces everything, regenerates
  missing ids and invalidates every Graph delta token).
- ``GET /requests``, ``DELETE /requests``: the request log, oldest first,
  ``{service, method, path, status}``; ``status`` is null for a dropped connection.
- ``GET /faults``, ``PUT /faults``: injected faults (see ``Fault``). ``times: null`` (or a
  negative number) means forever. Faults are tried in list order; the first that fires wins.
  ``delay: seconds`` without ``status`` serves the request normally and answers that much
  later (a slow response: past a client's timeout the write is done but its answer lost).
- ``PATCH /entra``, ``PATCH /coconut``: each top-level key given replaces that key of the
  part (e.g. ``{"users": [...]}`` or ``{"token_lifetime_seconds": 5}``). For a list of
  records (entra: users, groups, applications; coconut: users, locations, user_groups,
  api_tokens) an object ``{"add": [...], "update": [{id, ...fields}], "remove": [ids]}``
  edits the list instead: update merges the given fields into the record with that id
  (``app_id`` for applications); remove takes ids; add appends (missing ids generated).
- ``POST /delta/invalidate``: every Graph delta and skip token answers 410 from now on.

Extra scenario keys the sandbox understands: ``entra.token_lifetime_seconds`` (3599),
``entra.secret_propagation_seconds`` (0), ``entra.delta_members_per_item`` (500: like
Graph, a big group's ``members@delta`` is split over several entries of the same group),
``coconut.unique_object_id`` (true; false drops the 409 ``duplicate_object_id`` on a second staff record
with the same Entra object id), ``coconut.invites`` (written by the sandbox: one ``{user_id, email, sent_at}`` per
``meta.send_invite: true``). Secrets may carry ``start`` (ISO time; set by addPassword).
"""

import argparse
import base64
import collections
import datetime
import hashlib
import io
import json
import os
import re
import secrets
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jwt
import trustme
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes

SERVICES = ("login", "graph", "coconut")

# Graph's default property set for a user: accountEnabled, department, employeeId... need $select.
USER_DEFAULT_PROPERTIES = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                           "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")
USER_KNOWN_PROPERTIES = frozenset(USER_DEFAULT_PROPERTIES + (
    "accountEnabled", "department", "employeeId", "employeeType", "companyName", "city", "country", "state",
    "streetAddress", "postalCode", "usageLocation", "mailNickname", "onPremisesSamAccountName",
    "onPremisesImmutableId", "onPremisesSyncEnabled", "createdDateTime", "userType", "employeeHireDate",
    "otherMails", "proxyAddresses", "faxNumber", "ageGroup", "deletedDateTime"))
GROUP_DEFAULT_PROPERTIES = ("id", "displayName", "description", "mail", "mailEnabled", "mailNickname",
                            "securityEnabled", "groupTypes", "createdDateTime")

ROLES_GROUPS = ("GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
ROLES_USERS = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
ROLES_APPS = ("Application.ReadWrite.OwnedBy", "Application.ReadWrite.All")

COCONUT_USER_FIELDS = ("first_name", "last_name", "email", "username", "external_id", "job_title", "language",
                       "role", "status", "locations", "user_group_id", "integration")
COCONUT_USER_DEFAULTS = {"username": None, "external_id": None, "job_title": None, "language": "en", "role": 10,
                         "status": "active", "locations": [], "user_group_id": None, "integration": None}
COCONUT_ROLES = frozenset({5, 10, 13, 15, 20, 30})
COCONUT_DEFAULT_LIMIT = 25
COCONUT_MAX_LIMIT = 500
BULK_MAX = 100
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
JSONAPI = "application/vnd.api+json"
GRAPH_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
MAX_DELTA_TOKENS = 64
PAGE_CACHE_MAX = 2048  # encoded list pages kept at once; more than 100,000 users in pages of 500 and members in pages of 999


def now_utc():
    return datetime.datetime.now(datetime.UTC)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    if isinstance(text, datetime.datetime):
        moment = text
    else:
        moment = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def staff_record(ident, fields):
    """A Coconut user in the usual field order, defaults filled in; unknown scenario fields kept at the end."""
    record = {"id": ident}
    for name in COCONUT_USER_FIELDS:
        record[name] = fields.get(name, COCONUT_USER_DEFAULTS.get(name))
    record.update((k, v) for k, v in fields.items() if k not in record)
    return record


def new_guid():
    return str(uuid.uuid4())


class Reply(Exception):
    """A finished answer; raised from anywhere in a route to stop handling."""

    def __init__(self, status, body=None, headers=None, content_type="application/json"):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.content_type = content_type


def login_error(status, error, code, description, host=""):
    return Reply(status, {
        "error": error,
        "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {new_guid()}\r\nCorrelation ID: {new_guid()}\r\nTimestamp: {iso(now_utc())}",
        "error_codes": [code], "timestamp": now_utc().strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": new_guid(), "correlation_id": new_guid(), "error_uri": f"{host}/error?code={code}"})


GRAPH_CODES = {400: "BadRequest", 401: "InvalidAuthenticationToken", 403: "Authorization_RequestDenied",
               404: "Request_ResourceNotFound", 409: "Conflict", 410: "Gone", 429: "TooManyRequests",
               500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}


def graph_error(status, code=None, message=None, headers=None):
    rid = new_guid()
    return Reply(status, {"error": {"code": code or GRAPH_CODES.get(status, "UnknownError"),
                                    "message": message or f"The service answered {status}.",
                                    "innerError": {"date": iso(now_utc()), "request-id": rid, "client-request-id": rid}}},
                 headers=headers)


COCONUT_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
                  409: "Conflict", 415: "Unsupported Media Type", 422: "Unprocessable Entity", 429: "Too Many Requests",
                  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
COCONUT_CODES = {400: "bad_request", 401: "token_invalid", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
                 422: "validation_failed", 429: "too_many_requests", 500: "server_error", 502: "bad_gateway",
                 503: "service_unavailable", 504: "gateway_timeout"}


def coconut_error_object(status, code=None, detail=None, pointer=None, parameter=None, meta=None):
    error = {"status": str(status), "code": code or COCONUT_CODES.get(status, "error"),
             "title": COCONUT_TITLES.get(status, "Error"), "detail": detail or f"The service answered {status}."}
    if pointer is not None:
        error["source"] = {"pointer": pointer}
    if parameter is not None:
        error["source"] = {"parameter": parameter}
    if meta is not None:
        error["meta"] = meta
    return error


def coconut_error(status, code=None, detail=None, headers=None, **kwargs):
    return Reply(status, {"errors": [coconut_error_object(status, code, detail, **kwargs)]}, headers=headers, content_type=JSONAPI)


def default_error_body(service, status, headers):
    if service == "login":
        error = "temporarily_unavailable" if status in (429, 503) else "server_error" if status >= 500 else "invalid_request"
        return login_error(status, error, 50196 if status == 429 else 90033, f"The service answered {status}.").body
    if service == "graph":
        return graph_error(status).body
    return coconut_error(status).body


class Fault:
    """One injected fault: of the requests matching service, method and the path regex (searched in
    path+query), those after the first ``after`` get this answer ``times`` times (null: forever)."""

    def __init__(self, spec):
        self.spec = spec
        self.service = spec.get("service")
        self.method = (spec.get("method") or "").upper() or None
        self.path = re.compile(spec.get("path") or "")
        self.status = int(spec.get("status") or 503)
        self.headers = {str(k): str(v) for k, v in (spec.get("headers") or {}).items()}
        self.body = spec.get("body")
        self.times = spec["times"] if "times" in spec else 1
        self.after = int(spec.get("after") or 0)
        self.reset = bool(spec.get("reset"))
        self.delay = float(spec.get("delay") or 0)
        # A delay alone is a slow answer, not a failure: the request is served, late.
        self.serve = self.delay > 0 and "status" not in spec and not self.reset
        self.seen = 0
        self.fired = 0

    def matches(self, service, method, path):
        return ((self.service is None or self.service == service) and (self.method is None or self.method == method)
                and self.path.search(path) is not None)

    def take(self):
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.times is not None and self.times >= 0 and self.fired >= self.times:
            return False
        self.fired += 1
        return True


# ----------------------------------------------------------------------------------------------
# State


def _edit_records(current, spec, id_key, make_id):
    """Apply a PATCH spec to a list of records: a list replaces; {add, update, remove} edits."""
    if isinstance(spec, list):
        return spec
    if not isinstance(spec, dict):
        raise Reply(400, {"error": "a list or an object with add/update/remove"})
    removed = {str(i) for i in spec.get("remove") or []}
    updates = {str(u[id_key]): u for u in spec.get("update") or []}
    missing = set(updates) - {str(r.get(id_key)) for r in current}
    if missing:
        raise Reply(400, {"error": f"update names unknown ids: {sorted(missing)}"})
    records = []
    for record in current:
        key = str(record.get(id_key))
        if key in removed:
            continue
        records.append({**record, **updates[key]} if key in updates else record)
    for record in spec.get("add") or []:
        records.append(dict(record) if id_key in record else {id_key: make_id(records), **record})
    return records


def _next_int(records):
    return max((int(r["id"]) for r in records if str(r.get("id", "")).isdigit()), default=0) + 1


class Sandbox:
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
        self.users_by_upn = {str(u.get("userPrincipalName", "")).lower(): u for u in users if u.get("userPrincipalName")}
        self.groups_by_id = {g["id"]: g for g in groups}
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
        next_id = max(_next_int(coconut.get("users") or []), 101)
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
        for user in users.values():
            oid = (user.get("integration") or {}).get("object_id")
            if oid:
                self.object_ids.setdefault(oid, user["id"])

    @staticmethod
    def _with_int_ids(records, defaults):
        out, next_id = [], _next_int(records)
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

    # -- control -----------------------------------------------------------------------------

    def control(self, method, path, body):
        route = path.split("?", 1)[0][len("/_sandbox"):].rstrip("/")
        if route == "/state" and method == "GET":
            raise Reply(200, self.dump())
        if route == "/state" and method == "PUT":
            try:
                self.load(body)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise Reply(400, {"error": f"bad scenario: {exc}"}) from None
            raise Reply(204)
        if route == "/requests" and method == "GET":
            with self.lock:
                raise Reply(200, list(self.request_log))
        if route == "/requests" and method == "DELETE":
            with self.lock:
                self.request_log.clear()
            raise Reply(204)
        if route == "/faults" and method == "GET":
            with self.lock:
                raise Reply(200, [{**f.spec, "seen": f.seen, "fired": f.fired} for f in self.faults])
        if route == "/faults" and method == "PUT":
            if not isinstance(body, list):
                raise Reply(400, {"error": "faults must be a list"})
            try:
                faults = [Fault(spec) for spec in body]
            except (re.error, TypeError, ValueError, AttributeError) as exc:
                raise Reply(400, {"error": f"bad fault: {exc}"}) from None
            with self.lock:
                self.faults = faults
            raise Reply(204)
        if route in ("/entra", "/coconut") and method == "PATCH":
            if not isinstance(body, dict):
                raise Reply(400, {"error": "body must be an object"})
            with self.lock:
                self.patch_entra(body) if route == "/entra" else self.patch_coconut(body)
            raise Reply(204)
        if route == "/delta/invalidate" and method == "POST":
            with self.lock:
                self.delta_tokens.clear()
                self.delta_pages.clear()
            raise Reply(204)
        raise Reply(404, {"error": f"no control endpoint {method} {route}"})

    def patch_entra(self, body):
        entra = dict(self.entra)
        for key, value in body.items():
            if key in ("users", "groups", "applications"):
                value = _edit_records(entra.get(key) or [], value, "id" if key != "applications" else "app_id", lambda _r: new_guid())
            entra[key] = value
        self.set_entra(entra)

    def patch_coconut(self, body):
        coconut = self.dump()["coconut"]
        for key, value in body.items():
            if key in ("users", "locations", "user_groups"):
                value = _edit_records(coconut.get(key) or [], value, "id", _next_int)
            elif key == "api_tokens":
                value = _edit_records(coconut.get(key) or [], value, "id", lambda r: f"t{len(r) + 1}")
            coconut[key] = value
        self.set_coconut(coconut)

    # ==========================================================================================
    # Entra login

    def login(self, method, path, form):
        host = self.urls["login"]
        match = re.fullmatch(r"/([^/]+)/(v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token)", path)
        if not match:
            raise login_error(404, "invalid_request", 900561, f"The endpoint {path} does not exist.", host)
        tenant, what = match.groups()
        if tenant != self.entra["tenant_id"]:
            raise login_error(400, "invalid_tenant", 90002,
                              f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", host)
        token_endpoint = f"{host}/{tenant}/oauth2/v2.0/token"
        if what.startswith("v2.0"):
            if method != "GET":
                raise login_error(405, "invalid_request", 900561, "Use GET.", host)
            raise Reply(200, {"token_endpoint": token_endpoint, "authorization_endpoint": f"{host}/{tenant}/oauth2/v2.0/authorize",
                              "issuer": f"{host}/{tenant}/v2.0", "jwks_uri": f"{host}/{tenant}/discovery/v2.0/keys",
                              "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                              "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                              "tenant_region_scope": "NA", "cloud_instance_name": "sandbox"})
        if method != "POST":
            raise login_error(405, "invalid_request", 900561, "The token endpoint only accepts POST.", host)
        return self.issue_token(form, token_endpoint, host)

    def issue_token(self, form, token_endpoint, host):
        if form.get("grant_type") != "client_credentials":
            raise login_error(400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{form.get('grant_type')}'.", host)
        client_id = form.get("client_id", "")
        if not form.get("scope", "").endswith("/.default"):
            raise login_error(400, "invalid_scope", 1002012,
                              (f"The provided value for scope {form.get('scope')} is not valid. Client credential flows must have a "
                               "scope value with /.default suffixed to the resource identifier (application ID URI)."), host)
        assertion = form.get("client_assertion")
        if not client_id and assertion:
            try:
                client_id = jwt.decode(assertion, options={"verify_signature": False}).get("iss", "")
            except jwt.PyJWTError:
                client_id = ""
        app = next((a for a in self.entra["applications"] if a["app_id"] == client_id), None)
        if app is None:
            raise login_error(400, "unauthorized_client", 700016,
                              (f"Application with identifier '{client_id}' was not found in the directory '{self.entra['tenant_id']}'. "
                               "This can happen if the application has not been installed by the administrator of the tenant or consented "
                               "to by any user in the tenant. You may have sent your authentication request to the wrong tenant."), host)
        if "client_secret" in form:
            self.check_secret(app, form["client_secret"], host)
        elif assertion:
            if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                raise login_error(400, "invalid_request", 700232, "Unsupported client_assertion_type.", host)
            self.check_assertion(app, assertion, token_endpoint, host)
        else:
            raise login_error(401, "invalid_client", 7000216,
                              "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.", host)
        lifetime = int(self.entra["token_lifetime_seconds"])
        now = int(time.time())
        claims = {"aud": "https://graph.microsoft.com", "iss": f"https://sts.windows.net/{self.entra['tenant_id']}/",
                  "iat": now, "nbf": now, "exp": now + lifetime, "appid": app["app_id"], "tid": self.entra["tenant_id"],
                  "roles": list(app.get("roles") or []), "sub": app["id"], "oid": app["id"], "uti": secrets.token_urlsafe(12)}
        token = jwt.encode(claims, self.token_key, algorithm="HS256")
        raise Reply(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token})

    def check_secret(self, app, text, host):
        now = now_utc()
        for secret in app.get("secrets") or []:
            if not secrets.compare_digest(str(secret.get("text")).encode(), str(text).encode()):
                continue
            if secret.get("end") and parse_iso(secret["end"]) <= now:
                raise login_error(401, "invalid_client", 7000222,
                                  (f"The provided client secret keys for app '{app['app_id']}' are expired. Visit the Azure portal to create "
                                   "new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for "
                                   "added security: https://aka.ms/certCreds."), host)
            delay = float(self.entra.get("secret_propagation_seconds") or 0)
            if secret.get("start") and (now - parse_iso(secret["start"])).total_seconds() < delay:
                break  # not replicated yet: answers like a wrong secret, as Entra does
            return
        raise login_error(401, "invalid_client", 7000215,
                          ("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
                           f"not the client secret ID, for a secret added to app '{app['app_id']}'."), host)

    def check_assertion(self, app, assertion, token_endpoint, host):
        failure = "no certificate is registered for the application"
        for pem in app.get("certificates") or []:
            try:
                key = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem).public_key()
                claims = jwt.decode(assertion, key, algorithms=["RS256", "PS256"], audience=token_endpoint,
                                    options={"require": ["exp", "aud", "iss", "sub"]}, leeway=300)
            except jwt.ExpiredSignatureError:
                raise login_error(401, "invalid_client", 700024, "Client assertion is not within its valid time range.", host) from None
            except jwt.InvalidAudienceError:
                failure = f"the audience must be {token_endpoint}"
                continue
            except (jwt.PyJWTError, ValueError) as exc:
                failure = str(exc)
                continue
            if claims.get("iss") != app["app_id"] or claims.get("sub") != app["app_id"]:
                raise login_error(401, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter.", host)
            return
        raise login_error(401, "invalid_client", 700027, f"Client assertion failed signature validation ({failure}).", host)

    # ==========================================================================================
    # Microsoft Graph

    def graph(self, method, path, query, raw_query, body, headers):
        claims = self.graph_claims(headers.get("Authorization", ""))
        path = re.sub(r"/{2,}", "/", path)
        if not path.startswith("/v1.0/"):
            raise graph_error(400, "BadRequest", f"Invalid version: {path.split('/')[1] if '/' in path else path}")
        parts = [unquote(p) for p in path[len("/v1.0/"):].rstrip("/").split("/")]
        ctx = GraphRequest(self, claims, method, path, query, raw_query, body, headers.get("Prefer") or "")
        head = parts[0]
        if method == "GET" and head in ("groups", "users") and "delta" not in parts:
            # Paged lists: the same URL under the same roles and Prefer answers the same bytes until a change.
            key = ("graph", path, raw_query, tuple(sorted(map(str, claims.get("roles") or []))), headers.get("Prefer") or "")
            return self.cached_page(key, lambda: ctx.groups(parts[1:]) if head == "groups" else ctx.users(parts[1:]))
        if method != "GET" and not (head.startswith("applications") and method == "POST"):
            raise graph_error(405, "Request_BadRequest", f"Method {method} is not allowed here.")
        if head == "groups":
            return ctx.groups(parts[1:])
        if head == "users":
            return ctx.users(parts[1:])
        if head.startswith("applications"):
            return ctx.applications(parts)
        raise graph_error(400, "BadRequest", f"Resource not found for the segment '{head}'.")

    def graph_claims(self, authorization):
        scheme, _unused, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        known = self.token_claims.get(token)
        if known is not None and known["exp"] > time.time():
            return known  # verified before, unexpired, and nothing has changed since (changed() forgets)
        try:
            claims = jwt.decode(token, self.token_key, algorithms=["HS256"], options={"verify_aud": False, "require": ["exp"]})
        except jwt.ExpiredSignatureError:
            raise graph_error(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.") from None
        except jwt.PyJWTError:
            raise graph_error(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, or its signature is invalid.") from None
        if claims.get("tid") != self.entra["tenant_id"]:
            raise graph_error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience or tenant.")
        if len(self.token_claims) >= PAGE_CACHE_MAX:
            self.token_claims.clear()
        self.token_claims[token] = claims
        return claims

    def members_of(self, group_id, transitive, users_only):
        """Member ids of a group (cached until the directory changes): direct or transitive, de-duplicated."""
        key = (group_id, transitive, users_only)
        cached = self.member_cache.get(key)
        if cached is not None:
            return cached
        seen, out = set(), []
        stack, visited = [group_id], {group_id}
        while stack:
            group = self.groups_by_id.get(stack.pop(0))
            for member in group["members"] if group else ():
                if member in self.groups_by_id:
                    if transitive and member not in visited:
                        visited.add(member)
                        stack.append(member)
                    if users_only:
                        continue
                elif member not in self.users_by_id:
                    continue
                if member not in seen:
                    seen.add(member)
                    out.append(member)
            if not transitive:
                break
        self.member_cache[key] = out
        return out

    def remember_delta(self, record):
        token = secrets.token_urlsafe(24)
        self.delta_tokens[token] = record
        while len(self.delta_tokens) > MAX_DELTA_TOKENS:
            self.delta_tokens.popitem(last=False)
        return token

    # ==========================================================================================
    # Coconut

    def coconut_api(self, method, path, query, body, headers):
        token = self.coconut_token(headers.get("Authorization", ""))
        parts = path.rstrip("/").split("/")
        if parts[:3] != ["", "api", "v2"] or len(parts) < 4:
            raise coconut_error(404, "not_found", f"No route {method} {path}.")
        api = CoconutRequest(self, token, method, query, body, headers)
        resource, rest = parts[3], parts[4:]
        routes = {"users": api.users, "user-groups": api.user_groups, "locations": api.locations,
                  "integrations": api.integrations, "api-tokens": api.api_tokens}
        if resource not in routes or len(rest) > 1:
            raise coconut_error(404, "not_found", f"No route {method} {path}.")
        if method == "GET" and resource == "users" and not rest:
            key = ("coconut", path, tuple(sorted((k, tuple(v)) for k, v in query.items())))
            return self.cached_page(key, lambda: api.users(None))
        return routes[resource](rest[0] if rest else None)

    def coconut_token(self, authorization):
        scheme, _unused, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value:
            raise coconut_error(401, "token_invalid", "An API token is required: Authorization: Bearer <token>.")
        for token in self.coconut["api_tokens"]:
            if secrets.compare_digest(str(token["value"]).encode(), value.encode()):
                if token.get("revoked"):
                    raise coconut_error(401, "token_revoked", "This API token has been revoked.")
                return token
        raise coconut_error(401, "token_invalid", "The API token is not valid.")

    def staff_ids(self, status=None, email=None):
        """Ordered staff ids matching the filters (cached per state version)."""
        if status is None and email is None:
            return self.staff_order
        key = (status, email)
        cached = self.staff_list_cache.get(key)
        if cached and cached[0] == self.staff_version:
            return cached[1]
        ids = [i for i in self.staff_order
               if (status is None or self.staff[i].get("status") == status)
               and (email is None or str(self.staff[i].get("email") or "").casefold() == email)]
        self.staff_list_cache[key] = (self.staff_version, ids)
        return ids

    def store_staff(self, user, previous=None):
        old_oid = ((previous or {}).get("integration") or {}).get("object_id")
        if old_oid and self.object_ids.get(old_oid) == user["id"]:
            del self.object_ids[old_oid]
        new_oid = (user.get("integration") or {}).get("object_id")
        if new_oid:
            self.object_ids[new_oid] = user["id"]
        if user["id"] not in self.staff:
            self.staff_order.append(user["id"])
            self.next_staff_id = max(self.next_staff_id, user["id"] + 1)
        self.staff[user["id"]] = user
        self.staff_version += 1
        self.changed()

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


class GraphRequest:
    """One Graph request: routing, query options, paging."""

    def __init__(self, sandbox, claims, method, path, query, raw_query, body, prefer):
        self.sb = sandbox
        self.prefer = prefer
        self.claims = claims
        self.method = method
        self.path = path
        self.query = query
        self.raw_query = raw_query
        self.body = body
        self.base = sandbox.urls["graph"] + "/v1.0"

    def need(self, roles):
        if not set(self.claims.get("roles") or ()) & set(roles):
            raise graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")

    def q(self, name):
        value = self.query.get(name)
        return value[0] if value else None

    def top(self, default=100):
        raw = self.q("$top")
        if raw is None:
            return default
        if not raw.isdigit() or not 1 <= int(raw) <= 999:
            raise graph_error(400, "Request_UnsupportedQuery", f"Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive.")
        return int(raw)

    def select(self, known=None):
        raw = self.q("$select")
        if raw is None:
            return None
        names = [n.strip() for n in raw.split(",") if n.strip()]
        for name in names:
            if known is not None and name not in known:
                raise graph_error(400, "Request_BadRequest", f"Could not find a property named '{name}' on type 'microsoft.graph.user'.")
        return names

    def next_link(self, token):
        kept = [p for p in self.raw_query.split("&") if p and not re.match(r"(\$|%24)skiptoken=", p, re.IGNORECASE)]
        kept.append("$skiptoken=" + token)
        return self.sb.urls["graph"] + self.path + "?" + "&".join(kept)

    def skip(self):
        raw = self.q("$skiptoken")
        if raw is None:
            return 0
        try:
            kind, _unused, offset = base64.urlsafe_b64decode(raw.encode() + b"==").decode().partition(":")
            if kind != "skip":
                raise ValueError(kind)
            return int(offset)
        except (ValueError, UnicodeDecodeError):
            raise graph_error(400, "Request_BadRequest", "Invalid skip token.") from None

    def page(self, items, render, context, top=100):
        """One page of `items` (any sequence), rendered, with @odata.nextLink when more remain."""
        top = self.top(top)
        start = self.skip()
        body = {"@odata.context": f"{self.base}/$metadata#{context}", "value": [render(i) for i in items[start:start + top]]}
        if start + top < len(items):
            token = base64.urlsafe_b64encode(f"skip:{start + top}".encode()).decode().rstrip("=")
            body["@odata.nextLink"] = self.next_link(token)
        return Reply(200, body, content_type=GRAPH_JSON)

    def user_view(self, user, fields, typed):
        item = {"@odata.type": "#microsoft.graph.user"} if typed else {}
        item["id"] = user["id"]
        for field in fields:
            if field != "id":
                item[field] = user.get(field)
        return item

    def group_view(self, group, fields, typed):
        item = {"@odata.type": "#microsoft.graph.group"} if typed else {}
        item["id"] = group["id"]
        defaults = {"mailEnabled": False, "securityEnabled": True, "groupTypes": []}
        for field in fields:
            if field not in ("id", "members"):
                item[field] = group.get(field, defaults.get(field))
        return item

    def filter_clauses(self, allowed):
        """`$filter=prop eq 'v' [or prop eq 'v']...` -> [(prop, value)]; anything else is unsupported."""
        raw = self.q("$filter")
        if raw is None:
            return None
        clauses = []
        for clause in re.split(r"\s+or\s+", raw.strip()):
            match = re.fullmatch(r"\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*", clause)
            if not match or match.group(1) not in allowed:
                raise graph_error(400, "Request_UnsupportedQuery", f"Unsupported or invalid query filter clause specified: '{clause}'.")
            clauses.append((match.group(1), match.group(2).replace("''", "'")))
        return clauses

    def not_found(self, ident):
        return graph_error(404, "Request_ResourceNotFound",
                           f"Resource '{ident}' does not exist or one of its queried reference-property objects are not present.")

    # -- groups ------------------------------------------------------------------------------

    def groups(self, parts):
        self.need(ROLES_GROUPS)
        sb = self.sb
        if not parts:
            clauses = self.filter_clauses({"displayName", "id", "mailNickname"})
            groups = sb.entra["groups"]
            if clauses:
                groups = [g for g in groups if any(str(g.get(p)).casefold() == v.casefold() for p, v in clauses)]
            fields = self.select() or GROUP_DEFAULT_PROPERTIES
            return self.page(groups, lambda g: self.group_view(g, fields, False), "groups")
        if parts[0] == "delta":
            return self.groups_delta()
        group = sb.groups_by_id.get(parts[0])
        if group is None:
            raise self.not_found(parts[0])
        if len(parts) == 1:
            fields = self.select() or GROUP_DEFAULT_PROPERTIES
            return Reply(200, {"@odata.context": f"{self.base}/$metadata#groups/$entity", **self.group_view(group, fields, False)},
                         content_type=GRAPH_JSON)
        # `graph.` is Graph's alias of the `microsoft.graph.` namespace; Microsoft's SDK casts with it.
        if parts[1] not in ("members", "transitiveMembers") or len(parts) > 3 or (len(parts) == 3 and parts[2] not in ("microsoft.graph.user", "graph.user")):
            raise graph_error(400, "BadRequest", f"Resource not found for the segment '{'/'.join(parts[1:])}'.")
        cast = len(parts) == 3
        fields = self.select(sb.user_properties if cast else None) or USER_DEFAULT_PROPERTIES
        if any(f != "id" for f in fields):
            self.need(ROLES_USERS)
        ids = sb.members_of(group["id"], parts[1] == "transitiveMembers", cast)

        def render(member_id):
            user = sb.users_by_id.get(member_id)
            if user is not None:
                return self.user_view(user, fields, not cast)
            return self.group_view(sb.groups_by_id[member_id], [f for f in fields if f in GROUP_DEFAULT_PROPERTIES], True)
        return self.page(ids, render, "users" if cast else "directoryObjects")

    # -- delta -------------------------------------------------------------------------------
    # A delta token remembers a snapshot of what the client has seen; the next round answers
    # the difference. User records are never mutated in place, so a snapshot is a dict of refs.

    def groups_delta(self):
        self.need(ROLES_GROUPS)
        latest = self.q("$deltatoken") == "latest"  # as in Graph: no enumeration, a deltaLink tracking changes from now on
        state = None if latest else self.delta_state("groups")
        if state is not None:
            return state
        clauses = self.filter_clauses({"id"})
        record = {"kind": "groups", "wanted": [v for _unused, v in clauses] if clauses else None,
                  "fields": self.select() or ["displayName", "description", "members"], "size": self.page_size()}
        record["snapshot"] = self.group_snapshot(record["wanted"])
        return self.delta_page(record, [] if latest else self.group_delta_items(record, None), 0)

    def group_snapshot(self, wanted):
        sb = self.sb
        return {g["id"]: (g, tuple(m for m in g["members"] if m in sb.users_by_id or m in sb.groups_by_id))
                for g in sb.entra["groups"] if wanted is None or g["id"] in wanted}

    def group_delta_items(self, record, previous):
        sb = self.sb
        fields, chunk = record["fields"], max(1, int(sb.entra.get("delta_members_per_item") or 500))

        def member(ident, removed=None):
            kind = "group" if ident in sb.groups_by_id or (removed and ident in previous_groups) else "user"
            item = {"@odata.type": f"#microsoft.graph.{kind}", "id": ident}
            if removed:
                item["@removed"] = {"reason": removed}
            return item
        previous_groups = set(previous or ())
        items = []
        for gid, (group, members) in record["snapshot"].items():
            old = previous.get(gid) if previous is not None else None
            base = {"id": gid, **{f: group.get(f) for f in fields if f not in ("id", "members")}}
            if old is None:
                changes = [member(m) for m in members]
            else:
                old_group, old_members = old
                old_set, new_set = set(old_members), set(members)
                changes = [member(m) for m in members if m not in old_set]
                changes += [member(m, "changed" if m in sb.users_by_id or m in sb.groups_by_id else "deleted")
                            for m in old_members if m not in new_set]
                if not changes and all(old_group.get(f) == group.get(f) for f in fields if f not in ("id", "members")):
                    continue
            if "members" not in fields or not changes:
                items.append(base)
                continue
            for start in range(0, len(changes), chunk):
                items.append({**base, "members@delta": changes[start:start + chunk]})
        items += [{"id": gid, "@removed": {"reason": "changed"}} for gid in previous or () if gid not in record["snapshot"]]
        return items

    def users_delta(self):
        self.need(ROLES_USERS)
        sb = self.sb
        latest = self.q("$deltatoken") == "latest"
        state = None if latest else self.delta_state("users")
        if state is not None:
            return state
        fields = self.select(sb.user_properties) or list(USER_DEFAULT_PROPERTIES)
        record = {"kind": "users", "snapshot": dict(sb.users_by_id), "fields": fields, "size": self.page_size()}
        return self.delta_page(record, [] if latest else [self.user_view(u, fields, False) for u in sb.entra["users"]], 0)

    def stale(self):
        return graph_error(410, "syncStateNotFound", "The sync state generation is not found. Re-sync from scratch (no delta token).")

    def delta_state(self, kind):
        """Continue a round ($skiptoken) or start one from a $deltatoken; None = start a fresh round."""
        sb = self.sb
        skip, delta = self.q("$skiptoken"), self.q("$deltatoken")
        if skip is not None:
            pages = sb.delta_pages.get(skip)
            if pages is None or pages["record"]["kind"] != kind:
                raise self.stale()
            return self.delta_page(pages["record"], pages["items"], pages["start"])
        if delta is None:
            return None
        old = sb.delta_tokens.get(delta)
        if old is None or old["kind"] != kind:
            raise self.stale()
        if "$top" in self.query or "odata.maxpagesize" in self.prefer:
            old = {**old, "size": self.page_size()}
        if kind == "users":
            record = {**old, "snapshot": dict(sb.users_by_id)}
            items = [self.user_view(user, old["fields"], False) for uid, user in record["snapshot"].items()
                     if old["snapshot"].get(uid) is not user and old["snapshot"].get(uid) != user]
            items += [{"id": uid, "@removed": {"reason": "changed"}} for uid in old["snapshot"] if uid not in record["snapshot"]]
        else:
            record = {**old, "snapshot": self.group_snapshot(old["wanted"])}
            items = self.group_delta_items(record, old["snapshot"])
        return self.delta_page(record, items, 0)

    def delta_page(self, record, items, start):
        sb = self.sb
        size = record["size"]
        body = {"@odata.context": f"{self.base}/$metadata#{record['kind']}(delta)", "value": items[start:start + size]}
        base = f"{self.base}/{record['kind']}/delta?"
        if start + size < len(items):
            token = secrets.token_urlsafe(24)
            sb.delta_pages[token] = {"record": record, "items": items, "start": start + size}
            while len(sb.delta_pages) > MAX_DELTA_TOKENS * 4:
                sb.delta_pages.popitem(last=False)
            body["@odata.nextLink"] = base + "$skiptoken=" + token
        else:
            body["@odata.deltaLink"] = base + "$deltatoken=" + sb.remember_delta(record)
        return Reply(200, body, content_type=GRAPH_JSON)

    def page_size(self):
        prefer = re.search(r"odata\.maxpagesize=(\d+)", self.prefer)
        return max(1, min(999, int(prefer.group(1)))) if prefer else self.top(100)

    # -- users -------------------------------------------------------------------------------

    def users(self, parts):
        sb = self.sb
        if parts and parts[0] == "delta":
            return self.users_delta()
        self.need(ROLES_USERS)
        fields = self.select(sb.user_properties) or USER_DEFAULT_PROPERTIES
        if not parts:
            clauses = self.filter_clauses(sb.user_properties)
            users = sb.entra["users"]
            if clauses:
                users = [u for u in users if any(str(u.get(p)).casefold() == v.casefold() for p, v in clauses)]
            return self.page(users, lambda u: self.user_view(u, fields, False), "users")
        user = sb.users_by_id.get(parts[0]) or sb.users_by_upn.get(parts[0].lower())
        if user is None or len(parts) > 1:
            raise self.not_found(parts[0])
        return Reply(200, {"@odata.context": f"{self.base}/$metadata#users/$entity", **self.user_view(user, fields, False)},
                     content_type=GRAPH_JSON)

    # -- applications ------------------------------------------------------------------------

    def applications(self, parts):
        self.need(ROLES_APPS)
        sb = self.sb
        head = parts[0]
        match = re.fullmatch(r"applications\(appId='([^']*)'\)", head)
        if match:
            app = next((a for a in sb.entra["applications"] if a["app_id"] == match.group(1)), None)
            ident, rest = match.group(1), parts[1:]
        elif head == "applications" and len(parts) == 1:
            if self.method != "GET":
                raise graph_error(405, "Request_BadRequest", "Method not allowed.")
            clauses = self.filter_clauses({"appId", "displayName", "id"})
            names = {"appId": "app_id", "displayName": "display_name", "id": "id"}
            apps = [a for a in sb.entra["applications"] if self.may_manage(a)
                    and (not clauses or any(a.get(names[p]) == v for p, v in clauses))]
            return self.page(apps, self.app_view, "applications")
        elif head == "applications":
            app = next((a for a in sb.entra["applications"] if a["id"] == parts[1]), None)
            ident, rest = parts[1], parts[2:]
        else:
            raise graph_error(400, "BadRequest", f"Resource not found for the segment '{head}'.")
        if app is None or not self.may_manage(app):
            raise self.not_found(ident)
        if not rest:
            if self.method != "GET":
                raise graph_error(405, "Request_BadRequest", "Method not allowed.")
            return Reply(200, {"@odata.context": f"{self.base}/$metadata#applications/$entity", **self.app_view(app)}, content_type=GRAPH_JSON)
        if self.method != "POST" or rest not in (["addPassword"], ["removePassword"]):
            raise graph_error(400, "BadRequest", f"Resource not found for the segment '{'/'.join(rest)}'.")
        body = self.body if isinstance(self.body, dict) else {}
        if rest[0] == "addPassword":
            return self.add_password(app, body)
        key_id = body.get("keyId")
        if not any(s["key_id"] == key_id for s in app["secrets"]):
            raise graph_error(400, "Request_BadRequest", f"No password credential found with keyId '{key_id}'.")
        self.replace_app(app, {**app, "secrets": [s for s in app["secrets"] if s["key_id"] != key_id]})
        return Reply(204)

    def may_manage(self, app):
        roles = set(self.claims.get("roles") or ())
        return "Application.ReadWrite.All" in roles or app["app_id"] == self.claims.get("appid") or \
            self.claims.get("appid") in (app.get("owners") or ())

    def replace_app(self, app, new):
        sb = self.sb
        sb.entra["applications"] = [new if a is app else a for a in sb.entra["applications"]]

    def add_password(self, app, body):
        wanted = body.get("passwordCredential") or {}
        start = now_utc()
        try:
            end = parse_iso(wanted["endDateTime"]) if wanted.get("endDateTime") else start + datetime.timedelta(days=730)
        except ValueError:
            raise graph_error(400, "Request_BadRequest", "Invalid endDateTime.") from None
        text = secrets.token_urlsafe(30).replace("-", "~")[:40]
        secret = {"key_id": new_guid(), "text": text, "end": iso(end), "start": iso(start), "display_name": wanted.get("displayName")}
        self.replace_app(app, {**app, "secrets": [*app["secrets"], secret]})
        return Reply(200, {"@odata.context": f"{self.base}/$metadata#microsoft.graph.passwordCredential",
                           "customKeyIdentifier": None, "displayName": secret["display_name"], "endDateTime": secret["end"],
                           "hint": text[:3], "keyId": secret["key_id"], "secretText": text, "startDateTime": secret["start"]},
                     content_type=GRAPH_JSON)

    def app_view(self, app):
        creds = [{"customKeyIdentifier": None, "displayName": s.get("display_name"), "endDateTime": s.get("end"),
                  "hint": str(s.get("text") or "")[:3], "keyId": s["key_id"], "secretText": None,
                  "startDateTime": s.get("start")} for s in app["secrets"]]
        keys = []
        for pem in app.get("certificates") or []:
            try:
                cert = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
            except ValueError:
                continue
            keys.append({"customKeyIdentifier": cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - x5t is SHA-1 by definition
                         "displayName": cert.subject.rfc4514_string(), "endDateTime": iso(cert.not_valid_after_utc),
                         "keyId": str(uuid.UUID(bytes=hashlib.md5(cert.fingerprint(hashes.SHA256())).digest())),  # noqa: S324 - stable id, not security
                         "startDateTime": iso(cert.not_valid_before_utc), "type": "AsymmetricX509Cert", "usage": "Verify"})
        return {"id": app["id"], "appId": app["app_id"], "displayName": app.get("display_name"),
                "passwordCredentials": creds, "keyCredentials": keys}


class CoconutRequest:
    """One Coconut API request: JSON:API documents, paging, validation."""

    def __init__(self, sandbox, token, method, query, body, headers):
        self.sb = sandbox
        self.token = token
        self.method = method
        self.query = query
        self.body = body
        self.bulk = "ext=bulk" in headers.get("Content-Type", "").replace(" ", "")
        self.base = sandbox.urls["coconut"] + "/api/v2"

    def not_allowed(self, allowed):
        raise coconut_error(405, "method_not_allowed", f"{self.method} is not allowed here.", headers={"Allow": ", ".join(allowed)})

    def q(self, name):
        value = self.query.get(name)
        return value[0] if value else None

    def paging(self, allowed_filters=()):
        for name in self.query:
            if name not in ("page", "limit") and name not in allowed_filters:
                raise coconut_error(400, "invalid_parameter", f"Unknown query parameter '{name}'.", parameter=name)
        values = {}
        for name, default, top in (("page", 1, None), ("limit", COCONUT_DEFAULT_LIMIT, COCONUT_MAX_LIMIT)):
            raw = self.q(name)
            if raw is None:
                values[name] = default
                continue
            if not raw.isdigit() or int(raw) < 1 or (top and int(raw) > top):
                rule = f"an integer from 1 to {top}" if top else "a positive integer"
                raise coconut_error(400, "invalid_parameter", f"'{name}' must be {rule}.", parameter=name)
            values[name] = int(raw)
        return values["page"], values["limit"]

    def listing(self, path, items, render, page, limit, extra=""):
        total = len(items)
        pages = max(1, -(-total // limit))
        start = (page - 1) * limit
        data = [render(i) for i in items[start:start + limit]]

        def link(n):
            return f"{self.base}/{path}?page={n}&limit={limit}{extra}"
        return Reply(200, {"data": data,
                           "meta": {"pagination": {"total": total, "count": len(data), "per_page": limit,
                                                   "current_page": page, "total_pages": pages}},
                           "links": {"self": link(page), "first": link(1), "prev": link(page - 1) if page > 1 else None,
                                     "next": link(page + 1) if page < pages else None, "last": link(pages)}},
                     content_type=JSONAPI)

    def document(self, kind):
        body = self.body
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise coconut_error(400, "invalid_document", "The body must be a JSON:API document with a 'data' object.", pointer="/data")
        data = body["data"]
        if data.get("type") != kind:
            raise coconut_error(409, "type_mismatch", f"data.type must be '{kind}'.", pointer="/data/type")
        attributes = data.get("attributes", {})
        if not isinstance(attributes, dict):
            raise coconut_error(422, "invalid_attributes", "attributes must be an object.", pointer="/data/attributes")
        return data, attributes

    # -- users -------------------------------------------------------------------------------

    def staff_view(self, user):
        return {"type": "users", "id": str(user["id"]), "attributes": {k: v for k, v in user.items() if k != "id"},
                "links": {"self": f"{self.base}/users/{user['id']}"}}

    def users(self, ident):
        sb = self.sb
        if ident is None:
            if self.method == "GET":
                page, limit = self.paging(("filter[status]", "filter[email]", "filter[integration.object_id]", "filter[synced]"))
                status, email = self.q("filter[status]"), self.q("filter[email]")
                if status is not None and status not in ("active", "archived"):
                    raise coconut_error(400, "invalid_parameter", "filter[status] must be active or archived.", parameter="filter[status]")
                ids = sb.staff_ids(status, email.strip().casefold() if email is not None else None)
                ids = self.integration_filters(ids)
                extra = "".join(f"&{k}={quote(v[0])}" for k, v in self.query.items() if k.startswith("filter["))
                return self.listing("users", ids, lambda i: self.staff_view(sb.staff[i]), page, limit, extra)
            if self.method == "POST":
                return self.bulk_write(self.create_user) if self.bulk else self.single_write(self.create_user, 201)
            if self.method == "PATCH":
                if not self.bulk:
                    self.not_allowed(["GET", "POST"])
                return self.bulk_write(self.update_user)
            self.not_allowed(["GET", "POST"])
        if self.method == "GET":
            return Reply(200, {"data": self.staff_view(self.find_user(ident))}, content_type=JSONAPI)
        if self.method == "PATCH":
            if self.bulk:
                raise coconut_error(400, "bulk_not_allowed", "The bulk extension applies to /users only.")
            data, _unused = self.document("users")
            if data.get("id") is not None and str(data["id"]) != ident:
                raise coconut_error(409, "id_mismatch", "data.id does not match the URL.", pointer="/data/id")
            return self.single_write(lambda d, p: self.update_user({**d, "id": ident}, p), 200)
        self.not_allowed(["GET", "PATCH"])

    def integration_filters(self, ids):
        """filter[integration.object_id]=a,b,... (at most 100 ids) and filter[synced]=true|false."""
        sb = self.sb
        object_ids, synced = self.q("filter[integration.object_id]"), self.q("filter[synced]")
        if synced is not None and synced not in ("true", "false"):
            raise coconut_error(400, "invalid_parameter", "filter[synced] must be true or false.", parameter="filter[synced]")
        if object_ids is not None:
            wanted = [o for o in object_ids.split(",") if o]
            if len(wanted) > 100:
                raise coconut_error(400, "invalid_parameter", "filter[integration.object_id] takes at most 100 ids.",
                                    parameter="filter[integration.object_id]")
            found = {sb.object_ids[o] for o in wanted if o in sb.object_ids}
            ids = [i for i in ids if i in found]
        if synced is not None:
            ids = [i for i in ids if ((sb.staff[i].get("integration") or {}).get("source") == "entra_id") == (synced == "true")]
        return ids

    def find_user(self, ident):
        user = self.sb.staff.get(int(ident)) if str(ident).isdigit() else None
        if user is None:
            raise coconut_error(404, "not_found", f"No user with id {ident}.")
        return user

    def single_write(self, write, status):
        data, _unused = self.document("users")
        meta = self.body.get("meta") or {}
        try:
            user = write(data, "/data")
        except ItemError as exc:
            raise Reply(exc.status, {"errors": [exc.error]}, content_type=JSONAPI) from None
        self.maybe_invite(user, meta)
        return Reply(status, {"data": self.staff_view(user)}, content_type=JSONAPI)

    def bulk_write(self, write):
        body = self.body
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise coconut_error(400, "invalid_document", "A bulk request needs 'data': [...].", pointer="/data")
        if len(body["data"]) > BULK_MAX:
            raise coconut_error(422, "too_many_items", f"A bulk request holds at most {BULK_MAX} items, not {len(body['data'])}.", pointer="/data")
        meta = body.get("meta") or {}
        results, errors = [], []
        for index, data in enumerate(body["data"]):
            try:
                if not isinstance(data, dict) or data.get("type") != "users":
                    raise ItemError(422, "type_mismatch", "Each item needs type 'users'.", f"/data/{index}")
                user = write(data, f"/data/{index}")
            except ItemError as exc:
                exc.error["source"] = {"pointer": f"/data/{index}"}
                results.append(None)
                errors.append(exc.error)
                continue
            self.maybe_invite(user, meta)
            results.append(self.staff_view(user))
        return Reply(200, {"data": results, "errors": errors}, content_type=JSONAPI)

    def maybe_invite(self, user, meta):
        if meta.get("send_invite") is True and self.method == "POST":
            self.sb.coconut["invites"] = [*self.sb.coconut["invites"], {"user_id": user["id"], "email": user.get("email"), "sent_at": iso(now_utc())}]

    def validate(self, attributes, pointer, creating):
        sb = self.sb
        for name in attributes:
            if name not in COCONUT_USER_FIELDS:
                raise ItemError(422, "unknown_attribute", f"Unknown attribute '{name}'.", f"{pointer}/attributes/{name}", name)
        required = ("first_name", "last_name", "email")
        for name in required:
            if (creating or name in attributes) and not (isinstance(attributes.get(name), str) and attributes[name].strip()):
                raise ItemError(422, "required", f"'{name}' is required and must be a non-empty string.", f"{pointer}/attributes/{name}", name)
        # Attributes that refer to records are integers, as the real API keeps them: a numeric string is
        # taken the way a typical API validates an integer (stored as the number), anything else is 422.
        for name in ("role", "user_group_id"):
            value = attributes.get(name)
            if isinstance(value, str) and value.strip().isdigit():
                attributes[name] = int(value)
        checks = {
            "email": lambda v: EMAIL_RE.match(v) is not None,
            "username": lambda v: v is None or isinstance(v, str),
            "external_id": lambda v: v is None or isinstance(v, str),
            "job_title": lambda v: v is None or isinstance(v, str),
            "language": lambda v: isinstance(v, str) and 2 <= len(v) <= 5,
            "role": lambda v: isinstance(v, int) and not isinstance(v, bool) and v in COCONUT_ROLES,
            "status": lambda v: v in ("active", "archived"),
            "locations": lambda v: isinstance(v, list) and all(any(loc.get("external_id") == x for loc in sb.coconut["locations"]) for x in v),
            "user_group_id": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)
                                                     and any(str(g["id"]) == str(v) for g in sb.coconut["user_groups"])),
            "integration": lambda v: v is None or (isinstance(v, dict) and set(v) <= {"source", "object_id"}
                                                   and v.get("source") == "entra_id" and isinstance(v.get("object_id"), str) and v["object_id"]),
        }
        for name, check in checks.items():
            if name in attributes and not check(attributes[name]):
                raise ItemError(422, "invalid", f"'{name}' has an invalid value.", f"{pointer}/attributes/{name}", name)

    def check_object_id(self, attributes, user_id):
        if self.sb.coconut.get("unique_object_id", True) is False:
            return  # the scenario switched the model's 409 off: only the collection's own guarantees remain
        oid = (attributes.get("integration") or {}).get("object_id")
        holder = self.sb.object_ids.get(oid) if oid else None
        if holder is not None and holder != user_id:
            raise ItemError(409, "duplicate_object_id", f"Another user already holds Entra object id {oid}.", None, meta={"id": str(holder)})

    def create_user(self, data, pointer):
        attributes = data.get("attributes") or {}
        self.validate(attributes, pointer, creating=True)
        self.check_object_id(attributes, None)
        sb = self.sb
        user = staff_record(sb.next_staff_id, attributes)
        sb.store_staff(user)
        return user

    def update_user(self, data, pointer):
        if data.get("id") is None:
            raise ItemError(422, "required", "Each item needs an id.", f"{pointer}/id")
        user = self.sb.staff.get(int(data["id"])) if str(data["id"]).isdigit() else None
        if user is None:
            raise ItemError(404, "not_found", f"No user with id {data['id']}.", pointer)
        attributes = data.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise ItemError(422, "invalid_attributes", "attributes must be an object.", f"{pointer}/attributes")
        self.validate(attributes, pointer, creating=False)
        self.check_object_id(attributes, user["id"])
        new = {**user, **attributes}
        self.sb.store_staff(new, user)
        return new

    # -- user groups, locations --------------------------------------------------------------

    def group_view(self, kind, record):
        return {"type": kind, "id": str(record["id"]), "attributes": {k: v for k, v in record.items() if k != "id"}}

    def user_groups(self, ident):
        sb = self.sb
        groups = sb.coconut["user_groups"]
        if ident is None and self.method == "GET":
            page, limit = self.paging(("filter[name]", "filter[external_id]"))
            name, ext = self.q("filter[name]"), self.q("filter[external_id]")
            items = [g for g in groups if (name is None or g.get("name") == name) and (ext is None or g.get("external_id") == ext)]
            return self.listing("user-groups", items, lambda g: self.group_view("user-groups", g), page, limit)
        if ident is None and self.method == "POST":
            _unused, attributes = self.document("user-groups")
            self.validate_group(attributes, None, creating=True)
            record = {"id": _next_int(groups), "external_id": None, **attributes}
            sb.coconut["user_groups"] = [*groups, record]
            return Reply(201, {"data": self.group_view("user-groups", record)}, content_type=JSONAPI)
        if ident is None:
            self.not_allowed(["GET", "POST"])
        record = next((g for g in groups if str(g["id"]) == ident), None)
        if record is None:
            raise coconut_error(404, "not_found", f"No user group with id {ident}.")
        if self.method == "GET":
            return Reply(200, {"data": self.group_view("user-groups", record)}, content_type=JSONAPI)
        if self.method == "PATCH":
            _unused, attributes = self.document("user-groups")
            self.validate_group(attributes, record["id"], creating=False)
            new = {**record, **attributes}
            sb.coconut["user_groups"] = [new if g is record else g for g in groups]
            return Reply(200, {"data": self.group_view("user-groups", new)}, content_type=JSONAPI)
        self.not_allowed(["GET", "PATCH"])

    def validate_group(self, attributes, own_id, creating):
        for name in attributes:
            if name not in ("name", "external_id"):
                raise coconut_error(422, "unknown_attribute", f"Unknown attribute '{name}'.", pointer=f"/data/attributes/{name}")
        if creating or "name" in attributes:
            name = attributes.get("name")
            if not (isinstance(name, str) and name.strip()):
                raise coconut_error(422, "required", "'name' is required.", pointer="/data/attributes/name")
            if any(g.get("name") == name and g["id"] != own_id for g in self.sb.coconut["user_groups"]):
                raise coconut_error(422, "taken", f"A user group named '{name}' exists.", pointer="/data/attributes/name")
        if attributes.get("external_id") is not None and not isinstance(attributes["external_id"], str):
            raise coconut_error(422, "invalid", "'external_id' must be a string or null.", pointer="/data/attributes/external_id")

    def locations(self, ident):
        locations = self.sb.coconut["locations"]
        if self.method != "GET":
            self.not_allowed(["GET"])
        if ident is None:
            page, limit = self.paging(("filter[external_id]",))
            ext = self.q("filter[external_id]")
            items = [loc for loc in locations if ext is None or loc.get("external_id") == ext]
            return self.listing("locations", items, lambda loc: self.group_view("locations", loc), page, limit)
        record = next((loc for loc in locations if str(loc["id"]) == ident), None)
        if record is None:
            raise coconut_error(404, "not_found", f"No location with id {ident}.")
        return Reply(200, {"data": self.group_view("locations", record)}, content_type=JSONAPI)

    # -- integration record, API tokens ------------------------------------------------------

    def integrations(self, ident):
        sb = self.sb
        if ident != "entra-id":
            raise coconut_error(404, "not_found", f"No integration '{ident}'.")
        record = sb.coconut.get("integration")
        if self.method == "GET":
            if record is None:
                raise coconut_error(404, "not_found", "The Entra ID integration is not connected.")
            return Reply(200, {"data": {"type": "integrations", "id": "entra-id", "attributes": record}}, content_type=JSONAPI)
        if self.method == "PUT":
            _unused, attributes = self.document("integrations")
            if attributes.get("status", "connected") not in ("connected", "token_revoked"):
                raise coconut_error(422, "invalid", "'status' must be connected or token_revoked.", pointer="/data/attributes/status")
            if "groups" in attributes and not isinstance(attributes["groups"], list):
                raise coconut_error(422, "invalid", "'groups' must be a list.", pointer="/data/attributes/groups")
            record = {"status": "connected", "tenant_id": None, "client_id": None, "groups": [], "connected_at": iso(now_utc()),
                      "last_sync_at": None, "last_sync": None, **attributes}
            sb.coconut["integration"] = record
            return Reply(200, {"data": {"type": "integrations", "id": "entra-id", "attributes": record}}, content_type=JSONAPI)
        if self.method == "DELETE":
            if record is None:
                raise coconut_error(404, "not_found", "The Entra ID integration is not connected.")
            sb.coconut["integration"] = None
            return Reply(204)
        self.not_allowed(["GET", "PUT", "DELETE"])

    def api_tokens(self, ident):
        sb = self.sb
        tokens = sb.coconut["api_tokens"]

        def view(token, value=None):
            attributes = {"name": token.get("name"), "created_at": token.get("created_at"), "current": token is self.token}
            if value is not None:
                attributes["token"] = value
            return {"type": "api-tokens", "id": str(token["id"]), "attributes": attributes}
        if ident is None and self.method == "GET":
            return Reply(200, {"data": [view(t) for t in tokens if not t.get("revoked")]}, content_type=JSONAPI)
        if ident is None and self.method == "POST":
            _unused, attributes = self.document("api-tokens")
            if set(attributes) - {"name"}:
                raise coconut_error(422, "unknown_attribute", "Only 'name' may be given.", pointer="/data/attributes")
            value = secrets.token_urlsafe(32)
            used = {str(t["id"]) for t in tokens}
            number = len(tokens) + 1
            while f"t{number}" in used:
                number += 1
            token = {"id": f"t{number}", "value": value, "name": attributes.get("name") or f"token {number}",
                     "created_at": iso(now_utc()), "revoked": False}
            sb.coconut["api_tokens"] = [*tokens, token]
            return Reply(201, {"data": view(token, value)}, content_type=JSONAPI)
        if ident is None:
            self.not_allowed(["GET", "POST"])
        token = next((t for t in tokens if str(t["id"]) == ident and not t.get("revoked")), None)
        if token is None:
            raise coconut_error(404, "not_found", f"No API token with id {ident}.")
        if self.method == "DELETE":
            sb.coconut["api_tokens"] = [{**t, "revoked": True} if t is token else t for t in tokens]
            return Reply(204)
        if self.method == "GET":
            return Reply(200, {"data": view(token)}, content_type=JSONAPI)
        self.not_allowed(["GET", "DELETE"])


class ItemError(Exception):
    """A per-item failure: a 4xx of its own in a single write, an entry of `errors` in a bulk write."""

    def __init__(self, status, code, detail, pointer, attribute=None, meta=None):
        super().__init__(detail)
        self.status = status
        self.error = coconut_error_object(status, code, detail, pointer=pointer,
                                          meta=meta if meta is not None else ({"attribute": attribute} if attribute else None))


# ----------------------------------------------------------------------------------------------
# HTTP layer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "coconut-entra-sandbox"
    sys_version = ""
    timeout = 600
    disable_nagle_algorithm = True  # headers and body go out as separate writes: without this, delayed ACKs add ~20-40 ms

    def setup(self):
        # TLS handshake in the connection's own thread, so one slow client never stalls accept().
        self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            self.request.close()

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_HEAD(self):
        self.handle_any("HEAD")

    def handle_any(self, method):
        sandbox, service = self.server.sandbox, self.server.service
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if service == "coconut" and self.path.startswith("/_sandbox"):
            reply = self.run(lambda: sandbox.control(method, self.path, self.parse_json(raw, "coconut")), service)
            self.respond(reply, self.encode(reply))
            return
        started = time.perf_counter()
        fault = sandbox.take_fault(service, method, self.path)
        if fault is not None and fault.reset:
            time.sleep(sandbox.latency)
            sandbox.log(service, method, self.path, None)
            self.drop_connection()
            return
        if fault is not None and not fault.serve:
            body = fault.body if fault.body is not None else default_error_body(service, fault.status, fault.headers)
            reply = Reply(fault.status, body, headers=fault.headers)
        else:
            reply = self.run(lambda: self.route(method, raw), service)
        data = self.encode(reply)
        # the sandbox's own time, so benchmarks can tell it from the client's
        reply.headers = {**reply.headers, "Server-Timing": f"app;dur={(time.perf_counter() - started) * 1000:.2f}"}
        time.sleep(sandbox.latency + (fault.delay if fault is not None else 0))
        sandbox.log(service, method, self.path, reply.status)
        self.respond(reply, data)

    def run(self, route, service):
        try:
            with self.server.sandbox.lock:
                result = route()
        except Reply as reply:
            return reply
        except Exception:  # noqa: BLE001 - a sandbox bug answers 500 and is printed, never kills the listener
            traceback.print_exc(limit=8)
            return Reply(500, default_error_body(service, 500, {}))
        return result if isinstance(result, Reply) else Reply(500, default_error_body(service, 500, {}))

    def parse_json(self, raw, service):
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            if service == "coconut":
                raise coconut_error(400, "invalid_json", "The body is not valid JSON.") from None
            raise graph_error(400, "BadRequest", "Unable to read JSON request payload.") from None

    def route(self, method, raw):
        sandbox, service = self.server.sandbox, self.server.service
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        if service == "login":
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("basic ") and "client_secret" not in form:
                try:
                    client_id, _unused, secret = base64.b64decode(auth[6:]).decode().partition(":")
                except ValueError:
                    raise login_error(401, "invalid_client", 7000216, "The Basic authorization header is malformed.",
                                      sandbox.urls["login"]) from None
                form.setdefault("client_id", unquote(client_id))
                form["client_secret"] = unquote(secret)
            return sandbox.login(method, split.path, form)
        if service == "graph":
            return sandbox.graph(method, split.path, query, split.query, self.parse_json(raw, service), self.headers)
        body = self.parse_json(raw, service)
        return sandbox.coconut_api(method, split.path, query, body, self.headers)

    @staticmethod
    def encode(reply):
        body = reply.body
        if body is None:
            return b""
        if isinstance(body, bytes | bytearray):
            return bytes(body)
        if isinstance(body, str):
            return body.encode()
        return dumps(body)

    def respond(self, reply, data):
        self.send_response(reply.status)
        content_type = reply.content_type if data else None
        headers = dict(reply.headers)
        if content_type and not any(k.lower() == "content-type" for k in headers):
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def drop_connection(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True
        self.wfile = io.BytesIO()
        self.rfile = io.BytesIO()


class Listener(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, port, service, sandbox, ssl_context):
        self.service = service
        self.sandbox = sandbox
        self.ssl_context = ssl_context
        super().__init__(("127.0.0.1", port), Handler)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError | ssl.SSLError | ConnectionError):
            traceback.print_exc(limit=8)


def load_scenario(path):
    with open(path, "rb") as handle:
        text = handle.read()
    if path.endswith(".json") or text.lstrip()[:1] in (b"{", b"["):
        return json.loads(text)
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


def write_atomically(path, text):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Entra, Graph and Coconut sandbox")
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--vars-out", required=True)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--port-base", type=int, default=0)
    args = parser.parse_args(argv)

    started = time.monotonic()
    sandbox = Sandbox(load_scenario(args.scenario), latency_ms=args.latency_ms)
    ca = trustme.CA(organization_name="coconut.entra sandbox")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    vars_path = os.path.abspath(args.vars_out)
    sandbox.ca_path = vars_path + ".ca.pem"
    ca.cert_pem.write_to_path(sandbox.ca_path)

    listeners = []
    for offset, service in enumerate(SERVICES):
        listener = Listener(args.port_base + offset if args.port_base else 0, service, sandbox, context)
        sandbox.urls[service] = f"https://127.0.0.1:{listener.server_address[1]}"
        listeners.append(listener)
    threads = [threading.Thread(target=lst.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True) for lst in listeners]
    for thread in threads:
        thread.start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_unused: stop.set())
    signal.signal(signal.SIGINT, lambda *_unused: stop.set())
    write_atomically(vars_path, yaml.safe_dump(sandbox.vars(), sort_keys=False))
    print(f"sandbox ready in {time.monotonic() - started:.2f}s: login {sandbox.urls['login']}, graph {sandbox.urls['graph']}, "
          f"coconut {sandbox.urls['coconut']}", file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    for listener in listeners:  # serving threads are daemons: closing the sockets is enough
        listener.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
