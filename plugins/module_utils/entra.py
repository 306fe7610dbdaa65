# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EntraClient: an app-only token from Entra (msal) and the Microsoft Graph calls the collection makes.

Every error names the cause and the fix (AADSTS codes, missing Graph permissions), and no
error, detail or log line carries the client secret or the private key.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit, urlunsplit

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.graph import (DEFAULT_USER_FIELDS, PERMISSION_APPLICATION, PERMISSION_GROUP_MEMBER_READ,
                                                                          PERMISSION_USERS, PROVABLE_PERMISSIONS, REQUIRED_USER_FIELDS)
from ansible_collections.coconut.entra.plugins.module_utils import graph
from ansible_collections.coconut.entra.plugins.module_utils.http import HttpClient, json_body
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import from_server, shown

try:
    import msal
except ImportError:
    HAS_MSAL = False
    MSAL_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_MSAL = True
    MSAL_IMPORT_ERROR = None

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
# Instance discovery asks login.microsoftonline.com about the authority: only meaningful for Microsoft's clouds.
MICROSOFT_AUTHORITY_HOSTS = frozenset((
    "login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn", "login.microsoftonline.de",
))

# Graph's default user properties lack accountEnabled, so members are always read with an explicit $select.
DEFAULT_MEMBER_FIELDS = DEFAULT_USER_FIELDS
PERMISSION_GROUP_MEMBERS = f"{PERMISSION_GROUP_MEMBER_READ} (and {PERMISSION_USERS} for member properties)"
SYNC_PERMISSIONS = graph.SYNC_PERMISSIONS  # the modules and rotation take the permission lists from the Graph client
_GRANT = ("grant the application permission %s to the app registration (API permissions > Add a permission > "
          "Microsoft Graph > Application permissions) and grant admin consent for the tenant, then run connect.yml to "
          "verify every permission the sync needs")

_APP_PORTAL = "Entra admin center > App registrations > your app > Certificates & secrets"


# A delta round keeps its items in memory until its deltaLink arrives: past this many, read everything instead.
DELTA_ITEM_LIMIT = 200000


def _next_link(page, seen, what):
    """The page's @odata.nextLink, or None at the end; a link seen before in this listing is a loop: fail."""
    link = page.get("@odata.nextLink")
    if link is None:
        return None
    if not isinstance(link, str) or not link:
        raise CoconutEntraError(f"Microsoft Graph sent an @odata.nextLink that is not a URL while {what}; stopped",
                                service="Microsoft Graph")
    if link in seen:
        raise CoconutEntraError(f"Microsoft Graph sent the same @odata.nextLink twice while {what} (after {len(seen)} pages): "
                                "its paging loops, so the listing was stopped; nothing was written, try again later",
                                service="Microsoft Graph", pages=len(seen))
    seen.add(link)
    return link


class DeltaExpired(CoconutEntraError):
    """Graph answered 410 to a stored delta link (syncStateNotFound): start again with a full read."""


def _login_fix(code, tenant_id, client_id, using_certificate):
    """Cause and fix for the AADSTS codes an admin meets when connecting."""
    fixes = {
        7000215: "the client secret is wrong (AADSTS7000215). Often the secret's ID was pasted instead of its Value: in "
                 + _APP_PORTAL + ", copy the Value (shown only when the secret is created) into entra_client_secret, "
                 "or create a new secret",
        7000222: "the client secret has expired (AADSTS7000222). Run rotate_token.yml to replace secrets before they expire; "
                 "an expired one cannot authorise its own rotation, so create a new secret in " + _APP_PORTAL
                 + " and put its Value in entra_client_secret (or authenticate with a certificate and run rotate_token.yml)",
        700016: f"no application with client id {client_id} exists in tenant {tenant_id} (AADSTS700016): check entra_client_id is the app "
                "registration's Application (client) ID and entra_tenant_id its Directory (tenant) ID, and that the app is "
                "registered or consented in that tenant",
        90002: f"tenant {tenant_id} was not found (AADSTS90002): check entra_tenant_id (the Directory (tenant) ID on the app "
               "registration's Overview) and entra_authority_host (national clouds have their own login host)",
        700027: "Entra did not accept the client certificate assertion (AADSTS700027): upload this certificate (its public "
                "part) to " + _APP_PORTAL + ", and check entra_client_private_key belongs to it",
        7000112: f"the application is disabled in tenant {tenant_id} (AADSTS7000112): enable it in Enterprise applications",
    }
    if code == 7000215 and using_certificate:
        return None
    return fixes.get(code)


def _origin(url):
    """scheme://host[:port], lower case, without a default port; None for what is not a URL with a host."""
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    return urlunsplit((parts.scheme.lower(), parts.hostname.lower() + (f":{port}" if port and port != default else ""), "", "", ""))


class _MsalHttp:
    """The http_client msal gets: our HttpClient, so login verifies with ca_path (not REQUESTS_CA_BUNDLE),
    is counted in stats as 'login', and retries 429/5xx and connection failures (msal leaves retries to it).

    It also keeps the credential on the configured authority host: msal posts the client secret (or a signed
    assertion) to whatever token endpoint the sign-in discovery document names, so that document must name the
    authority host (its issuer too), and no POST goes anywhere else."""

    def __init__(self, http, authority_host):
        self.http = http
        self.authority_host = authority_host
        self.host = (urlsplit(authority_host).hostname or "").lower()

    def _refuse(self, what, url):
        raise CoconutEntraError(f"refusing to sign in: the Entra sign-in discovery names {what} {shown(_origin(url) or url)}, which is not "
                                f"entra_authority_host ({self.authority_host}); the credential was not sent. Check entra_authority_host "
                                "points at your cloud's login host", service="Entra login")

    def _check_discovery(self, response):
        try:
            document = response.json()
        except ValueError:
            return  # msal reports a document it cannot read
        if not isinstance(document, dict):
            return
        token_endpoint, issuer = document.get("token_endpoint"), document.get("issuer")
        if not isinstance(token_endpoint, str) or _origin(token_endpoint) != _origin(self.authority_host):
            self._refuse("the token endpoint on", str(token_endpoint))
        issuer_host = (urlsplit(issuer).hostname or "").lower() if isinstance(issuer, str) else ""
        # Microsoft's clouds name a sibling host as issuer (login.chinacloudapi.cn issues as login.partner.microsoftonline.cn).
        if issuer_host != self.host and not (self.host in MICROSOFT_AUTHORITY_HOSTS and issuer_host in MICROSOFT_AUTHORITY_HOSTS):
            self._refuse("the issuer", str(issuer))

    def _send(self, method, url, params=None, data=None, headers=None, **_ignored):
        if method == "POST" and _origin(url) != _origin(self.authority_host):
            self._refuse("a token endpoint on", url)
        # msal may pass its own verify/timeout/proxies: ours win (that is the point of this class).
        response = self.http.request(method, url, params=params, data=data, headers=headers, expected=None,
                                     what="signing in to Entra", idempotent=True)
        if method == "GET" and urlsplit(url).path.endswith("/.well-known/openid-configuration") and response.status_code == 200:
            self._check_discovery(response)
        return response

    def get(self, url, **kwargs):
        return self._send("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self._send("POST", url, **kwargs)

    def close(self):
        self.http.close()


class EntraClient:
    """Entra login + Microsoft Graph v1.0 for one app registration in one tenant."""

    def __init__(self, tenant_id, client_id, client_secret=None, client_certificate=None, client_private_key=None,
                 authority_host="https://login.microsoftonline.com", graph_url="https://graph.microsoft.com",
                 ca_path=None, validate_certs=True, timeout=30, **http_options):
        if not HAS_MSAL:
            raise CoconutEntraError("the Python library 'msal' is required on the host running the module")
        tenant_id = (tenant_id or "").strip()
        client_id = (client_id or "").strip()
        if not (GUID.match(tenant_id) or DOMAIN.match(tenant_id)):
            raise CoconutEntraError(f"entra_tenant_id {tenant_id!r} is neither a GUID nor a domain: use the Directory (tenant) ID from the app "
                                    "registration's Overview (or the tenant's domain, e.g. contoso.onmicrosoft.com)")
        if not GUID.match(client_id):
            raise CoconutEntraError(f"entra_client_id {client_id!r} is not a GUID: use the Application (client) ID from the app registration's "
                                    "Overview")
        has_certificate = bool(client_certificate or client_private_key)
        if bool(client_secret) == has_certificate:
            raise CoconutEntraError("give exactly one Entra credential: entra_client_secret, or entra_client_certificate "
                                    "with entra_client_private_key (got %s)" % ("both" if client_secret else "neither"))
        if has_certificate:
            if not (client_certificate and "-----BEGIN CERTIFICATE-----" in client_certificate):
                raise CoconutEntraError("entra_client_certificate must be the certificate in PEM (-----BEGIN CERTIFICATE-----...), "
                                        "given together with entra_client_private_key")
            if not (client_private_key and re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", client_private_key)):
                raise CoconutEntraError("entra_client_private_key must be the certificate's private key in PEM "
                                        "(-----BEGIN PRIVATE KEY-----...), given together with entra_client_certificate")
        for name, url in (("entra_authority_host", authority_host), ("entra_graph_url", graph_url)):
            parts = urlsplit(url or "")
            if parts.scheme != "https" or not parts.hostname:
                raise CoconutEntraError(f"{name} must be an https:// URL; got {url!r}")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.authority_host = authority_host.rstrip("/")
        self.graph_url = graph_url.rstrip("/")
        self.using_certificate = has_certificate
        # Kept private; _redact() scrubs them from anything that could reach a message.
        self._secrets = [s for s in (client_secret, client_private_key) if s]
        if client_secret:
            self._credential = client_secret
        else:
            self._credential = {"private_key": client_private_key, "public_certificate": client_certificate}
        common = dict(ca_path=ca_path, validate_certs=validate_certs, timeout=timeout, **http_options)
        self.login_http = HttpClient("Entra login", self.authority_host, **common)
        self.graph = HttpClient("Microsoft Graph", self.graph_url + "/v1.0", headers_fn=self._auth_header, **common)
        self._app = None
        self._token = None
        self._lock = threading.Lock()

    # ---- login -----------------------------------------------------------------------------------

    @property
    def stats(self):
        return {"login": self.login_http.stats, "graph": self.graph.stats}

    def _redact(self, text):
        text = str(text)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def state_key(self, purpose):
        """A 32-byte key for `purpose` that only holders of this app's Entra credential can derive (HKDF-SHA256 over the
        client secret or the private key, bound to the tenant and client id): it signs what the sync keeps where others
        can write (the delta state in Coconut), without any new secret to manage."""
        material = self._credential if isinstance(self._credential, str) else self._credential["private_key"]
        salt = ("coconut.entra " + purpose).encode()
        prk = hmac.new(salt, material.strip().encode(), hashlib.sha256).digest()
        return hmac.new(prk, f"{self.tenant_id.lower()}|{self.client_id.lower()}".encode() + b"\x01", hashlib.sha256).digest()

    def _application(self):
        if self._app is None:
            host = urlsplit(self.authority_host).hostname
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._credential,
                    authority=f"{self.authority_host}/{self.tenant_id}",
                    instance_discovery=host in MICROSOFT_AUTHORITY_HOSTS,
                    http_client=_MsalHttp(self.login_http, self.authority_host),
                )
            except CoconutEntraError:
                raise
            except ValueError as exc:
                if "authority" in str(exc).lower() or "tenant" in str(exc).lower():
                    raise self._login_error({"error": "invalid_tenant", "error_codes": [90002]}) from None
                raise CoconutEntraError(f"the Entra credential could not be used: {self._redact(exc)}",
                                        service="Entra login", tenant_id=self.tenant_id, client_id=self.client_id) from None
            except Exception as exc:  # noqa: BLE001 - msal and cryptography raise many types; the message must stay secret-free
                raise CoconutEntraError(f"could not prepare the Entra sign-in: {type(exc).__name__}: {self._redact(exc)}",
                                        service="Entra login", tenant_id=self.tenant_id, client_id=self.client_id) from None
        return self._app

    def _login_error(self, result):
        codes = result.get("error_codes") or []
        code = codes[0] if codes else None
        if code is None:
            found = re.search(r"AADSTS(\d+)", result.get("error_description") or "")
            code = int(found.group(1)) if found else None
        fix = _login_fix(code, self.tenant_id, self.client_id, self.using_certificate)
        if fix:
            msg = f"Entra refused a token for application {self.client_id}: {fix}"
        else:
            first_line = (result.get("error_description") or "").splitlines()[0:1]
            msg = "Entra refused a token for application {} in tenant {}: {}{}".format(
                self.client_id, self.tenant_id, result.get("error") or "error",
                ": " + from_server(self._redact(first_line[0])) if first_line else "")
        details = {"service": "Entra login", "error": result.get("error"), "tenant_id": self.tenant_id, "client_id": self.client_id}
        if code is not None:
            details["aadsts"] = f"AADSTS{code}"
        return CoconutEntraError(msg, **details)

    def token(self):
        """An app-only access token for Graph (msal caches it until shortly before it expires)."""
        app = self._application()
        try:
            result = app.acquire_token_for_client([f"{self.graph_url}/.default"])
        except CoconutEntraError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. a private key that does not load; keep the key out of the message
            what = "sign the client assertion with entra_client_private_key" if self.using_certificate else "request a token"
            if "ECPrivateKey" in str(exc) or "Ed25519" in str(exc):
                raise CoconutEntraError("entra_client_private_key is not an RSA key: Entra accepts only RSA certificates for app "
                                        "credentials; create an RSA certificate (2048 bits or more) and upload it to the app registration",
                                        service="Entra login", tenant_id=self.tenant_id, client_id=self.client_id) from None
            raise CoconutEntraError(f"could not {what}: {type(exc).__name__}: {self._redact(exc)}",
                                    service="Entra login", tenant_id=self.tenant_id, client_id=self.client_id) from None
        if "access_token" not in result:
            raise self._login_error(result)
        self._token = result["access_token"]
        return self._token

    def _auth_header(self):
        # token() each time: msal serves it from its cache and renews it before it expires.
        return {"Authorization": "Bearer " + self.token()}

    def _refresh_token(self, stale):
        """Drop msal's cached token and get a new one, once for every thread that saw the same stale token."""
        with self._lock:
            if self._token == stale:
                self._application().remove_tokens_for_client()
                self._token = None
                self.token()

    # ---- Graph -----------------------------------------------------------------------------------

    def request(self, method, url_or_path, params=None, json=None, expected=(200,), what=None, permission=None, idempotent=None):
        """A Graph call: retries (HttpClient), one token refresh on 401, named permission on 403."""
        what = what or f"calling Graph {method} {urlsplit(url_or_path).path or url_or_path}"
        accept = tuple(expected) + (401, 403)
        for refreshed in (False, True):
            response = self.graph.request(method, url_or_path, params=params, json=json, expected=accept, what=what,
                                          idempotent=idempotent)
            if response.status_code == 401 and not refreshed:
                self._refresh_token(response.request.headers.get("Authorization", "")[len("Bearer "):])
                continue
            break
        if response.status_code == 401:
            raise self.graph.status_error(response, what, hint="Graph rejected a freshly issued token: check entra_graph_url "
                                          "matches the cloud of entra_authority_host")
        if response.status_code == 403 and 403 not in expected:
            hint = _GRANT % permission if permission else "the application lacks a Graph permission for this call"
            error = self.graph.status_error(response, what, hint=hint)
            if permission:
                error.details["permission"] = permission
            raise error
        return response

    def get(self, url_or_path, params=None, permission=None, what=None):
        """GET a Graph resource as JSON."""
        response = self.request("GET", url_or_path, params=params, permission=permission, what=what)
        return json_body(response, "Microsoft Graph", what or f"reading {url_or_path}")

    def paginate(self, path, params=None, permission=None, what=None):
        """Every item of a Graph collection: follows @odata.nextLink (a full URL) until there is none."""
        page = self.get(path, params=params, permission=permission, what=what)
        yield from self._pages_from(page, {path}, permission, what, what or f"reading {path}")

    def _pages_from(self, page, seen, permission, what, context):
        """The items of `page` and of every page after it. The next page is fetched in a thread while the caller
        uses this one: Graph's nextLink is known as soon as a page is parsed, so a read of 100 pages costs 100
        round trips or the caller's own work, whichever is longer, not both. Errors come in page order."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="graph-page") as ahead:
            while page is not None:
                url = _next_link(page, seen, context)  # the link already carries the query
                following = ahead.submit(self.get, url, permission=permission, what=what) if url else None
                items = page.pop("value", None) or []
                page = None  # a used page goes as soon as its items do (memory at 100,000 members)
                yield from items
                del items
                if following is not None:
                    page = following.result()

    def resolve_groups(self, refs):
        """[{"id", "displayName", "ref"}] for group ids or exact display names, in the given order."""
        resolved = []
        for ref in refs:
            ref = ref.strip() if isinstance(ref, str) else ref
            if not isinstance(ref, str) or not ref:
                raise CoconutEntraError(f"an Entra group must be named by its object id or exact display name; got {ref!r}")
            if GUID.match(ref):
                what = f"looking up Entra group {ref}"
                response = self.request("GET", f"groups/{ref}", params={"$select": "id,displayName"}, expected=(200, 404),
                                        what=what, permission=PERMISSION_GROUP_MEMBERS)
                if response.status_code == 404:
                    raise CoconutEntraError(f"no Entra group with id {ref}: check entra_groups (use the group's Object ID from "
                                            "Entra admin center > Groups)", group=ref)
                group = json_body(response, "Microsoft Graph", what)
            else:
                group = self._group_by_name(ref)
            resolved.append({"id": group["id"], "displayName": group.get("displayName"), "ref": ref})
        return resolved

    def _group_by_name(self, name):
        what = f"looking up the Entra group named '{name}'"
        odata_literal = name.replace("'", "''")  # OData string literal: a quote is doubled
        found = list(self.paginate("groups", {"$filter": f"displayName eq '{odata_literal}'", "$select": "id,displayName"},
                                   permission=PERMISSION_GROUP_MEMBERS, what=what))
        # Graph's eq ignores case; an exact match wins when there is one.
        exact = [g for g in found if g.get("displayName") == name]
        matches = exact or found
        if not matches:
            hint = ""
            if re.fullmatch(r"[0-9a-fA-F-]{16,}", name) and "-" in name:
                # Hex and dashes but not 8-4-4-4-12: meant as an object id, mistyped; it was looked up as a name.
                hint = "; it looks like a mistyped object id: a group's Object ID has 8-4-4-4-12 hex digits"
            raise CoconutEntraError(f"no Entra group named '{name}': check the spelling in entra_groups (names match exactly), "
                                    f"or use the group's object id{hint}", group=name)
        if len(matches) > 1:
            ids = ", ".join(g["id"] for g in matches)
            raise CoconutEntraError(f"{len(matches)} Entra groups are named '{name}' (ids {ids}): name the one to sync by its object id "
                                    "in entra_groups",
                                    group=name, candidates=[g["id"] for g in matches])
        return matches[0]

    @staticmethod
    def _user_fields(select):
        fields = list(REQUIRED_USER_FIELDS)  # the sync always needs these, whatever the mapping selects
        for field in ([select] if isinstance(select, str) else select or DEFAULT_MEMBER_FIELDS):
            for name in str(field).split(","):
                if name.strip() and name.strip() not in fields:
                    fields.append(name.strip())
        return fields

    def group_members(self, group_id, transitive=False, select=None):
        """Every user member of a group (direct, or transitive through nested groups); users only, every page."""
        return list(self.iter_group_members(group_id, transitive=transitive, select=select))

    def iter_group_members(self, group_id, transitive=False, select=None):
        """group_members() page by page, so a caller can let each page go once used (memory at 100,000 members)."""
        relation = "transitiveMembers" if transitive else "members"
        fields = self._user_fields(select)
        params = {"$top": "999", "$select": ",".join(fields)}
        what = "reading the {} members of Entra group {}".format("transitive" if transitive else "direct", group_id)
        path = "groups/{}/{}/microsoft.graph.user".format(quote(group_id, safe=""), relation)
        first = self.request("GET", path, params=params, expected=(200, 404), what=what, permission=PERMISSION_GROUP_MEMBERS)
        if first.status_code == 404:
            raise CoconutEntraError(f"no Entra group with id {group_id}", group=group_id)
        page = json_body(first, "Microsoft Graph", what)
        del first
        yield from self._pages_from(page, {path}, PERMISSION_GROUP_MEMBERS, what, what)

    # ---- delta queries (incremental sync) -------------------------------------------------------

    def latest_delta_link(self, group_id=None, select=None):
        """A deltaLink tracking changes from now on (`$deltatoken=latest`: one request, nothing enumerated).

        With `group_id`: that group's members (groups/delta filtered to it); else every user's `select` fields.
        """
        if group_id is not None:
            path, what = "groups/delta", f"starting to track the members of Entra group {group_id}"
            params = {"$filter": "id eq '{}'".format(group_id.replace("'", "''")), "$select": "members", "$deltatoken": "latest"}
            permission = PERMISSION_GROUP_MEMBERS
        else:
            path, what = "users/delta", "starting to track changes of Entra users"
            params = {"$select": ",".join(self._user_fields(select)), "$deltatoken": "latest"}
            permission = PERMISSION_USERS
        _items, link = self.delta_changes(path, what, params=params, permission=permission)
        return link

    def delta_changes(self, link, what, params=None, permission=PERMISSION_GROUP_MEMBERS):
        """(items, next deltaLink): every page of a delta round from a stored deltaLink.

        Graph answers 410 (syncStateNotFound) when the link has expired: that raises DeltaExpired.
        """
        items, url, query, seen = [], link, params, {link}
        while True:
            response = self.request("GET", url, params=query, expected=(200, 410), what=what, permission=permission)
            if response.status_code == 410:
                raise DeltaExpired(f"Graph no longer knows the stored delta link (410 while {what}); a full read is needed",
                                   service="Microsoft Graph", status=410)
            page = json_body(response, "Microsoft Graph", what)
            items.extend(page.get("value") or [])
            if len(items) > DELTA_ITEM_LIMIT:
                # Every item is kept until the round ends: past this many, a full read (which streams) is the better way.
                raise DeltaExpired(f"more than {DELTA_ITEM_LIMIT} changes while {what}; a full read is needed",
                                   service="Microsoft Graph", too_many=True)
            url, query = _next_link(page, seen, what), None
            if not url:
                return items, page.get("@odata.deltaLink")

    def users_by_id(self, ids, select=None):
        """The users with these object ids (`select` fields), 15 ids per request (Graph's limit on `or` clauses)."""
        fields = ",".join(self._user_fields(select))
        ids = sorted(ids)
        users = []
        for start in range(0, len(ids), 15):
            clause = " or ".join("id eq '{}'".format(i.replace("'", "''")) for i in ids[start:start + 15])
            users.extend(self.paginate("users", {"$filter": clause, "$select": fields, "$top": "999"}, permission=PERMISSION_USERS,
                                       what=f"reading {len(ids[start:start + 15])} changed Entra users"))
        return users

    # ---- the app registration (rotation) ---------------------------------------------------------

    def _application_path(self, object_id=None, app_id=None):
        if object_id:
            return "applications/{}".format(quote(object_id, safe=""))
        return "applications(appId='{}')".format((app_id or self.client_id).replace("'", "''"))

    def get_application(self, object_id=None, app_id=None):
        """The app registration, by object id or by client id (default: this client's own)."""
        path = self._application_path(object_id, app_id)
        which = object_id or app_id or self.client_id
        what = f"reading the Entra app registration {which}"
        response = self.request("GET", path, expected=(200, 404), what=what, permission=PERMISSION_APPLICATION)
        if response.status_code == 404:
            raise CoconutEntraError(f"no Entra app registration {which} (or the app cannot see it: with {PERMISSION_APPLICATION} "
                                    "an app only sees registrations it owns; add the app as an owner of its own registration)",
                                    object_id=object_id, app_id=app_id or (None if object_id else self.client_id))
        return json_body(response, "Microsoft Graph", what)

    def add_password(self, app_object_id, display_name, end_datetime):
        """A new client secret: {"keyId", "secretText", "hint", "startDateTime", "endDateTime", ...}."""
        if isinstance(end_datetime, datetime.datetime):
            if end_datetime.tzinfo is None:
                end_datetime = end_datetime.replace(tzinfo=datetime.timezone.utc)  # noqa: UP017 (managed hosts may run Python < 3.11)
            end_datetime = end_datetime.isoformat().replace("+00:00", "Z")
        body = {"passwordCredential": {"displayName": display_name, "endDateTime": end_datetime}}
        what = f"adding a client secret to Entra app registration {app_object_id}"
        # Not idempotent: a blind repeat would leave an extra secret behind, so only "not processed" answers are retried.
        response = self.request("POST", "applications/{}/addPassword".format(quote(app_object_id, safe="")), json=body,
                                expected=(200, 201), what=what, permission=PERMISSION_APPLICATION, idempotent=False)
        return json_body(response, "Microsoft Graph", what)

    def remove_password(self, app_object_id, key_id):
        """Remove a client secret by its keyId; True when removed."""
        what = f"removing client secret {key_id} from Entra app registration {app_object_id}"
        self.request("POST", "applications/{}/removePassword".format(quote(app_object_id, safe="")), json={"keyId": key_id},
                     expected=(200, 204), what=what, permission=PERMISSION_APPLICATION, idempotent=True)
        return True

    def check_permission(self, name):
        """Prove one Graph application permission with the smallest real read; True, or the 403 error naming it."""
        if name == PERMISSION_GROUP_MEMBER_READ:
            self.get("groups", {"$top": "1", "$select": "id"}, permission=PERMISSION_GROUP_MEMBERS,
                     what=f"checking the {name} permission")
        elif name == PERMISSION_USERS:
            self.get("users", {"$top": "1", "$select": "id"}, permission=PERMISSION_USERS, what=f"checking the {name} permission")
        elif name == PERMISSION_APPLICATION:
            self.get_application()
        else:
            raise CoconutEntraError(f"cannot check Graph permission {name!r}: known are {', '.join(PROVABLE_PERMISSIONS)}")
        return True

    def close(self):
        self.login_http.close()
        self.graph.close()
