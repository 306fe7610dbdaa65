# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One undo run: check the report, read Coconut's staff, plan the reversal (undo.py), then show, apply and report it
with the sync's own machinery (render_diff, the site lease, apply_plan, the report). This file only puts them in order.
"""

from __future__ import annotations

import uuid

from ansible_collections.coconut.entra.plugins.module_utils.diff import plan_changes, render_diff
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import parse_archive_threshold, plan_is_empty
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import shown
from ansible_collections.coconut.entra.plugins.module_utils.sync import RESULT_CAP, _capped, _seconds
from ansible_collections.coconut.entra.plugins.module_utils.undo import LEFT_AS_IS, check_report, left_as_is_lines, read_report, undo_plan

# What of the module's options the undo's own report shows (the connection and its secrets never).
REPORT_OPTIONS = ("run_report", "archive_threshold", "force_archive")


class Undo:
    """Undo one applied sync run on one site. `coconut` is the client; `options` the staff_undo module's params."""

    def __init__(self, coconut, options, check_mode=False, warn=None):
        self.coconut = coconut
        self.options = options
        self.check_mode = check_mode
        warn = warn or (lambda msg: None)
        self.warn = lambda msg: warn(shown(msg))
        self.run_id = str(uuid.uuid4())
        self.applied = None

    def run(self):
        opts = self.options
        # Everything that needs no network first: a wrong file fails before Coconut is asked anything.
        path = opts["run_report"]
        self.report = check_report(read_report(path), path, opts.get("coconut_url"))
        self.threshold = parse_archive_threshold(opts.get("archive_threshold", "10%"))
        if self.check_mode:
            return self._finish(self._read_and_plan())
        from ansible_collections.coconut.entra.plugins.module_utils.lease import DEFAULT_TTL, DEFAULT_WAIT, SiteLease

        lease = SiteLease(self.coconut, wait=_seconds(opts, "lease_wait", DEFAULT_WAIT), ttl=_seconds(opts, "lease_ttl", DEFAULT_TTL),
                          warn=self.warn)
        # The same lease as sync.yml: an undo and a sync never write to one site at the same time; a second undo has
        # nothing to write, so it takes no lease either.
        return lease.apply(self._read_and_plan, self._finish, who="this undo")[0]

    def _read_and_plan(self):
        self.staff = self.coconut.list_staff()
        return undo_plan(self.report, self.staff, archive_threshold=self.threshold, force_archive=bool(self.options.get("force_archive")))

    def _finish(self, plan):
        staff_by_id = {str(member["id"]): member for member in self.staff}
        changes = plan_changes(plan, staff_by_id)
        counts = dict(plan["counts"])
        left = plan["left_as_is"]
        lines = left_as_is_lines(left)
        for line in lines[:50]:
            self.warn(line)
        if len(lines) > 50:
            self.warn("%d staff members in all were left as they are; the undo's report (coconut_sync_report) lists them all" % len(lines))
        diff = render_diff(changes, counts, self.options.get("diff_max_entries") or 50)
        if lines:
            diff.append({"prepared": "%s (%d):\n%s\n" % (LEFT_AS_IS, len(lines), "\n".join("  " + line for line in lines))})
        truncated = {}
        result = {
            "changed": not plan_is_empty(plan),
            "run_id": self.run_id,
            "undone_run_id": self.report["run_id"],
            "counts": counts,
            "changes": _capped(changes, "changes", truncated),
            "left_as_is": _capped(left, "left_as_is", truncated),
            "diff": diff,
        }
        if len(changes) <= RESULT_CAP:
            result["plan"] = plan
        staff_after = None
        if not self.check_mode and result["changed"]:
            from ansible_collections.coconut.entra.plugins.module_utils.apply import apply_plan

            applied = self.applied = apply_plan(self.coconut, plan)
            result["applied"] = {key: _capped(value, "applied." + key, truncated) if isinstance(value, list) else value
                                 for key, value in applied.items()}
            staff_after = self.coconut.list_staff() if self.options.get("report") else None
        if truncated:
            result["truncated"] = truncated
        if self.options.get("report"):
            result["report"] = self._write_report(plan, staff_after)
        return result

    def _write_report(self, plan, staff_after):
        from ansible_collections.coconut.entra.plugins.module_utils.report import build_report_data, write_report

        data = build_report_data(
            site=self.options.get("coconut_url"),
            groups=[],
            check_mode=self.check_mode,
            plan=plan,
            staff_before=self.staff,
            staff_after=staff_after,
            generated_at=None,
            options={name: self.options.get(name) for name in REPORT_OPTIONS},
            run_id=self.run_id,
            applied=None if self.check_mode else self.applied,
            undo={"undone_run_id": self.report["run_id"], "undone_report": str(self.options["run_report"]),
                  "left_as_is": plan["left_as_is"]},
        )
        return write_report(self.options["report"], data)
