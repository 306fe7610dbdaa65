# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module does around its one call: check libraries, warn on insecure TLS, turn errors into failures."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError

_LIBRARIES = (
    ("requests", "ansible_collections.coconut.entra.plugins.module_utils.http", "HAS_REQUESTS", "REQUESTS_IMPORT_ERROR"),
    ("msal", "ansible_collections.coconut.entra.plugins.module_utils.entra", "HAS_MSAL", "MSAL_IMPORT_ERROR"),
    ("jinja2", "ansible_collections.coconut.entra.plugins.module_utils.mapping", "HAS_JINJA2", "JINJA2_IMPORT_ERROR"),
)


def check_libraries(module, names=("requests", "msal", "jinja2")):
    import importlib

    for name, where, flag, error in _LIBRARIES:
        if name not in names:
            continue
        mod = importlib.import_module(where)
        if not getattr(mod, flag, True):
            module.fail_json(msg=missing_required_lib(name), exception=getattr(mod, error, None))


def run_guarded(module, fn, libraries=("requests", "msal", "jinja2")):
    """Run `fn()` and return its result; a CoconutEntraError becomes fail_json with its message and details."""
    check_libraries(module, libraries)
    if module.params.get("validate_certs") is False:
        module.warn("validate_certs is false: TLS certificates are NOT verified, so anyone on the network path can read "
                    "the credentials and the staff data. Set ca_path to your CA bundle instead.")
    try:
        return fn()
    except CoconutEntraError as exc:
        details = dict(exc.details)
        result = details.pop("result", None) or {}
        result.pop("diff", None)
        result.update(details)
        module.fail_json(msg=exc.msg, **result)
