"""HttpClient against a local HTTPS stub: retries, Retry-After, TLS trust, clear failures."""

from __future__ import annotations

import socket
import threading

import pytest
import trustme
from test_client_stub import Stub

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.http import HttpClient, ServiceUnreachable, _retry_after


@pytest.fixture
def stub(tmp_path):
    with Stub() as server:
        server.ca_path = server.ca_file(tmp_path)
        yield server


def client(stub, waits=None, **kwargs):
    kwargs.setdefault("ca_path", stub.ca_path)
    recorder = waits if waits is not None else []
    return HttpClient("Coconut", stub.url + "/api/v2", sleep=recorder.append, **kwargs)


def test_429_with_integer_retry_after_waits_that_long_then_succeeds(stub):
    waits = []
    stub.script = [(429, {"Retry-After": "3"}, {}), (200, {}, {"data": 1})]
    assert client(stub, waits).request("GET", "users").json() == {"data": 1}
    assert waits == [3.0]


def test_429_with_fractional_retry_after_is_honoured(stub):
    waits = []
    stub.script = [(429, {"Retry-After": "2.128"}, {}), (429, {"Retry-After": "0.5"}, {}), (200, {}, {})]
    http = client(stub, waits)
    http.request("GET", "users")
    assert waits == [2.128, 0.5]
    assert http.stats["retries"] == 2 and http.stats["requests"] == 3


def test_retry_after_is_capped():
    assert _retry_after("3600", 60) == 60
    assert _retry_after("soon", 60) is None
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 60) == 0.0


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_and_unavailable_answers_are_retried_with_bounded_jitter(stub, status):
    waits = []
    stub.script = [(status, {}, {}), (status, {}, {}), (200, {}, {})]
    assert client(stub, waits, backoff_base=0.5, backoff_cap=20).request("GET", "users").status_code == 200
    assert len(waits) == 2
    assert 0 <= waits[0] <= 1.0 and 0 <= waits[1] <= 2.0  # full jitter: uniform in [0, base * 2**attempt]


def test_connection_reset_is_retried(stub):
    stub.script = ["reset", (200, {}, {"ok": 1})]
    waits = []
    assert client(stub, waits).request("GET", "users").json() == {"ok": 1}
    assert len(waits) == 1


def test_attempts_are_bounded_and_the_error_names_service_status_code_and_what(stub):
    waits = []
    stub.default = (503, {"Retry-After": "1"}, {"errors": [{"status": "503", "code": "maintenance", "detail": "back soon"}]})
    with pytest.raises(CoconutEntraError) as caught:
        client(stub, waits, max_attempts=4).request("GET", "users", what="listing Coconut staff")
    message = caught.value.msg
    assert "Coconut answered 503 maintenance while listing Coconut staff: back soon (after 4 attempts)" in message
    assert waits == [1.0, 1.0, 1.0] and len(stub.seen) == 4
    assert caught.value.details["status"] == 503 and caught.value.details["code"] == "maintenance"


@pytest.mark.parametrize("status", [400, 404, 500, 422])
def test_client_errors_and_500_are_not_retried(stub, status):
    waits = []
    stub.default = (status, {}, {"errors": [{"code": "bad", "detail": "nope", "source": {"pointer": "/data/attributes/email"}}]})
    with pytest.raises(CoconutEntraError) as caught:
        client(stub, waits).request("GET", "users")
    assert len(stub.seen) == 1 and waits == []
    assert "(at /data/attributes/email)" in caught.value.msg


def test_expected_statuses_are_returned_not_raised(stub):
    stub.default = (404, {}, {})
    assert client(stub).request("GET", "users/9", expected=(200, 404)).status_code == 404


def test_non_idempotent_post_is_not_retried_after_a_gateway_error_but_is_after_429(stub):
    stub.script = [(502, {}, {})]
    with pytest.raises(CoconutEntraError):
        client(stub).request("POST", "api-tokens", json={}, expected=(201,))
    assert len(stub.seen) == 1
    stub.script = [(429, {"Retry-After": "0"}, {}), (201, {}, {})]
    assert client(stub).request("POST", "api-tokens", json={}, expected=(201,)).status_code == 201


def test_idempotent_post_is_retried_after_a_reset(stub):
    stub.script = ["reset", (201, {}, {})]
    assert client(stub).request("POST", "users", json={}, expected=(201,), idempotent=True).status_code == 201
    stub.seen.clear()
    stub.script = ["reset"]
    with pytest.raises(CoconutEntraError, match="cannot reach Coconut"):
        client(stub).request("POST", "api-tokens", json={}, expected=(201,))
    assert len(stub.seen) == 1


def test_requests_ca_bundle_pointing_elsewhere_does_not_override_ca_path(stub, tmp_path, monkeypatch):
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other))
    assert client(stub).request("GET", "users").status_code == 200


def test_tls_failure_says_verification_failed_and_to_set_ca_path(stub, tmp_path):
    with pytest.raises(CoconutEntraError) as caught:
        client(stub, ca_path=None).request("GET", "users", what="listing Coconut staff")
    message = caught.value.msg
    assert "TLS certificate verification of Coconut at https://127.0.0.1" in message
    assert "set ca_path" in message and "validate_certs" not in message
    assert len(stub.seen) == 0


def test_tls_failure_with_the_wrong_ca_path_names_that_file(stub, tmp_path):
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(CoconutEntraError, match="check that ca_path .*other.pem"):
        client(stub, ca_path=str(other)).request("GET", "users")


def test_validate_certs_false_skips_verification(stub):
    assert client(stub, ca_path=None, validate_certs=False).request("GET", "users").status_code == 200


def test_unreachable_host_is_named_with_reason_and_fix():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the with block ends: nothing listens there
    waits = []
    http = HttpClient("Coconut", f"https://127.0.0.1:{port}/api/v2", sleep=waits.append, max_attempts=3)
    with pytest.raises(CoconutEntraError) as caught:
        http.request("GET", "users", what="listing Coconut staff")
    message = caught.value.msg
    assert message.startswith(f"cannot reach Coconut at https://127.0.0.1:{port} while listing Coconut staff:")
    assert "Connection refused" in message and message.endswith("check the URL / network")
    assert len(waits) == 2


def test_unresolvable_host_fails_at_once():
    waits = []
    http = HttpClient("Coconut", "https://no-such-host.invalid/api/v2", sleep=waits.append)
    with pytest.raises(CoconutEntraError, match="cannot reach Coconut at https://no-such-host.invalid"):
        http.request("GET", "users")
    assert waits == []


def test_credentials_are_never_sent_to_another_host(stub):
    http = HttpClient("Microsoft Graph", stub.url + "/v1.0", ca_path=stub.ca_path, headers_fn=lambda: {"Authorization": "Bearer x"})
    with pytest.raises(CoconutEntraError, match="refusing to send Microsoft Graph credentials to https://evil.example"):
        http.request("GET", "https://evil.example/v1.0/groups")


def test_headers_fn_is_called_per_attempt_and_paths_join_the_base(stub):
    calls = []

    def headers():
        calls.append(1)
        return {"Authorization": f"Bearer t{len(calls)}"}

    stub.script = [(503, {"Retry-After": "0"}, {}), (200, {}, {})]
    HttpClient("Coconut", stub.url + "/api/v2", ca_path=stub.ca_path, headers_fn=headers, sleep=lambda s: None).request("GET", "/users")
    assert [r["headers"]["Authorization"] for r in stub.seen] == ["Bearer t1", "Bearer t2"]
    assert stub.seen[0]["path"] == "/api/v2/users"


def test_concurrent_requests_share_one_client_and_count_exactly(stub):
    http = client(stub, pool_size=8)
    errors = []

    def work():
        try:
            for _unused in range(10):
                http.request("GET", "users")
        except Exception as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _unused in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert http.stats["requests"] == 80 and http.stats["by_method"] == {"GET": 80}


def test_non_json_error_body_is_summarised(stub):
    stub.default = (500, {"Content-Type": "text/html"}, b"<html>Bad gateway page</html>")
    with pytest.raises(CoconutEntraError, match="Coconut answered 500 while GET /api/v2/users: <html>Bad gateway page</html>"):
        client(stub).request("GET", "users")


def test_a_failed_tls_check_or_a_refused_connection_is_service_unreachable_and_an_answer_is_not(stub):
    with pytest.raises(ServiceUnreachable):
        client(stub, ca_path=None).request("GET", "users")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ServiceUnreachable):
        HttpClient("Coconut", f"https://127.0.0.1:{port}/api/v2", sleep=lambda s: None, max_attempts=1).request("GET", "users")
    stub.default = (503, {}, {"errors": [{"code": "unavailable"}]})
    with pytest.raises(CoconutEntraError) as answered:
        client(stub).request("GET", "users")
    assert not isinstance(answered.value, ServiceUnreachable) and answered.value.details["status"] == 503


@pytest.mark.parametrize("answer", [(429, {"Retry-After": "0"}, {}), (503, {}, {}), "reset"])
def test_a_request_sent_once_is_never_repeated(stub, answer):
    # The site lease's take: a repeat landing later could overwrite a lease another run confirmed meanwhile.
    stub.script = [answer, (200, {}, {})]
    with pytest.raises(CoconutEntraError):
        client(stub).request("PUT", "integrations/entra-id", json={}, once=True)
    assert len(stub.seen) == 1
