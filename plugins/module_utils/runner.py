# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module does around its one call: check libraries, warn on insecure TLS, turn errors into failures."""

from __future__ import annotations

import json
import os

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


BENCH = "COCONUT_ENTRA_BENCH"  # set by tests/bench/run.py and test_scale.py: "1", or a file for the figures


def process_age():
    """Seconds since this process started (Linux /proc, 10 ms steps), or None: only while benchmarked (BENCH set)."""
    if not os.environ.get(BENCH):
        return None
    try:
        with open("/proc/self/stat", encoding="ascii") as stat, open("/proc/uptime", encoding="ascii") as uptime:
            started = int(stat.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
            return round(float(uptime.read().split()[0]) - started, 3)
    except (OSError, ValueError, IndexError):
        return None


def add_bench_figures(result, timings, entered):
    """While benchmarked (BENCH set): this process's own peak memory, CPU (user + system, every thread), time per phase
    and when it entered (`entered`, process_age() then) and left the sync, under `bench` in `result`. When BENCH names
    a file, the same go there too, so that the bench needs no recording callback (it cost Ansible ~0.2 s a run)."""
    bench = os.environ.get(BENCH)
    if not bench:
        return
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["bench"] = {"peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                       "phases": timings, "started_s": entered, "finished_s": process_age()}
    if bench != "1":
        with open(bench, "w", encoding="utf-8") as handle:
            json.dump({key: result.get(key) for key in ("changed", "counts", "bench")}, handle)
