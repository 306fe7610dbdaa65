"""The control API under /_sandbox on the Coconut listener: state, request log, faults, edits."""

import re


from .common import Fault, Reply, edit_records, new_guid, next_int


class ControlService:
    """Control endpoints (no auth): a mixin of Sandbox."""

    def control(self, method, path, body):
        route = path.split("?", 1)[0][len("/_sandbox"):].rstrip("/")
        if route == "/state" and method == "GET":
            raise Reply(200, self.dump())
        if route == "/state" and method == "PUT":
            try:
                self.load(body)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise Reply(400, {"error": f"bad scenario: {exc}"}) from None
            raise Reply(204)
        if route == "/requests" and method == "GET":
            with self.lock:
                raise Reply(200, list(self.request_log))
        if route == "/requests" and method == "DELETE":
            with self.lock:
                self.request_log.clear()
            raise Reply(204)
        if route == "/faults" and method == "GET":
            with self.lock:
                raise Reply(200, [{**f.spec, "seen": f.seen, "fired": f.fired} for f in self.faults])
        if route == "/faults" and method == "PUT":
            if not isinstance(body, list):
                raise Reply(400, {"error": "faults must be a list"})
            try:
                faults = [Fault(spec) for spec in body]
            except (re.error, TypeError, ValueError, AttributeError) as exc:
                raise Reply(400, {"error": f"bad fault: {exc}"}) from None
            with self.lock:
                self.faults = faults
            raise Reply(204)
        if route in ("/entra", "/coconut") and method == "PATCH":
            if not isinstance(body, dict):
                raise Reply(400, {"error": "body must be an object"})
            with self.lock:
                self.patch_entra(body) if route == "/entra" else self.patch_coconut(body)
            raise Reply(204)
        if route == "/delta/invalidate" and method == "POST":
            with self.lock:
                self.delta_tokens.clear()
                self.delta_pages.clear()
            raise Reply(204)
        raise Reply(404, {"error": f"no control endpoint {method} {route}"})

    def patch_entra(self, body):
        entra = dict(self.entra)
        for key, value in body.items():
            if key in ("users", "groups", "applications"):
                value = edit_records(entra.get(key) or [], value, "id" if key != "applications" else "app_id", lambda _r: new_guid())
            entra[key] = value
        self.set_entra(entra)

    def patch_coconut(self, body):
        coconut = self.dump()["coconut"]
        for key, value in body.items():
            if key in ("users", "locations", "user_groups"):
                value = edit_records(coconut.get(key) or [], value, "id", next_int)
            elif key == "api_tokens":
                value = edit_records(coconut.get(key) or [], value, "id", lambda r: f"t{len(r) + 1}")
            coconut[key] = value
        self.set_coconut(coconut)
