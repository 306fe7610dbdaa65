# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CoconutClient: every Coconut API call the collection makes (the only file that knows its endpoints).

Records come back flattened: {"id": "<JSON:API id>", **attributes}.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.http import HttpClient, json_body, jsonapi_error, jsonapi_errors, service_error
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import REDACTED, full_name, redacted, shown

JSONAPI = "application/vnd.api+json"
BULK = JSONAPI + "; ext=bulk"
PAGE_LIMIT = 500  # the API's largest page
BULK_LIMIT = 100  # the API's largest bulk document

_TOKEN_ERRORS = {
    # A revoked token cannot authorise its own rotation: the way back is a new token issued in Coconut.
    "token_revoked": "the Coconut API token was revoked: issue a new API token in Coconut, put it in coconut_api_token (your "
                     "credentials file), and run connect.yml; rotate_token.yml keeps tokens fresh before that happens",
    "token_invalid": "the Coconut API token is not valid: check coconut_api_token (the token value, for the site in coconut_url)",
}


def flatten(resource):
    """A JSON:API resource object as a record: {"id": str, **attributes}."""
    if not isinstance(resource, dict):
        return None
    ident = resource.get("id")
    record = {"id": None if ident is None else str(ident)}
    attributes = resource.get("attributes")
    if attributes:
        record.update(attributes)
    # Ids are strings in JSON:API; a staff member's user_group_id may come back as a number. One type
    # everywhere, or the planner would see 1 != "1" and rewrite every staff member on every run.
    user_group_id = record.get("user_group_id")
    if user_group_id is not None and user_group_id.__class__ is not str:
        record["user_group_id"] = str(user_group_id)
    _share_repeated_values(record)
    return record


# Fields whose few distinct values repeat across a whole site. JSON decoding makes a new string for every
# occurrence; sharing one object per value saves about 30 MB of the module's memory at 100,000 staff.
def _wire(attrs):
    """Attributes as Coconut's API types them: `role` and `user_group_id` refer to records and are integers
    (only JSON:API resource ids are strings), so the ids the client keeps as strings go out as numbers."""
    out = dict(attrs)
    for name in ("role", "user_group_id"):
        value = out.get(name)
        if isinstance(value, str) and value.strip().isdigit():
            out[name] = int(value)
    return out


_REPEATED_FIELDS = ("status", "language", "job_title", "user_group_id")
_SHARED_VALUES = {}


def _share_repeated_values(record, _share=_SHARED_VALUES.setdefault):
    # Called for every staff record (100,000 at a large site): plain loops, no call per value.
    get = record.get
    for name in _REPEATED_FIELDS:
        value = get(name)
        if value.__class__ is str:
            record[name] = _share(value, value)
    locations = get("locations")
    if locations and locations.__class__ is list:
        record["locations"] = [_share(location, location) if location.__class__ is str else location for location in locations]
    integration = get("integration")
    if integration.__class__ is dict:
        source = integration.get("source")
        if source.__class__ is str:
            integration["source"] = _share(source, source)


_JSON_TYPE = re.compile(r"(?i)^\s*application/(?:[\w.+-]+\+)?json\b")
_TITLE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
_TAGS = re.compile(r"(?s)<[^>]*>|&[#\w]+;")
SNIPPET_CHARS = 80


def _is_document(body):
    """A JSON:API top-level document: an object with data, errors or meta."""
    return isinstance(body, dict) and any(key in body for key in ("data", "errors", "meta"))


def _snippet(text, token):
    """A short, safe glimpse of what came back: an HTML page's title, else its first words; no token, no markup."""
    text = text or ""
    title = _TITLE.search(text)
    text = title.group(1) if title else _TAGS.sub(" ", text)
    # Redacted whole, before the cut: half a token is still a secret.
    text = " ".join(redacted(text.replace(token, REDACTED) if token else text).split())
    if len(text) > SNIPPET_CHARS:
        text = text[:SNIPPET_CHARS].rstrip() + "..."
    return shown(text).replace('"', "'")


def _id(value):
    return quote(str(value), safe="")


def _validate_url(url):
    parts = urlsplit((url or "").strip())
    if parts.scheme != "https" or not parts.hostname:
        raise CoconutEntraError("coconut_url must be the https:// address of the Coconut site, such as "
                                "https://<site>.coconutcalendar.com (https is required: the API token travels with every "
                                f"request); got {url!r}")
    base = (url or "").strip().rstrip("/")
    if not base.endswith("/api/v2"):
        base += "/api/v2"
    return base


class CoconutClient:
    """The Coconut API v2 of one site, authenticated by an API token."""

    def __init__(self, url, api_token, ca_path=None, validate_certs=True, timeout=30, concurrency=8, **http_options):
        self.base_url = _validate_url(url)
        token = (api_token or "").strip()
        if not token or any(c.isspace() for c in token):
            raise CoconutEntraError("coconut_api_token is %s: give the API token value issued in Coconut"
                                    % ("empty" if not token else "malformed (it contains whitespace)"))
        self._token = token
        self._integration_lock = threading.Lock()
        self.last_integration = None  # (the record as last read or written,) once it has been
        self.concurrency = max(1, int(concurrency))
        http_options.setdefault("pool_size", max(16, self.concurrency * 2))
        self.http = HttpClient("Coconut", self.base_url, ca_path=ca_path, validate_certs=validate_certs, timeout=timeout,
                               headers_fn=self._headers, vet=self._vet, **http_options)

    def _headers(self):
        return {"Authorization": "Bearer " + self._token, "Accept": JSONAPI}

    @property
    def stats(self):
        return self.http.stats

    def close(self):
        self.http.close()

    # ---- plumbing --------------------------------------------------------------------------------

    def _request(self, method, path, what, expected=(200,), params=None, document=None, bulk=False, idempotent=None, once=False):
        headers = {"Content-Type": BULK if bulk else JSONAPI} if document is not None else None
        response = self.http.request(method, path, params=params, json=document, headers=headers,
                                     expected=tuple(expected) + (401,), what=what, idempotent=idempotent, once=once)
        if response.status_code == 401 and 401 not in expected:
            code, message, _pointer = service_error(response)
            fix = _TOKEN_ERRORS.get(code) or ("Coconut refused the API token (%s): check coconut_api_token, or issue a new "
                                              "token and reconnect with connect.yml" % (code or message or "401"))
            raise CoconutEntraError(f"{fix} (while {what})", service="Coconut", status=401, code=code)
        return response

    def _json(self, response, what):
        body = json_body(response, "Coconut", what)
        if not _is_document(body):
            raise self._not_the_api(response, what, response.text)
        return body

    def _vet(self, response, what):
        """Stop at an answer the Coconut API would never give (HTML, or JSON that is not JSON:API), before it is read as
        a refused token, "not connected" or a parse error. A 2xx JSON body is checked where it is parsed anyway (_json)."""
        if not response.content:
            return
        if not _JSON_TYPE.search(response.headers.get("Content-Type") or ""):
            raise self._not_the_api(response, what, response.text)
        if response.status_code >= 300:
            try:
                body = response.json()
            except ValueError:
                body = None
            if not _is_document(body) or not isinstance(body.get("errors"), list):
                raise self._not_the_api(response, what, response.text)

    def _not_the_api(self, response, what, text):
        kind = (response.headers.get("Content-Type") or "no content type").split(";")[0].strip()
        method = response.request.method if response.request is not None else "GET"
        path = urlsplit(response.url or "").path
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.base_url))
        snippet = _snippet(text, self._token)
        return CoconutEntraError(
            "the server at coconut_url ({}) is not the Coconut API: {} {} answered {} {}{} while {}; check coconut_url: it must be "
            "the Coconut site's address, such as https://<site>.coconutcalendar.com (a mistyped host, or a proxy or login page "
            "answering in its place, looks like this)".format(origin, method, path, response.status_code, kind,
                                                              f' ("{snippet}")' if snippet else "", what),
            service="Coconut", status=response.status_code, code="not_coconut_api", path=path, content_type=kind)

    def _page(self, path, page, limit, params, what):
        query = dict(params or {})
        query.update({"page": page, "limit": limit})
        return self._json(self._request("GET", path, f"{what} (page {page})", params=query), what)

    def _list(self, path, what, params=None, limit=PAGE_LIMIT, into=None):
        """Every record of a paged collection: page 1, then the other pages in page order, at most `concurrency`
        in flight (never every page queued up front: page 1 decides how many there are, and it may lie).
        With `into` (a staff_table.StaffTable), each page's records go into it as they come, and it is returned."""
        first = self._page(path, 1, limit, params, what)
        if into is not None:
            for resource in first.get("data") or []:
                into.add_resource(resource)
            records = into
        else:
            records = [flatten(r) for r in first.get("data") or []]
        total_pages = _total_pages(first, limit, what)
        if total_pages > 1:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, total_pages - 1), thread_name_prefix="coconut-page") as pool:
                in_flight, number = deque(), 2
                while in_flight or number <= total_pages:
                    while number <= total_pages and len(in_flight) < self.concurrency:
                        in_flight.append(pool.submit(self._page, path, number, limit, params, what))
                        number += 1
                    data = in_flight.popleft().result().get("data") or []
                    if not data:
                        # Past the last record (a total that shrank while we read): the pages after it are empty too.
                        for future in in_flight:
                            future.cancel()
                        break
                    if into is not None:
                        for resource in data:
                            into.add_resource(resource)
                    else:
                        records.extend(flatten(r) for r in data)
                    del data
        if into is not None:
            return into.done()  # it keeps the first sighting of each id itself
        # Pages read while someone writes can shift by a record: keep the first sighting of each id.
        seen, unique = set(), []
        for record in records:
            if record["id"] not in seen:
                seen.add(record["id"])
                unique.append(record)
        return unique

    # ---- staff -----------------------------------------------------------------------------------

    def list_staff(self, status=None, email=None, synced=None):
        """Every staff record (all statuses unless `status` is given; synced or unsynced ones only with `synced`)."""
        params = {}
        if status:
            params["filter[status]"] = status
        if email:
            params["filter[email]"] = email
        if synced is not None:
            params["filter[synced]"] = "true" if synced else "false"
        return self._list("users", "listing Coconut staff", params)

    def staff_table(self):
        """Every staff record, kept compactly (staff_table.StaffTable): the full sync's read of a large site."""
        from ansible_collections.coconut.entra.plugins.module_utils.staff_table import StaffTable

        return self._list("users", "listing Coconut staff", into=StaffTable(flatten, _REPEATED_FIELDS, _SHARED_VALUES))

    def staff_by_object_id(self, object_ids):
        """The staff synced from these Entra object ids (`filter[integration.object_id]`, 100 ids a request, in parallel)."""
        object_ids = sorted(set(object_ids))
        chunks = [object_ids[i:i + BULK_LIMIT] for i in range(0, len(object_ids), BULK_LIMIT)]
        if not chunks:
            return []
        what = "reading the Coconut staff of changed Entra users"
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(chunks)), thread_name_prefix="coconut-oid") as pool:
            pages = pool.map(lambda chunk: self._list("users", what, {"filter[integration.object_id]": ",".join(chunk)}), chunks)
            return [record for page in pages for record in page]

    def count_staff(self, status=None, synced=None):
        """How many staff match, from the pagination total of a one-record page."""
        params = {"page": 1, "limit": 1}
        if status:
            params["filter[status]"] = status
        if synced is not None:
            params["filter[synced]"] = "true" if synced else "false"
        what = "counting Coconut staff"
        body = self._json(self._request("GET", "users", what, params=params), what)
        return int(((body.get("meta") or {}).get("pagination") or {}).get("total") or 0)

    def get_staff(self, staff_id):
        """One staff record, or None when there is none with that id."""
        what = f"reading Coconut staff {staff_id}"
        response = self._request("GET", f"users/{_id(staff_id)}", what, expected=(200, 404))
        if response.status_code == 404:
            return None
        return flatten(self._json(response, what).get("data"))

    def create_staff(self, attrs, send_invite=False):
        """Create one staff member; a 409 duplicate_object_id raises with details code and existing_id."""
        what = f"creating Coconut staff {_who(attrs)}"
        document = {"data": {"type": "users", "attributes": _wire(attrs)}, "meta": {"send_invite": bool(send_invite)}}
        response = self._request("POST", "users", what, expected=(200, 201, 409), document=document, idempotent=_has_object_id(attrs))
        if response.status_code == 409:
            error = _first_error(response)
            raise CoconutEntraError("Coconut already has staff {} for Entra object id {} (while {})".format(
                error["meta"].get("id"), (attrs.get("integration") or {}).get("object_id"), what),
                service="Coconut", status=409, code=error["code"], existing_id=error["meta"].get("id"))
        return flatten(self._json(response, what).get("data"))

    def update_staff(self, staff_id, attrs):
        """Set the given attributes of one staff member; returns the updated record."""
        what = f"updating Coconut staff {staff_id}"
        document = {"data": {"type": "users", "id": str(staff_id), "attributes": _wire(attrs)}}
        return flatten(self._json(self._request("PATCH", f"users/{_id(staff_id)}", what, document=document), what).get("data"))

    def bulk_create(self, list_of_attrs, send_invite=False):
        """Create staff in bulk; one result per input, in order: {"staff": record|None, "error": error object|None}.

        Inputs beyond the API's 100 per document are sent in further documents, one after the other
        (apply_plan sends chunks of 100 itself, several at a time).
        """
        results = []
        for start in range(0, len(list_of_attrs), BULK_LIMIT):
            chunk = list_of_attrs[start:start + BULK_LIMIT]
            document = {"data": [{"type": "users", "attributes": _wire(attrs)} for attrs in chunk], "meta": {"send_invite": bool(send_invite)}}
            what = f"creating {len(chunk)} Coconut staff in bulk"
            # Safe to repeat when every item carries its Entra object id: a repeat answers 409 per item.
            response = self._request("POST", "users", what, document=document, bulk=True,
                                     idempotent=all(_has_object_id(attrs) for attrs in chunk))
            results.extend(_bulk_results(self._json(response, what), len(chunk)))
        return results

    def bulk_update(self, updates):
        """Update staff in bulk from (id, attrs) pairs; one result per input, in order, like bulk_create."""
        updates = list(updates)
        results = []
        for start in range(0, len(updates), BULK_LIMIT):
            chunk = updates[start:start + BULK_LIMIT]
            document = {"data": [{"type": "users", "id": str(staff_id), "attributes": _wire(attrs)} for staff_id, attrs in chunk]}
            what = f"updating {len(chunk)} Coconut staff in bulk"
            response = self._request("PATCH", "users", what, document=document, bulk=True)
            results.extend(_bulk_results(self._json(response, what), len(chunk)))
        return results

    # ---- user groups and locations ---------------------------------------------------------------

    def list_user_groups(self):
        return self._list("user-groups", "listing Coconut user groups")

    def create_user_group(self, name, external_id=None):
        what = f"creating Coconut user group '{name}'"
        document = {"data": {"type": "user-groups", "attributes": {"name": name, "external_id": external_id}}}
        response = self._request("POST", "user-groups", what, expected=(200, 201), document=document, idempotent=False)
        return flatten(self._json(response, what).get("data"))

    def update_user_group(self, group_id, attrs):
        what = f"updating Coconut user group {group_id}"
        document = {"data": {"type": "user-groups", "id": str(group_id), "attributes": attrs}}
        return flatten(self._json(self._request("PATCH", f"user-groups/{_id(group_id)}", what, document=document), what).get("data"))

    def list_locations(self):
        return self._list("locations", "listing Coconut locations")

    # ---- the integration record ------------------------------------------------------------------

    def get_integration(self):
        """The Entra ID integration record's attributes, or None when not connected."""
        what = "reading the Coconut Entra ID integration"
        response = self._request("GET", "integrations/entra-id", what, expected=(200, 404))
        record = None if response.status_code == 404 else (self._json(response, what).get("data") or {}).get("attributes") or {}
        self.last_integration = (record,)  # the report's line on the record: no second read
        return record

    def put_integration(self, attrs, once=False):
        what = "recording the Coconut Entra ID integration"
        document = {"data": {"type": "integrations", "id": "entra-id", "attributes": attrs}}
        response = self._request("PUT", "integrations/entra-id", what, expected=(200, 201), document=document, once=once)
        record = (self._json(response, what).get("data") or {}).get("attributes") or {}
        self.last_integration = (record,)
        return record

    def update_integration(self, change, once=False):
        """Read-modify-write of some keys of the integration record, the others kept as they are.

        `change` is a dict of keys to set (None removes a key), or a function of the current attributes returning
        such a dict (or None: no write). One at a time per client (the lease renews from its own thread).
        Returns the record after, or None when the site has no record. `once`: the write is sent at most once (no
        retry), for a write that must land soon after its read (the site lease's take).
        """
        with self._integration_lock:
            record = self.get_integration()
            if record is None:
                return None
            updates = change(record) if callable(change) else change
            if updates is None:
                return record
            merged = {key: value for key, value in record.items() if key not in updates}
            merged.update({key: value for key, value in updates.items() if value is not None})
            return self.put_integration(merged, once=once)

    def delete_integration(self):
        """Remove the integration record; False when there was none."""
        response = self._request("DELETE", "integrations/entra-id", "removing the Coconut Entra ID integration", expected=(200, 204, 404))
        return response.status_code != 404

    # ---- API tokens ------------------------------------------------------------------------------

    def list_api_tokens(self):
        """[{"id", "name", "created_at", "current"}]: values are never listed; `current` marks the token in use."""
        what = "listing Coconut API tokens"
        return [flatten(r) for r in self._json(self._request("GET", "api-tokens", what), what).get("data") or []]

    def create_api_token(self, name):
        """A new API token: {"id", "name", "token", ...}; the value is shown only here, once."""
        what = f"creating Coconut API token '{name}'"
        document = {"data": {"type": "api-tokens", "attributes": {"name": name}}}
        # Not idempotent: a blind repeat would leave an extra live token behind.
        response = self._request("POST", "api-tokens", what, expected=(200, 201), document=document, idempotent=False)
        return flatten(self._json(response, what).get("data"))

    def delete_api_token(self, token_id):
        """Revoke an API token; False when there was none with that id."""
        response = self._request("DELETE", f"api-tokens/{_id(token_id)}", f"revoking Coconut API token {token_id}",
                                 expected=(200, 204, 404))
        return response.status_code != 404

    def whoami(self):
        """The record of the API token making the request ({"id", "name", "created_at", "current": True}), or {}."""
        return next((t for t in self.list_api_tokens() if t.get("current")), {})

    def check_token(self):
        """Prove the token works and can read staff (one record); True, or the 401 error naming the fix."""
        self._request("GET", "users", "checking the Coconut API token", params={"page": 1, "limit": 1})
        return True


def _total_pages(first, limit, what):
    """How many pages page 1 says there are, checked against its own total and page size: an answer that does not
    add up (100,000,000 pages for 3 records) is refused before any other page is asked for."""
    pagination = (first.get("meta") or {}).get("pagination") or {}
    if not pagination:
        return 1
    try:
        total = int(pagination.get("total") or 0)
        per_page = int(pagination.get("per_page") or limit)
        total_pages = int(pagination.get("total_pages") or 1)
    except (TypeError, ValueError):
        raise CoconutEntraError(f"Coconut's paging numbers are not numbers while {what}: {pagination!r}; stopped",
                                service="Coconut") from None
    expected = max(1, -(-total // per_page)) if total >= 0 and per_page > 0 else None
    if expected is None or per_page > max(limit, PAGE_LIMIT) or total_pages not in (expected, 0 if total == 0 else expected):
        raise CoconutEntraError(f"Coconut's page 1 claims {total_pages} pages for {total} records at {per_page} per page while {what}: "
                                "that does not add up, so the listing was stopped before reading further; nothing was written",
                                service="Coconut", total=total, per_page=per_page, total_pages=total_pages)
    return total_pages


def _who(attrs):
    name = full_name(attrs)
    return "{} <{}>".format(name, attrs.get("email")) if attrs.get("email") else name or "(unnamed)"


def _has_object_id(attrs):
    return bool((attrs.get("integration") or {}).get("object_id"))


def _first_error(response):
    """The answer's first JSON:API error, read by jsonapi_error (all parts None when there is none)."""
    try:
        errors = jsonapi_errors(response.json())
    except ValueError:
        errors = []
    return jsonapi_error(errors[0] if errors else None)


def _bulk_results(body, count):
    """Per-input results from a bulk answer: data[i] is the resource or null, errors point at /data/<i>."""
    data = body.get("data") or []
    results = [{"staff": flatten(data[i]) if i < len(data) and data[i] else None, "error": None} for i in range(count)]
    for error in jsonapi_errors(body):
        pointer = jsonapi_error(error)["pointer"] or ""
        parts = pointer.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "data" and parts[1].isdigit() and int(parts[1]) < count:
            results[int(parts[1])]["error"] = error
    for result in results:
        if result["staff"] is None and result["error"] is None:
            result["error"] = {"code": "no_result", "detail": "Coconut returned neither a record nor an error for this item"}
    return results
