"""Run the staff_sync module's one call (Sync.run) in this process, against the sandbox.

The module is a thin shell around it (argument spec, exit_json), so for fault tests that
only exercise the clients, the planner and apply, this is as honest as the playbook and
takes a tenth of the time. Tests about what the user sees go through the playbook.
"""

from __future__ import annotations

from ansible_collections.coconut.entra.plugins.module_utils.common import coconut_client_from_params, entra_client_from_params
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.sync import Sync

from . import team

CONNECTION = ("entra_tenant_id", "entra_client_id", "entra_client_secret", "entra_authority_host", "entra_graph_url",
              "coconut_url", "coconut_api_token", "ca_path")


def params(sandbox_vars, **options):
    """Module params as staff_sync would see them: the connection from the sandbox, the team group, the defaults."""
    p = {name: sandbox_vars[name] for name in CONNECTION}
    p.update(validate_certs=True, timeout=30, groups=[team.GROUP], membership="direct", mapping={},
             match=["object_id", "name_and_email", "display_name"], possible_duplicates="report",
             archive_threshold="50%", force_archive=False, send_invite=False, invalid_users="fail",
             archive_unsynced_duplicates=False, fail_on_drift=False, fail_on_conflicts=False, diff_max_entries=50,
             report=None)
    p.update(options)
    return p


class Outcome:
    """What one in-process run gave: its result, or its error (the module's fail_json msg), and its warnings."""

    def __init__(self, result=None, error=None, warnings=()):
        self.result = result
        self.error = error
        self.warnings = list(warnings)

    @property
    def ok(self):
        return self.error is None

    @property
    def msg(self):
        return self.error.msg if self.error is not None else ""

    def __repr__(self):
        return "Outcome(ok=%s, msg=%r, counts=%s)" % (self.ok, self.msg, (self.result or {}).get("counts"))


def run_sync(sandbox, check_mode=False, http_options=None, **options):
    """One sync, as the module runs it; never raises CoconutEntraError (returns it in the Outcome)."""
    p = params(sandbox.vars, **options)
    warnings = []
    try:
        entra = entra_client_from_params(p, **(http_options or {}))
        coconut = coconut_client_from_params(p, **(http_options or {}))
        try:
            result = Sync(entra, coconut, p, check_mode=check_mode, warn=warnings.append).run()
        finally:
            entra.graph.close()
            entra.login_http.close()
            coconut.close()
    except CoconutEntraError as exc:
        return Outcome(error=exc, warnings=warnings)
    return Outcome(result=result, warnings=warnings)
