"""The outcome of a sync run as recorded on Coconut's integration record (issue 12): pure parts and the recording's
rules, with a stand-in Coconut client that records what it is asked."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.coconut.entra.plugins.module_utils import outcome
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.http import ServiceUnreachable

NOW = datetime.datetime(2026, 1, 6, 2, 0, 4, tzinfo=datetime.timezone.utc)
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


class FakeCoconut:
    def __init__(self, record=None, fail=None):
        self.record = record
        self.fail = fail
        self.updates = []
        self.stats = {"requests": 1}  # the run had asked Coconut something

    last_integration = None  # what the lease's first read saw (None: nothing read yet)

    def update_integration(self, change):
        """As CoconutClient's: a dict of keys, or a function of the record read now giving one (None: no write)."""
        if self.fail:
            raise self.fail
        if self.record is None:
            return None
        if callable(change):
            change = change(dict(self.record))
            if change is None:
                return self.record
        self.updates.append(change)
        self.record.update(change)
        return self.record


def raiser(error):
    def run():
        raise error
    return run


class FakeSync:
    def __init__(self, coconut, check_mode=False):
        self.coconut = coconut
        self.entra = None
        self.check_mode = check_mode


@pytest.mark.parametrize("error, status", [
    (None, "connected"),
    (CoconutEntraError("x", service="Entra login", error="invalid_client", aadsts="AADSTS7000222"), "token_revoked"),
    (CoconutEntraError("x", service="Entra login", error="unauthorized_client", aadsts="AADSTS700016"), "token_revoked"),
    (CoconutEntraError("x", service="Coconut", status=401, code="token_revoked"), "token_revoked"),
    (CoconutEntraError("x", service="Entra login", error="invalid_request", aadsts="AADSTS90002"), "failing"),
    (CoconutEntraError("x", service="Microsoft Graph", status=403, code="Authorization_RequestDenied"), "failing"),
    (CoconutEntraError("archives above the threshold"), "failing"),
    (KeyError("boom"), "failing"),
])
def test_the_verdict(error, status):
    assert outcome.verdict(error) == status


def test_the_error_in_words_is_redacted_escaped_and_bounded():
    text = outcome.error_text(CoconutEntraError("Graph said Bearer abc.def and %s\x1b[31m\n%s" % (JWT, "x" * 900)))
    assert "abc.def" not in text and "eyJ" not in text and "\x1b" not in text and "\n" not in text
    assert len(text) <= outcome.ERROR_CHARS + 3 and text.endswith("...")


def test_an_error_that_is_not_ours_is_recorded_by_its_type_only():
    assert outcome.error_text(KeyError("staff 'secret-value'")) == "internal error (KeyError); run with -vvv for details"


def test_a_real_run_sets_last_sync_and_the_records_status():
    good = outcome.outcome_of(False, {"changed": True, "counts": {"create": 2, "update": 0}, "scope": 9}, now=NOW)
    assert good == {"at": "2026-01-06T02:00:04Z", "mode": "apply", "status": "connected", "changed": True,
                    "counts": {"create": 2, "update": 0}, "scope": 9}
    assert outcome.record_updates(good) == {"last_sync_at": good["at"], "last_sync": good, "status": "connected"}


@pytest.mark.parametrize("result, error", [({"changed": True, "counts": {"create": 2}}, None), ({"changed": False}, None),
                                           (None, CoconutEntraError("x", service="Entra login", error="invalid_client"))])
def test_a_check_run_writes_nothing_to_the_record_either(result, error):
    # product.md: check mode writes nothing. The result still says what the run found.
    coconut = FakeCoconut(record={"status": "connected"})
    run = raiser(error) if error else (lambda: dict(result))
    if error:
        with pytest.raises(CoconutEntraError):
            outcome.run_recorded(FakeSync(coconut, check_mode=True), run)
        note = error.details["outcome"]
    else:
        note = outcome.run_recorded(FakeSync(coconut, check_mode=True), run)["outcome"]
    assert coconut.updates == [] and note["recorded"] is False and "check run writes nothing" in note["reason"]
    assert note["status"] == ("token_revoked" if error else "connected")


CONNECTED = {"status": "connected", "last_sync": {"at": "2026-01-05T00:00:00Z", "status": "connected", "changed": True}}


@pytest.mark.parametrize("seen_by_the_lease", [True, False])
@pytest.mark.parametrize("connected", [CONNECTED, {"status": "connected"}], ids=["after-a-run", "just-connected"])
def test_a_run_that_changed_nothing_writes_nothing_when_the_record_says_connected(seen_by_the_lease, connected):
    # product.md: a second run right after a real run reports changed: false and writes nothing.
    coconut = FakeCoconut(record=dict(connected))
    if seen_by_the_lease:
        coconut.last_integration = (dict(connected),)
    result = outcome.run_recorded(FakeSync(coconut), lambda: {"changed": False, "counts": {"unchanged": 4}})
    assert coconut.updates == [] and result["outcome"]["recorded"] is False
    assert "writes nothing" in result["outcome"]["reason"]


@pytest.mark.parametrize("record", [
    {"status": "token_revoked", "last_sync": {"status": "token_revoked"}},  # the credential works again: say so
    {"status": "connected", "last_sync": {"status": "failing", "error": "x"}},
])
def test_a_run_that_changed_nothing_still_records_when_the_record_tells_another_story(record):
    coconut = FakeCoconut(record=dict(record))
    coconut.last_integration = (dict(record),)
    result = outcome.run_recorded(FakeSync(coconut), lambda: {"changed": False, "counts": {"unchanged": 4}})
    assert result["outcome"]["recorded"] is True
    assert coconut.record["status"] == "connected" and coconut.record["last_sync"]["status"] == "connected"


def test_a_failing_run_keeps_the_records_status_which_coconut_knows_no_failing_for():
    entry = outcome.outcome_of(False, error=CoconutEntraError("3 archives above the threshold", result={"counts": {"archive": 3}}))
    assert entry["status"] == "failing" and entry["error"] == "3 archives above the threshold" and entry["counts"] == {"archive": 3}
    assert "status" not in outcome.record_updates(entry)


@pytest.mark.parametrize("error, why", [
    (ServiceUnreachable("cannot reach Coconut", service="Coconut"), "Coconut could not be reached"),
    (CoconutEntraError("revoked", service="Coconut", status=401), "refused the API token"),
    (CoconutEntraError("html", service="Coconut", status=200, code="not_coconut_api"), "not the Coconut API"),
    (CoconutEntraError("another sync is applying to this site", lease={"holder": "x"}), "records its own outcome"),
])
def test_nothing_is_recorded_when_coconut_cannot_take_it(error, why):
    coconut = FakeCoconut(record={"status": "connected"})
    with pytest.raises(type(error)):
        outcome.run_recorded(FakeSync(coconut), raiser(error))
    assert coconut.updates == []
    assert error.details["outcome"]["recorded"] is False and why in error.details["outcome"]["reason"]


def test_a_failure_to_record_never_fails_a_good_run():
    coconut = FakeCoconut(fail=CoconutEntraError("Coconut answered 500 while recording the Coconut Entra ID integration"))
    result = outcome.run_recorded(FakeSync(coconut), lambda: {"changed": False, "counts": {}})
    assert result["outcome"]["recorded"] is False and "recording it failed: Coconut answered 500" in result["outcome"]["reason"]


def test_an_unexpected_error_is_recorded_and_raised_unchanged():
    coconut = FakeCoconut(record={"status": "connected"})
    with pytest.raises(ZeroDivisionError):
        outcome.run_recorded(FakeSync(coconut), lambda: 1 / 0)
    assert coconut.updates[0]["last_sync"]["error"] == "internal error (ZeroDivisionError); run with -vvv for details"


def test_the_report_line():
    record = {"status": "token_revoked", "last_sync": {"at": "2026-01-06T02:00:04Z", "status": "token_revoked",
                                                       "error": "Entra refused a token (AADSTS7000222)"}}
    assert outcome.describe(record) == ("Coconut's Entra ID integration: token_revoked · last sync 2026-01-06T02:00:04Z: "
                                        "token_revoked: Entra refused a token (AADSTS7000222)")
    record = {"status": "connected", "last_sync": {"at": "2026-01-06T03:00:00Z", "status": "connected",
                                                   "counts": {"create": 2, "archive": 1}}}
    assert outcome.describe(record) == ("Coconut's Entra ID integration: connected · last sync 2026-01-06T03:00:00Z: "
                                        "connected (2 create, 1 archive)")
    assert outcome.describe(None) is None
    assert outcome.integration_view({"status": "connected", "lease": {"holder": "x"}, "delta_state": {}})["status"] == "connected"
    assert "lease" not in outcome.integration_view({"lease": {}})


def test_an_option_refused_before_any_request_is_bad_input_and_not_recorded():
    coconut = FakeCoconut(record={"status": "connected"})
    coconut.stats = {"requests": 0}
    error = CoconutEntraError("coconut_lease_ttl must be a number of seconds, 3 or more")
    with pytest.raises(CoconutEntraError):
        outcome.run_recorded(FakeSync(coconut), raiser(error))
    assert coconut.updates == [] and "outcome" not in error.details
