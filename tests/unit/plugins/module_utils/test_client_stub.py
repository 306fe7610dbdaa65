"""A tiny local HTTPS server for client tests that need answers the sandbox does not give
(scripted statuses, dropped connections, a certificate from another CA). Imported by the
test_client_* / test_http tests; the self-tests below keep it honest."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import trustme


class Stub:
    """HTTPS on 127.0.0.1: `script` is a list of answers consumed in order, then `default` answers.

    An answer is (status, headers, body) or "reset" (the connection is dropped without a reply)
    or a callable(request) -> answer. Every request is recorded as {"method", "path", "headers", "body"}.
    """

    def __init__(self, ca=None):
        self.ca = ca or trustme.CA()
        self.cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.script = []
        self.default = (200, {}, {"ok": True})
        self.seen = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": raw.decode("utf-8", "replace")}
                with stub.lock:
                    stub.seen.append(request)
                    answer = stub.script.pop(0) if stub.script else stub.default
                if callable(answer):
                    answer = answer(request)
                if answer == "reset":
                    # SO_LINGER 0: close sends a RST, which requests sees as a connection reset.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.close_connection = True
                    self.connection.close()
                    return
                status, headers, body = answer
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                headers = dict(headers)
                headers.setdefault("Content-Type", "application/json")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.cert.configure_cert(context)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def ca_file(self, tmp_path, name="ca.pem"):
        path = tmp_path / name
        self.ca.cert_pem.write_to_path(str(path))
        return str(path)


@pytest.fixture
def stub(tmp_path):
    with Stub() as server:
        server.ca_path = server.ca_file(tmp_path)
        yield server


def test_stub_serves_scripted_answers_over_tls(stub):
    stub.script = [(201, {"X-Test": "1"}, {"a": 1})]
    first = requests.get(stub.url + "/x", verify=stub.ca_path, timeout=5)
    second = requests.get(stub.url + "/y", verify=stub.ca_path, timeout=5)
    assert (first.status_code, first.json(), first.headers["X-Test"]) == (201, {"a": 1}, "1")
    assert second.json() == {"ok": True}
    assert [r["path"] for r in stub.seen] == ["/x", "/y"]
