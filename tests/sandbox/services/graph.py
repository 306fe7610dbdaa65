"""Microsoft Graph v1.0: groups, members, users, delta, applications."""

import base64
import datetime
import hashlib
import itertools
import operator
import re
import secrets
import time
import uuid
from urllib.parse import unquote

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .common import (GRAPH_JSON, GROUP_DEFAULT_PROPERTIES, MAX_DELTA_TOKENS, PAGE_CACHE_MAX, ROLES_APPS, ROLES_GROUPS,
                     ROLES_USERS, USER_DEFAULT_PROPERTIES, Reply, graph_error, iso, new_guid, now_utc, parse_iso)


class GraphService:
    """Graph's entry point and the directory state it keeps: a mixin of Sandbox."""

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

    def known_members(self, members):
        """(the members that exist, users or groups, in order; the same as a set); a group of users only is checked in C."""
        known = tuple(filter(self.users_by_id.__contains__, members))
        if len(known) != len(members):
            known = tuple(m for m in members if m in self.users_by_id or m in self.groups_by_id)
        return known, frozenset(known)

    def remember_delta(self, record):
        token = secrets.token_urlsafe(24)
        self.delta_tokens[token] = record
        while len(self.delta_tokens) > MAX_DELTA_TOKENS:
            self.delta_tokens.popitem(last=False)
        return token


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
    # the difference. User records are never mutated in place, and set_entra makes a new users_by_id for every
    # change, so a users snapshot is the users_by_id of its moment, shared, never copied.

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
        return {g["id"]: (g, *sb.group_members_known[g["id"]]) for g in sb.entra["groups"] if wanted is None or g["id"] in wanted}

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
        for gid, (group, members, member_set) in record["snapshot"].items():
            old = previous.get(gid) if previous is not None else None
            base = {"id": gid, **{f: group.get(f) for f in fields if f not in ("id", "members")}}
            if old is None:
                changes = [member(m) for m in members]
            else:
                old_group, old_members, old_set = old
                changes = []
                if old_members is not members and old_members != members:
                    # Set differences in C, then the few joiners and leavers in their list order.
                    joined, left = member_set - old_set, old_set - member_set
                    changes = [member(m) for m in filter(joined.__contains__, members)] if joined else []
                    changes += [member(m, "changed" if m in sb.users_by_id or m in sb.groups_by_id else "deleted")
                                for m in filter(left.__contains__, old_members)] if left else []
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
        record = {"kind": "users", "snapshot": sb.users_by_id, "fields": fields, "size": self.page_size()}
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
            record = {**old, "snapshot": sb.users_by_id}
            before, now = old["snapshot"], record["snapshot"]
            # Records are replaced, never edited in place: a user whose record is the very object the snapshot holds
            # is unchanged. That test runs in C over every user (a delta round at 100,000 users must not cost the
            # sandbox more than the client's round trip); only the others are compared field by field.
            others = list(itertools.compress(now.values(), map(operator.is_not, map(before.get, now.keys()), now.values())))
            items = [self.user_view(user, old["fields"], False) for user in others if before.get(user["id"]) != user]
            added = sum(1 for user in others if user["id"] not in before)
            if len(before) > len(now) - added:  # some user of the snapshot is gone
                items += [{"id": uid, "@removed": {"reason": "changed"}} for uid in before if uid not in now]
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
            if clauses and all(p == "id" for p, _v in clauses):
                users = [users[n] for n in sorted({n for _p, v in clauses for n in sb.user_positions.get(v.casefold(), ())})]
            elif clauses:
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
