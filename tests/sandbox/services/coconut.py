"""The Coconut API (modelled): staff, user groups, locations, the integration record, API tokens."""

import itertools
import secrets
from urllib.parse import quote


from .common import (BULK_MAX, COCONUT_DEFAULT_LIMIT, COCONUT_MAX_LIMIT, COCONUT_ROLES, COCONUT_USER_FIELDS, EMAIL_RE,
                     JSONAPI, Reply, coconut_error, coconut_error_object, iso, next_int, now_utc, staff_record)


# Each staff attribute's validity, made once (not per validated item: a bulk write validates 100).
ATTRIBUTE_CHECKS = {
    "email": lambda sb, v: EMAIL_RE.match(v) is not None,
    "username": lambda sb, v: v is None or isinstance(v, str),
    "external_id": lambda sb, v: v is None or isinstance(v, str),
    "job_title": lambda sb, v: v is None or isinstance(v, str),
    "language": lambda sb, v: isinstance(v, str) and 2 <= len(v) <= 5,
    "role": lambda sb, v: isinstance(v, int) and not isinstance(v, bool) and v in COCONUT_ROLES,
    "status": lambda sb, v: v in ("active", "archived"),
    "locations": lambda sb, v: isinstance(v, list) and all(any(loc.get("external_id") == x for loc in sb.coconut["locations"]) for x in v),
    "user_group_id": lambda sb, v: v is None or (isinstance(v, int) and not isinstance(v, bool)
                                                 and any(str(g["id"]) == str(v) for g in sb.coconut["user_groups"])),
    "integration": lambda sb, v: v is None or (isinstance(v, dict) and set(v) <= {"source", "object_id"}
                                               and v.get("source") == "entra_id" and isinstance(v.get("object_id"), str) and v["object_id"]),
}


class CoconutService:
    """Coconut's entry point and the staff state it keeps: a mixin of Sandbox."""

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
        if email is None:
            # The first read after a write (every run's): a set kept up to date by each write, tested in C.
            ids = list(filter(self.staff_by_status.get(status, set()).__contains__, self.staff_order))
        else:
            ids = [i for i in self.staff_order
                   if (status is None or self.staff[i].get("status") == status)
                   and str(self.staff[i].get("email") or "").casefold() == email]
        self.staff_list_cache[key] = (self.staff_version, ids)
        return ids

    def index_staff(self, user, previous=None):
        """Keep the sets that answer filter[status] and filter[synced] without a scan of every staff member."""
        if previous is not None:
            self.staff_by_status.get(previous.get("status"), set()).discard(previous["id"])
            self.synced_staff.discard(previous["id"])
        self.staff_by_status.setdefault(user.get("status"), set()).add(user["id"])
        integration = user.get("integration")
        if isinstance(integration, dict) and integration.get("source") == "entra_id":
            self.synced_staff.add(user["id"])

    def store_staff(self, user, previous=None):
        self.index_staff(user, previous)
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
            ids = list((filter if synced == "true" else itertools.filterfalse)(sb.synced_staff.__contains__, ids))
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
        for name, check in ATTRIBUTE_CHECKS.items():  # in this order: the first invalid attribute is the one named
            if name in attributes and not check(sb, attributes[name]):
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
            record = {"id": next_int(groups), "external_id": None, **attributes}
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
