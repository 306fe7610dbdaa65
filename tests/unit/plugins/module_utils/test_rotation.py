"""Rotation logic without a network: which secret is in use, bounded waiting, and cleanup of what was half made."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.coconut.entra.plugins.module_utils import rotation, times
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError

NOW = datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)


def cred(key_id, hint, end="2026-12-01T00:00:00Z", name=None):
    return {"keyId": key_id, "hint": hint, "displayName": name, "startDateTime": "2026-01-01T00:00:00Z", "endDateTime": end}


def refused():
    return CoconutEntraError("Entra refused a token: the client secret is wrong (AADSTS7000215)", aadsts="AADSTS7000215")


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


# ---- which secret is in use ---------------------------------------------------------------------


def test_the_secret_in_use_is_found_by_its_hint():
    creds = [cred("k-old", "abc"), cred("k-other", "xyz")]
    assert rotation.identify_current_secret(creds, "abcdef-secret") == ("k-old", None)


def test_two_secrets_with_the_same_hint_need_the_key_id():
    creds = [cred("k-1", "abc"), cred("k-2", "abc")]
    key_id, why = rotation.identify_current_secret(creds, "abcdef")
    assert key_id is None and "entra_secret_key_id" in why and "k-1" in why and "k-2" in why


def test_a_given_key_id_wins_over_an_ambiguous_hint():
    creds = [cred("k-1", "abc"), cred("k-2", "abc")]
    assert rotation.identify_current_secret(creds, "abcdef", key_id="k-2") == ("k-2", None)


def test_a_given_key_id_whose_hint_does_not_match_is_refused():
    key_id, why = rotation.identify_current_secret([cred("k-1", "zzz")], "abcdef", key_id="k-1")
    assert key_id is None and "not the one in use" in why


def test_an_unknown_key_id_is_refused():
    key_id, why = rotation.identify_current_secret([cred("k-1", "abc")], "abcdef", key_id="k-9")
    assert key_id is None and "k-9" in why


def test_a_secret_of_another_app_matches_nothing():
    key_id, why = rotation.identify_current_secret([cred("k-1", "abc")], "zzzzzz")
    assert key_id is None and "another app" in why


def test_without_hints_the_key_id_is_needed():
    key_id, why = rotation.identify_current_secret([cred("k-1", None)], "abcdef")
    assert key_id is None and "entra_secret_key_id" in why


def test_no_message_carries_the_secret_text():
    text = "abc-very-secret-text"
    for creds, key_id in (([cred("k-1", "abc"), cred("k-2", "abc")], None), ([cred("k-1", "zzz")], "k-1"), ([cred("k-1", "q")], None)):
        _key_id, why = rotation.identify_current_secret(creds, text, key_id=key_id)
        assert text not in why


# ---- listing and expiry -------------------------------------------------------------------------


def test_secrets_expiring_within_30_days_are_warned_about():
    creds = [cred("k-soon", "abc", end="2026-05-20T00:00:00Z", name="old"), cred("k-later", "xyz", end="2026-11-01T00:00:00Z"),
             cred("k-gone", "qqq", end="2026-04-01T00:00:00Z")]
    secrets = rotation.describe_secrets(creds, now=NOW, current_key_id="k-soon")
    by_id = {s["key_id"]: s for s in secrets}
    assert by_id["k-soon"]["expires_in_days"] == 19 and by_id["k-soon"]["current"] is True
    assert by_id["k-gone"]["expired"] is True
    warnings = rotation.expiry_warnings(secrets)
    assert len(warnings) == 2
    assert any("k-soon" in w and "in 19 days" in w and "rotate_token.yml" in w for w in warnings)
    assert any("k-gone" in w and "expired" in w for w in warnings)


def test_graph_datetimes_with_seven_fraction_digits_parse():
    assert times.parse_datetime("2026-11-01T10:00:00.1234567Z") == datetime.datetime(2026, 11, 1, 10, 0, 0, 123456, tzinfo=datetime.UTC)


def test_the_date_helpers_work_on_python_3_10_which_has_no_datetime_utc(monkeypatch):
    # ansible-core 2.16 and 2.17 run modules on Python 3.10: datetime.UTC came in 3.11.
    monkeypatch.delattr(datetime, "UTC")
    end = rotation.end_of_lifetime(180, now=times.parse_datetime("2026-05-01T00:00:00Z"))
    assert times.format_datetime(end) == "2026-10-28T00:00:00Z"
    assert times.parse_datetime("2026-05-01T00:00:00").utcoffset() == datetime.timedelta(0)
    assert times.utcnow().utcoffset() == datetime.timedelta(0)
    assert rotation.describe_secrets([cred("k-old", "abc")], current_key_id="k-old")[0]["current"] is True


def test_a_lifetime_below_one_day_is_refused():
    with pytest.raises(CoconutEntraError, match="lifetime_days"):
        rotation.end_of_lifetime(0)


# ---- bounded waiting ----------------------------------------------------------------------------


def test_waiting_retries_a_not_yet_replicated_secret_until_accepted():
    clock = Clock()
    answers = [refused(), refused(), refused(), "token"]

    def attempt():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    value, attempts, waited = rotation.wait_until_accepted(attempt, timeout=30, clock=clock, sleep=clock.sleep)
    assert (value, attempts) == ("token", 4)
    assert waited == sum(clock.sleeps) and len(clock.sleeps) == 3


def test_waiting_gives_up_at_the_deadline():
    clock = Clock()

    def attempt():
        raise refused()

    with pytest.raises(CoconutEntraError) as caught:
        rotation.wait_until_accepted(attempt, timeout=10, clock=clock, sleep=clock.sleep)
    assert caught.value.details["timed_out"] is True
    assert clock.now <= 10


def test_waiting_does_not_retry_other_errors():
    clock = Clock()
    calls = []

    def attempt():
        calls.append(1)
        raise CoconutEntraError("expired", aadsts="AADSTS7000222")

    with pytest.raises(CoconutEntraError, match="expired"):
        rotation.wait_until_accepted(attempt, timeout=10, clock=clock, sleep=clock.sleep)
    assert len(calls) == 1 and clock.sleeps == []


# ---- add, wait, prove, clean up -----------------------------------------------------------------


class FakeEntra:
    """The app registration: secrets by key id; login accepts a new secret after `propagation` attempts."""

    def __init__(self, propagation=0, deny=None, fail_remove=False):
        self.secrets = {"k-old": "old-secret"}
        self.propagation = propagation
        self.deny = deny
        self.fail_remove = fail_remove
        self.logins = 0

    def add_password(self, app_object_id, display_name, end_datetime):
        self.secrets["k-new"] = "new-secret-text"
        return {"keyId": "k-new", "secretText": "new-secret-text", "hint": "new", "endDateTime": end_datetime}

    def remove_password(self, app_object_id, key_id):
        if self.fail_remove:
            raise CoconutEntraError("Graph answered 503")
        del self.secrets[key_id]
        return True

    def client(self, secret):
        entra = self

        class Client:
            def token(self):
                entra.logins += 1
                if secret not in entra.secrets.values() or entra.logins <= entra.propagation:
                    raise refused()
                return "access-token"

            def check_permission(self, name):
                if name == entra.deny:
                    raise CoconutEntraError(f"Graph refused: grant the application permission {name}", permission=name)
                return True

        return Client()


def add(entra, **kwargs):
    clock = Clock()
    kwargs.setdefault("wait_timeout", 60)
    return rotation.add_entra_secret(entra, entra.client, "app-object", "rotated", "2026-11-01T00:00:00Z",
                                     sleep=clock.sleep, clock=clock, **kwargs)


def test_a_new_secret_is_kept_once_login_accepts_it_and_the_reads_work():
    entra = FakeEntra(propagation=3)
    new = add(entra)
    assert new["keyId"] == "k-new" and new["attempts"] == 4
    assert set(entra.secrets) == {"k-old", "k-new"}


def test_a_new_secret_never_accepted_is_removed_and_the_step_named():
    entra = FakeEntra(propagation=10_000)
    with pytest.raises(CoconutEntraError) as caught:
        add(entra, wait_timeout=5)
    msg = caught.value.msg
    assert "wait until Entra login accepts the new client secret" in msg
    assert "k-new) was removed" in msg and "still works" in msg and "wait_timeout" in msg
    assert set(entra.secrets) == {"k-old"}
    assert "new-secret-text" not in msg


def test_a_missing_permission_removes_the_new_secret_and_names_the_permission():
    entra = FakeEntra(deny="User.Read.All")
    with pytest.raises(CoconutEntraError) as caught:
        add(entra)
    assert "prove the sync's Graph reads" in caught.value.msg and "User.Read.All" in caught.value.msg
    assert caught.value.details["step"].startswith("prove")
    assert set(entra.secrets) == {"k-old"}


def test_a_cleanup_that_fails_says_what_to_remove_by_hand():
    entra = FakeEntra(deny="GroupMember.Read.All", fail_remove=True)
    with pytest.raises(CoconutEntraError) as caught:
        add(entra)
    assert "could NOT be removed" in caught.value.msg and "k-new" in caught.value.msg


class FakeCoconut:
    def __init__(self, broken_new=False):
        self.tokens = {"t1": "old-token"}
        self.broken_new = broken_new

    def client(self, value):
        coconut = self

        class Client:
            def whoami(self):
                return next(({"id": i, "current": True} for i, v in coconut.tokens.items() if v == value), {})

            def create_api_token(self, name):
                coconut.tokens["t2"] = "new-token"
                return {"id": "t2", "name": name, "token": "new-token"}

            def check_token(self):
                if value not in coconut.tokens.values() or (coconut.broken_new and value == "new-token"):
                    raise CoconutEntraError("Coconut refused the API token (token_invalid)", status=401)
                return True

            def delete_api_token(self, token_id):
                return coconut.tokens.pop(token_id, None) is not None

        return Client()


def test_a_new_token_is_proven_and_names_the_token_it_replaces():
    coconut = FakeCoconut()
    new = rotation.add_coconut_token(coconut.client("old-token"), coconut.client, "rotated")
    assert new["id"] == "t2" and new["replaces"] == "t1"


def test_a_new_token_that_does_not_work_is_revoked():
    coconut = FakeCoconut(broken_new=True)
    with pytest.raises(CoconutEntraError) as caught:
        rotation.add_coconut_token(coconut.client("old-token"), coconut.client, "rotated")
    assert "prove the new Coconut API token" in caught.value.msg and "t2) was revoked" in caught.value.msg
    assert set(coconut.tokens) == {"t1"}
    assert "new-token" not in caught.value.msg


# ---- the api_token and entra_app_secret modules' logic -----------------------------------------


class TokenSite(FakeCoconut):
    """FakeCoconut with the token list the api_token module reads; `revoked` records every revoke."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.revoked = []

    def client(self, value):
        coconut, base = self, super().client(value)

        class Client(type(base)):
            def list_api_tokens(self):
                return [{"id": i, "name": "token " + i, "created_at": None, "current": v == value} for i, v in coconut.tokens.items()]

            def delete_api_token(self, token_id):
                coconut.revoked.append(token_id)
                return super().delete_api_token(token_id)

        return Client()


def tokens(site, **kwargs):
    return rotation.manage_api_tokens(site.client("old-token"), site.client, **kwargs)


def test_listing_tokens_marks_the_one_in_use_and_changes_nothing():
    site = TokenSite()
    result = tokens(site)
    assert result["changed"] is False and result["current_id"] == "t1"
    assert result["tokens"] == [{"id": "t1", "name": "token t1", "created_at": None, "current": True}]


def test_a_new_token_in_check_mode_is_predicted_and_not_made():
    site = TokenSite()
    result = tokens(site, state="present", name="next", check_mode=True)
    assert result["changed"] is True and result["replaces_id"] == "t1" and "token" not in result
    assert set(site.tokens) == {"t1"}
    assert [t["id"] for t in result["tokens"]] == ["t1", None]


def test_a_new_token_is_returned_with_the_one_it_replaces():
    site = TokenSite()
    result = tokens(site, state="present", name="next")
    assert result["id"] == "t2" and result["token"] == "new-token" and result["replaces_id"] == "t1"
    assert all("token" not in t for t in result["tokens"])


def test_the_token_in_use_is_never_revoked():
    site = TokenSite()
    with pytest.raises(CoconutEntraError, match="refusing to revoke Coconut API token t1"):
        tokens(site, state="absent", token_id="t1")
    assert site.revoked == []


def test_revoking_another_token_and_an_unknown_id():
    site = TokenSite()
    site.tokens["t0"] = "older-token"
    assert tokens(site, state="absent", token_id="t0", check_mode=True)["changed"] is True
    assert site.revoked == []
    assert tokens(site, state="absent", token_id="t0")["changed"] is True
    assert site.revoked == ["t0"]
    assert tokens(site, state="absent", token_id="t9")["changed"] is False and site.revoked == ["t0"]


class AppSite(FakeEntra):
    """FakeEntra with the app registration the entra_app_secret module reads."""

    def __init__(self, ends=None, **kwargs):
        super().__init__(**kwargs)
        self.ends = ends or {}
        self.removed = []
        self.proved = []

    def get_application(self, object_id=None, app_id=None):
        return {"id": "app-object", "appId": "app-id", "displayName": "Coconut staff sync",
                "passwordCredentials": [{"keyId": k, "hint": v[:3], "endDateTime": self.ends.get(k, "2099-01-01T00:00:00Z")}
                                        for k, v in self.secrets.items()]}

    def add_password(self, app_object_id, display_name, end_datetime):
        return super().add_password(app_object_id, display_name, times.format_datetime(end_datetime))  # Graph answers text

    def remove_password(self, app_object_id, key_id):
        self.removed.append(key_id)
        return super().remove_password(app_object_id, key_id)

    def client(self, secret):
        site, base = self, super().client(secret)

        class Client(type(base)):
            def check_permission(self, name):
                site.proved.append(name)
                return super().check_permission(name)

        return Client()


def app_secrets(site, check_mode=False, warn=None, **given):
    """The module's call; the fake app itself is the signed-in client (get_application, add_password, remove_password)."""
    p = {"entra_client_secret": "old-secret", "lifetime_days": 180, "wait_timeout": 0, "state": None}
    p.update(given)
    return rotation.manage_app_secrets(site, site.client, p, check_mode=check_mode, warn=warn)


def test_listing_secrets_finds_the_one_in_use_by_its_hint():
    result = app_secrets(AppSite())
    assert result["changed"] is False and result["current_key_id"] == "k-old"
    assert [s["key_id"] for s in result["secrets"]] == ["k-old"] and result["secrets"][0]["current"] is True


def test_the_secret_in_use_is_never_removed():
    site = AppSite()
    with pytest.raises(CoconutEntraError, match="refusing to remove client secret k-old"):
        app_secrets(site, state="absent", key_id="k-old")
    assert site.removed == [] and set(site.secrets) == {"k-old"}


def test_removing_another_secret_and_check_mode():
    site = AppSite()
    site.secrets["k-2"] = "two-secret"
    assert app_secrets(site, state="absent", key_id="k-2", check_mode=True)["changed"] is True
    assert site.removed == []
    result = app_secrets(site, state="absent", key_id="k-2")
    assert result["changed"] is True and site.removed == ["k-2"] and [s["key_id"] for s in result["secrets"]] == ["k-old"]


def test_require_current_adds_nothing_when_the_secret_in_use_is_unknown():
    site = AppSite()
    with pytest.raises(CoconutEntraError, match="identify the client secret in use"):
        app_secrets(site, state="present", entra_client_secret="someone-elses", require_current=True)
    assert set(site.secrets) == {"k-old"}


def test_a_new_secret_in_check_mode_is_predicted_and_not_added():
    site = AppSite()
    result = app_secrets(site, state="present", display_name="next", check_mode=True)
    assert result["changed"] is True and result["replaces_key_id"] == "k-old" and "secret" not in result
    assert set(site.secrets) == {"k-old"}


def test_a_new_secret_is_proven_with_the_given_permissions_only():
    site = AppSite()
    result = app_secrets(site, state="present", wait_timeout=5, prove_permissions=["User.Read.All"])
    assert result["key_id"] == "k-new" and result["secret"] == "new-secret-text" and result["replaces_key_id"] == "k-old"
    assert site.proved == ["User.Read.All"]
    none_proved = AppSite()
    app_secrets(none_proved, state="present", wait_timeout=5, prove_permissions=[])
    assert none_proved.proved == []


def test_secrets_about_to_expire_are_warned_about_through_warn():
    site = AppSite(ends={"k-old": "2000-01-01T00:00:00Z"})
    warnings = []
    app_secrets(site, warn=warnings.append)
    assert len(warnings) == 1 and "k-old" in warnings[0] and "expired" in warnings[0]


# ---- a removal as a named rotation step (rotate_token.yml's rescues) -----------------------------


def test_an_undo_removes_the_new_secret_and_fails_with_the_failed_steps_error():
    site = AppSite()
    site.secrets["k-new"] = "new-secret-text"
    with pytest.raises(CoconutEntraError) as caught:
        app_secrets(site, state="absent", key_id="k-new", rotation_step="write the credentials file", undo_error="the file is read-only.")
    assert caught.value.msg == ("rotation step 'write the credentials file' failed: the file is read-only. The new client secret "
                                "(key id k-new) was removed; the secret in use is unchanged and still works")
    assert site.removed == ["k-new"] and caught.value.details["step"] == "write the credentials file"


def test_an_undo_whose_removal_fails_says_to_remove_it_by_hand():
    site = AppSite(fail_remove=True)
    site.secrets["k-new"] = "new-secret-text"
    with pytest.raises(CoconutEntraError) as caught:
        app_secrets(site, state="absent", key_id="k-new", rotation_step="write the credentials file", undo_error="read-only")
    assert "failed: read-only. The new client secret (key id k-new) could NOT be removed (Graph answered 503)" in caught.value.msg


def test_a_removal_that_fails_as_a_step_names_the_step_and_what_is_left():
    site = AppSite(fail_remove=True)
    site.secrets["k-2"] = "two-secret"
    with pytest.raises(CoconutEntraError) as caught:
        app_secrets(site, state="absent", key_id="k-2", rotation_step="remove the old client secret")
    assert caught.value.msg == ("rotation step 'remove the old client secret' failed: Graph answered 503. The client secret (key id k-2) "
                                "is still on the app: remove it in the Entra admin center (Certificates & secrets)")


def test_a_removal_that_works_as_a_step_returns_as_usual():
    site = AppSite()
    site.secrets["k-2"] = "two-secret"
    assert app_secrets(site, state="absent", key_id="k-2", rotation_step="remove the old client secret")["changed"] is True


def test_a_token_undo_revokes_the_new_token_and_fails_with_the_failed_steps_error():
    site = TokenSite()
    site.tokens["t2"] = "new-token"
    with pytest.raises(CoconutEntraError) as caught:
        tokens(site, state="absent", token_id="t2", step="write the credentials file", undo_error="disk full")
    assert caught.value.msg == ("rotation step 'write the credentials file' failed: disk full. The new API token (id t2) was revoked; "
                                "the token in use is unchanged and still works")
    assert site.revoked == ["t2"]


def test_a_token_revoke_refused_as_a_step_says_the_token_is_still_valid():
    site = TokenSite()
    with pytest.raises(CoconutEntraError) as caught:
        tokens(site, state="absent", token_id="t1", step="revoke the old Coconut API token")
    assert caught.value.msg.startswith("rotation step 'revoke the old Coconut API token' failed: refusing to revoke")
    assert caught.value.msg.endswith("The token (id t1) is still valid: revoke it in Coconut") and site.revoked == []
