"""coconut_url answering, but not as the Coconut API (a mistyped host, a proxy's or a login page): the run stops at
the first answer with what came back (status, content type, the path asked, a short safe snippet), not as a refused
token, "not connected" or a JSON error, and writes nothing (issue 12)."""

from __future__ import annotations

import pytest

from . import team
from .direct import run_sync

pytestmark = pytest.mark.integration

API = r"^/api/v2/"
PAGE = "<!DOCTYPE html>\n<html><head><title>Welcome to\n nginx!</title></head><body>Bearer {token} <b>hi</b></body></html>"


def scenario():
    return team.scenario()


@pytest.fixture
def site(module_sandbox):
    module_sandbox.reset(scenario())
    return module_sandbox


def html(status, token):
    return {"service": "coconut", "path": API, "status": status, "times": None,
            "headers": {"Content-Type": "text/html; charset=utf-8"}, "body": PAGE.format(token=token)}


@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "apply"])
@pytest.mark.parametrize("status", [200, 401, 404, 502])
def test_an_html_page_at_coconut_url_says_it_is_not_the_coconut_api_and_writes_nothing(site, status, check_mode):
    token = site.vars["coconut_api_token"]
    site.faults([html(status, token)])
    site.clear_requests()
    outcome = run_sync(site, check_mode=check_mode, http_options={"sleep": lambda seconds: None})
    assert not outcome.ok
    msg = outcome.msg
    assert msg.startswith("the server at coconut_url (%s) is not the Coconut API: GET /api/v2/" % site.vars["coconut_url"]), msg
    assert " answered %d text/html (\"Welcome to nginx!\") while " % status in msg, msg
    assert "check coconut_url" in msg and "refused the API token" not in msg and "not JSON" not in msg
    assert token not in msg and token not in repr(outcome.error.details)
    assert outcome.error.details["code"] == "not_coconut_api"
    assert site.writes("coconut") == []


@pytest.mark.parametrize("status, body", [
    (200, {"users": [], "ok": True}),  # some other JSON API
    (404, {"message": "Not Found"}),   # would otherwise read as "no integration record"
    (401, {"error": "unauthorized"}),  # would otherwise read as a refused Coconut token
], ids=["200", "404", "401"])
def test_json_that_is_not_json_api_is_not_taken_for_coconut(site, status, body):
    site.faults([{"service": "coconut", "path": API, "status": status, "times": None, "body": body}])
    outcome = run_sync(site, check_mode=False)
    assert not outcome.ok
    assert "is not the Coconut API: GET /api/v2/" in outcome.msg and " answered %d application/json (" % status in outcome.msg, outcome.msg
    assert site.writes("coconut") == []


def test_the_snippet_is_short_and_redacts_the_token_even_when_cut(site):
    token = site.vars["coconut_api_token"]
    site.faults([{"service": "coconut", "path": API, "status": 200, "times": None, "headers": {"Content-Type": "text/plain"},
                  "body": "x" * 60 + " " + token + " and then a lot more text " * 20}])
    outcome = run_sync(site, check_mode=True)
    assert token not in outcome.msg and token[:8] not in outcome.msg and "[redacted]" in outcome.msg, outcome.msg
    snippet = outcome.msg.split(' ("', 1)[1].split('")', 1)[0]
    assert len(snippet) <= 83, snippet


def test_the_real_api_still_syncs(site):
    outcome = run_sync(site)
    assert outcome.ok, outcome.msg
