"""What every part of the sandbox shares: constants, time and JSON helpers, the Reply that ends a
request, each service's error shape, and injected faults."""

import datetime
import json
import re
import uuid


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


_STAFF_TEMPLATE = {"id": None, **{name: COCONUT_USER_DEFAULTS.get(name) for name in COCONUT_USER_FIELDS}}


def staff_record(ident, fields):
    """A Coconut user in the usual field order, defaults filled in; unknown scenario fields kept at the end."""
    record = dict(_STAFF_TEMPLATE)
    record.update(fields)  # known fields keep their place, unknown ones follow in their own order
    record["id"] = ident
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


def edit_records(current, spec, id_key, make_id):
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


def next_int(records):
    return max((int(r["id"]) for r in records if str(r.get("id", "")).isdigit()), default=0) + 1
