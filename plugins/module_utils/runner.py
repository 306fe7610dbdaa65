# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module does around its one call: check libraries, warn on insecure TLS, turn errors into failures."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import shown

# Static imports: Ansible packs into a module only the module_utils it can see imported.
from ansible_collections.coconut.entra.plugins.module_utils import entra as _entra  # noqa: E402
from ansible_collections.coconut.entra.plugins.module_utils import http as _http  # noqa: E402
from ansible_collections.coconut.entra.plugins.module_utils import mapping as _mapping  # noqa: E402

INSECURE_WARNING = ("validate_certs is false: TLS certificates are NOT verified, so anyone on the network path can read "
                    "the credentials and the staff data. Set ca_path to your CA bundle instead.")

_LIBRARIES = {
    "requests": (_http, "HAS_REQUESTS", "REQUESTS_IMPORT_ERROR"),
    "msal": (_entra, "HAS_MSAL", "MSAL_IMPORT_ERROR"),
    "jinja2": (_mapping, "HAS_JINJA2", "JINJA2_IMPORT_ERROR"),
}


def check_libraries(module, names=("requests", "msal", "jinja2")):
    for name in names:
        where, flag, error = _LIBRARIES[name]
        if not getattr(where, flag, True):
            module.fail_json(msg=missing_required_lib(name), exception=getattr(where, error, None))


def run_guarded(module, fn, libraries=("requests", "msal", "jinja2")):
    """Run `fn()` and return its result; a CoconutEntraError becomes fail_json with its message and details."""
    check_libraries(module, libraries)
    if module.params.get("validate_certs") is False:
        module.warn(INSECURE_WARNING)
    try:
        return fn()
    except CoconutEntraError as exc:
        details = dict(exc.details)
        result = details.pop("result", None) or {}
        result.pop("diff", None)
        result.update(details)
        # Messages may quote Entra or Coconut data: no terminal control gets through (our own line breaks stay).
        module.fail_json(msg=shown(exc.msg, keep="\n"), **result)
