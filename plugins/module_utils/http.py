# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# pylint: disable=unused-import  # astroid models any module named "http" as the stdlib one, adding its imports
"""HttpClient: the one way this collection sends HTTP (Entra login, Graph, Coconut).

- TLS: a `requests.Session` with `trust_env = False` and `verify` passed on every request,
  because requests lets `REQUESTS_CA_BUNDLE` silently override `Session.verify`
  (psf/requests#3829) and our CA (`ca_path`) must win.
- Retries: 429, 502, 503, 504 and connection errors/timeouts, honouring `Retry-After`
  (seconds, fractional seconds, or an HTTP date; capped), else exponential backoff with
  full jitter; `max_attempts` bounds the total number of attempts.
- A request that is not idempotent (`idempotent=False`, the default for POST) is retried only
  when the service certainly did not act on it: 429/503 answers and failures to connect.
  Callers mark a POST idempotent when a repeat is harmless: staff creates carry the Entra
  object id, which Coconut keeps unique (a repeat gets 409 duplicate_object_id and apply
  converges instead of creating a second staff member); a token request only issues a token.
- Thread-safe: one session and pool shared by worker threads; `stats` is updated under a lock.
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import threading
import time
import traceback
from urllib.parse import urljoin, urlsplit

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import from_server

try:
    import requests
    from requests.adapters import HTTPAdapter
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

RETRY_STATUSES = frozenset((429, 502, 503, 504))
# Answers that mean "not processed, try later": safe to repeat even a non-idempotent request.
NOT_PROCESSED_STATUSES = frozenset((429, 503))
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"))


def jsonapi_error(error):
    """One JSON:API error object (Coconut's `errors[]`: code, title, detail, source.pointer, meta), read in one place.

    A part that is missing or not of its type is None (meta: {}), so a malformed answer cannot break the reader.
    """
    if not isinstance(error, dict):
        error = {}
    source, meta = error.get("source"), error.get("meta")
    return {"code": error.get("code"), "title": error.get("title"), "detail": error.get("detail"),
            "pointer": source.get("pointer") if isinstance(source, dict) else None, "meta": meta if isinstance(meta, dict) else {}}


def jsonapi_errors(body):
    """A JSON:API document's `errors` list; [] when it has none or is not that shape."""
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors if isinstance(errors, list) else []


def service_error(response):
    """(code, message, pointer) from an error body in any of the shapes our services use.

    The one place a server's words enter our messages: tokens an answer echoes are redacted and control
    characters escaped here (safe_text.from_server), so no caller has to remember.
    """
    code, message, pointer = _service_error(response)
    return from_server(code), from_server(message), from_server(pointer)


def _service_error(response):
    try:
        body = response.json()
    except ValueError:
        text = (response.text or "").strip().splitlines()
        return None, (text[0][:200] if text else response.reason), None
    if not isinstance(body, dict):
        return None, None, None
    errors = jsonapi_errors(body)
    if errors and isinstance(errors[0], dict):  # JSON:API (Coconut)
        first = jsonapi_error(errors[0])
        return first["code"], first["detail"] or first["title"], first["pointer"]
    error = body.get("error")
    if isinstance(error, dict):  # Microsoft Graph
        return error.get("code"), error.get("message"), None
    if isinstance(error, str):  # OAuth2 (Entra login)
        description = (body.get("error_description") or "").splitlines()
        return error, description[0] if description else None, None
    return None, None, None


def _reason(exc):
    """The useful part of a requests connection error ("[Errno 111] Connection refused")."""
    cause = exc.args[0] if exc.args else exc
    cause = getattr(cause, "reason", cause)  # urllib3's MaxRetryError wraps the real failure
    text = str(cause)
    for pattern in (r"\[SSL: [A-Z_]+\][^'\")]*", r"\[Errno -?\d+\][^'\")]*", r"certificate verify failed[^'\")]*",
                    r"Connection (?:reset|aborted|refused)[^'\")]*", r"Read timed out[^'\")]*", r"timed out"):
        match = re.search(pattern, text)
        if match:
            return re.sub(r"\s*\(_ssl\.c:\d+\)?$", "", match.group(0).strip()).rstrip(".")
    return text[:300]


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _retry_after(value, cap):
    """Seconds to wait from a Retry-After header (integer, fractional or HTTP date); None if unusable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), cap)


class ServiceUnreachable(CoconutEntraError):
    """The service cannot be reached, or its TLS certificate failed verification.

    Every further request would fail alike, so a caller stops rather than trying item after item.
    """


class HttpClient:
    """Requests to one service (`service` names it in errors and stats: "Coconut", "Microsoft Graph", ...)."""

    def __init__(self, service, base_url, ca_path=None, validate_certs=True, timeout=30, headers_fn=None,
                 max_attempts=6, backoff_base=0.5, backoff_cap=20, pool_size=16, retry_after_cap=60, sleep=None, vet=None):
        if not HAS_REQUESTS:
            raise CoconutEntraError("the Python library 'requests' is required on the host running the module")
        self.service = service
        self.base_url = base_url.rstrip("/") + "/"
        self.verify = ca_path if (ca_path and validate_certs) else bool(validate_certs)
        self.ca_path = ca_path
        self.timeout = timeout
        self.headers_fn = headers_fn
        self.max_attempts = max(1, int(max_attempts))
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.sleep = sleep or time.sleep
        # vet(response, what): raises when a final answer cannot be the service's own (a proxy's page, another server)
        self.vet = vet
        self._lock = threading.Lock()
        self.stats = {"requests": 0, "retries": 0, "by_method": {}, "by_status": {}, "waited": 0.0}
        self.session = requests.Session()
        self.session.trust_env = False  # no REQUESTS_CA_BUNDLE / proxy / netrc surprises
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def url(self, url_or_path):
        if re.match(r"^https?://", url_or_path, re.I):
            return url_or_path
        return urljoin(self.base_url, url_or_path.lstrip("/"))

    def _count(self, key, value=1):
        with self._lock:
            self.stats[key] += value

    def _backoff(self, attempt):
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * (2 ** attempt)))  # noqa: S311 - jitter, not crypto

    def request(self, method, url_or_path, params=None, json=None, data=None, headers=None, expected=(200,),
                what=None, idempotent=None, once=False):
        """Send with retries; return the response when its status is in `expected` (None: any status).

        Other statuses raise CoconutEntraError naming the service, `what` was being done, the
        status and the service's own error code and message.
        """
        method = method.upper()
        url = self.url(url_or_path)
        what = what or f"{method} {urlsplit(url).path}"
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        # once: a write whose meaning depends on when it lands (the site lease's take) is never repeated here; the
        # caller starts again from a fresh read instead.
        max_attempts = 1 if once else self.max_attempts
        if self.headers_fn is not None and _origin(url) != _origin(self.base_url):
            # The headers carry a credential: never send them to another host (a crafted nextLink).
            raise CoconutEntraError(f"refusing to send {self.service} credentials to {_origin(url)} while {what}: "
                                    f"it is not {_origin(self.base_url)}", service=self.service)
        attempt = 0
        while True:
            attempt += 1
            send_headers = dict(self.headers_fn() if self.headers_fn else {})
            send_headers.update(headers or {})
            with self._lock:
                self.stats["requests"] += 1
                self.stats["by_method"][method] = self.stats["by_method"].get(method, 0) + 1
            try:
                response = self.session.request(method, url, params=params, json=json, data=data, headers=send_headers,
                                                verify=self.verify, timeout=self.timeout, allow_redirects=False)
            except requests.exceptions.SSLError as exc:
                # Not transient: a retry would fail the same way.
                raise self._tls_error(url, exc, what) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                failure = repr(exc.args)
                not_sent = isinstance(exc, requests.exceptions.ConnectTimeout) or "NewConnectionError" in failure
                # A name that does not resolve is a typo far more often than a blip: fail at once.
                transient = "NameResolutionError" not in failure and "Name or service not known" not in failure
                if transient and attempt < max_attempts and (idempotent or not_sent):
                    self._wait(self._backoff(attempt))
                    continue
                raise ServiceUnreachable(
                    "cannot reach {} at {} while {}: {}{}; check the URL / network".format(
                        self.service, _origin(url), what, _reason(exc), f" (after {attempt} attempts)" if attempt > 1 else ""),
                    service=self.service, url=_origin(url), attempts=attempt) from None
            with self._lock:
                self.stats["by_status"][response.status_code] = self.stats["by_status"].get(response.status_code, 0) + 1
            status = response.status_code
            retryable = status in (RETRY_STATUSES if idempotent else NOT_PROCESSED_STATUSES)
            if retryable and attempt < max_attempts and (expected is None or status not in expected):
                wait = _retry_after(response.headers.get("Retry-After"), self.retry_after_cap)
                self._wait(self._backoff(attempt) if wait is None else wait)
                response.close()
                continue
            if self.vet is not None:
                self.vet(response, what)
            if expected is None or status in expected:
                return response
            raise self.status_error(response, what, attempts=attempt)

    def _wait(self, seconds):
        with self._lock:
            self.stats["retries"] += 1
            self.stats["waited"] += seconds
        self.sleep(seconds)

    def status_error(self, response, what, attempts=1, hint=None):
        """CoconutEntraError for an unexpected answer, with the service's own code and message."""
        code, message, pointer = service_error(response)
        text = "{} answered {}{} while {}".format(self.service, response.status_code, " " + code if code else "", what)
        if message:
            text += ": " + str(message).strip().rstrip(".")
        if pointer:
            text += f" (at {pointer})"
        if attempts > 1:
            text += f" (after {attempts} attempts)"
        if hint:
            text += "; " + hint
        elif response.status_code in RETRY_STATUSES or response.status_code >= 500:
            text += "; the service is busy or failing: try again later"
        details = {"service": self.service, "status": response.status_code, "method": response.request.method if response.request else None,
                   "path": urlsplit(response.url).path if response.url else None}
        if code:
            details["code"] = code
        return CoconutEntraError(text, **details)

    def _tls_error(self, url, exc, what):
        if self.ca_path:
            fix = f"check that ca_path ({self.ca_path}) holds the CA that signed {urlsplit(url).hostname}'s certificate"
        else:
            fix = f"if {urlsplit(url).hostname} uses a private CA, set ca_path to that CA's bundle (PEM)"
        return ServiceUnreachable(f"TLS certificate verification of {self.service} at {_origin(url)} failed while {what}: {_reason(exc)}; {fix}",
                                  service=self.service, url=_origin(url))

    def close(self):
        self.session.close()


def json_body(response, service, what):
    """The JSON of a response, or an error saying the URL probably points elsewhere."""
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type")
        raise CoconutEntraError(f"{service} answered {response.status_code} with a body that is not JSON while {what} ({kind}); "
                                f"check the URL points at {service}",
                                service=service, status=response.status_code) from None
