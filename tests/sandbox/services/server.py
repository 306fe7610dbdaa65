"""The HTTP layer: one TLS listener per service, request parsing and answers, and the command line."""

import argparse
import base64
import io
import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import trustme
import yaml

from .common import SERVICES, Reply, coconut_error, default_error_body, dumps, graph_error, login_error
from .state import Sandbox


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "coconut-entra-sandbox"
    sys_version = ""
    timeout = 600
    disable_nagle_algorithm = True  # headers and body go out as separate writes: without this, delayed ACKs add ~20-40 ms

    def setup(self):
        # TLS handshake in the connection's own thread, so one slow client never stalls accept().
        self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            self.request.close()

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_HEAD(self):
        self.handle_any("HEAD")

    def handle_any(self, method):
        sandbox, service = self.server.sandbox, self.server.service
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if service == "coconut" and self.path.startswith("/_sandbox"):
            reply = self.run(lambda: sandbox.control(method, self.path, self.parse_json(raw, "coconut")), service)
            self.respond(reply, self.encode(reply))
            return
        started = time.perf_counter()
        fault = sandbox.take_fault(service, method, self.path)
        if fault is not None and fault.reset:
            time.sleep(sandbox.latency)
            sandbox.log(service, method, self.path, None)
            self.drop_connection()
            return
        if fault is not None and not fault.serve:
            body = fault.body if fault.body is not None else default_error_body(service, fault.status, fault.headers)
            reply = Reply(fault.status, body, headers=fault.headers)
        else:
            reply = self.run(lambda: self.route(method, raw), service)
        data = self.encode(reply)
        # the sandbox's own time, so benchmarks can tell it from the client's
        reply.headers = {**reply.headers, "Server-Timing": f"app;dur={(time.perf_counter() - started) * 1000:.2f}"}
        time.sleep(sandbox.latency + (fault.delay if fault is not None else 0))
        sandbox.log(service, method, self.path, reply.status)
        self.respond(reply, data)

    def run(self, route, service):
        try:
            with self.server.sandbox.lock:
                result = route()
        except Reply as reply:
            return reply
        except Exception:  # noqa: BLE001 - a sandbox bug answers 500 and is printed, never kills the listener
            traceback.print_exc(limit=8)
            return Reply(500, default_error_body(service, 500, {}))
        return result if isinstance(result, Reply) else Reply(500, default_error_body(service, 500, {}))

    def parse_json(self, raw, service):
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            if service == "coconut":
                raise coconut_error(400, "invalid_json", "The body is not valid JSON.") from None
            raise graph_error(400, "BadRequest", "Unable to read JSON request payload.") from None

    def route(self, method, raw):
        sandbox, service = self.server.sandbox, self.server.service
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        if service == "login":
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("basic ") and "client_secret" not in form:
                try:
                    client_id, _unused, secret = base64.b64decode(auth[6:]).decode().partition(":")
                except ValueError:
                    raise login_error(401, "invalid_client", 7000216, "The Basic authorization header is malformed.",
                                      sandbox.urls["login"]) from None
                form.setdefault("client_id", unquote(client_id))
                form["client_secret"] = unquote(secret)
            return sandbox.login(method, split.path, form)
        if service == "graph":
            return sandbox.graph(method, split.path, query, split.query, self.parse_json(raw, service), self.headers)
        body = self.parse_json(raw, service)
        return sandbox.coconut_api(method, split.path, query, body, self.headers)

    @staticmethod
    def encode(reply):
        body = reply.body
        if body is None:
            return b""
        if isinstance(body, bytes | bytearray):
            return bytes(body)
        if isinstance(body, str):
            return body.encode()
        return dumps(body)

    def respond(self, reply, data):
        self.send_response(reply.status)
        content_type = reply.content_type if data else None
        headers = dict(reply.headers)
        if content_type and not any(k.lower() == "content-type" for k in headers):
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def drop_connection(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True
        self.wfile = io.BytesIO()
        self.rfile = io.BytesIO()


class Listener(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, port, service, sandbox, ssl_context):
        self.service = service
        self.sandbox = sandbox
        self.ssl_context = ssl_context
        super().__init__(("127.0.0.1", port), Handler)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError | ssl.SSLError | ConnectionError):
            traceback.print_exc(limit=8)


def load_scenario(path):
    with open(path, "rb") as handle:
        text = handle.read()
    if path.endswith(".json") or text.lstrip()[:1] in (b"{", b"["):
        return json.loads(text)
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


def write_atomically(path, text):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Entra, Graph and Coconut sandbox")
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--vars-out", required=True)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--port-base", type=int, default=0)
    args = parser.parse_args(argv)

    started = time.monotonic()
    sandbox = Sandbox(load_scenario(args.scenario), latency_ms=args.latency_ms)
    ca = trustme.CA(organization_name="coconut.entra sandbox")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    vars_path = os.path.abspath(args.vars_out)
    sandbox.ca_path = vars_path + ".ca.pem"
    ca.cert_pem.write_to_path(sandbox.ca_path)

    listeners = []
    for offset, service in enumerate(SERVICES):
        listener = Listener(args.port_base + offset if args.port_base else 0, service, sandbox, context)
        sandbox.urls[service] = f"https://127.0.0.1:{listener.server_address[1]}"
        listeners.append(listener)
    threads = [threading.Thread(target=lst.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True) for lst in listeners]
    for thread in threads:
        thread.start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_unused: stop.set())
    signal.signal(signal.SIGINT, lambda *_unused: stop.set())
    write_atomically(vars_path, yaml.safe_dump(sandbox.vars(), sort_keys=False))
    print(f"sandbox ready in {time.monotonic() - started:.2f}s: login {sandbox.urls['login']}, graph {sandbox.urls['graph']}, "
          f"coconut {sandbox.urls['coconut']}", file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    for listener in listeners:  # serving threads are daemons: closing the sockets is enough
        listener.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
