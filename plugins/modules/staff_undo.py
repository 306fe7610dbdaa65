#!/usr/bin/python
# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: staff_undo
short_description: Undo a sync run - put Coconut staff back the way they were before it
version_added: 0.1.0
description:
  - Reads the JSON report of an applied C(staff_sync) run (O(run_report)) and reverses that run against Coconut as it is
    now, three-way - the run's before, the run's after, and now.
  - An update (an adoption's fields too) - each field goes back to the run's before where it still holds the run's after.
    A field changed since the run (by hand, or by a later run) is left as it is and listed in RV(left_as_is), in the diff
    and in the report.
  - An adoption also loses its Entra mark, so the staff member is unsynced again, as before the run.
  - A staff member the run created is archived, never deleted, unless any of its fields differs from what the run created;
    then it is listed, not archived.
  - A staff member the run archived is restored; one it restored is archived again (each only while its status is still
    what the run left).
  - Refused, with an error naming the file and the fix and with nothing written - a report of a check-mode run, a report
    of another site than O(coconut_url), and a file that is not a report of this collection (not JSON, not a report, or a
    report of an older format that did not record the ids of created staff).
  - An undo is a run like a sync - check mode writes nothing and shows the reversal with C(--diff), the site lease keeps
    it from writing while a sync applies, the archive threshold applies to it, and it writes its own report (O(report)),
    which can itself be undone. A second undo with the same report writes nothing.
  - Entra ID is not read; the Entra options are accepted so that C(module_defaults) can set them for every module.
author:
  - coconut.entra contributors (@coconut-entra)
extends_documentation_fragment:
  - coconut.entra.entra
  - coconut.entra.coconut
  - coconut.entra.tls
  - coconut.entra.attributes
  - coconut.entra.attributes.check_diff_full
options:
  run_report:
    description:
      - The JSON report of the applied run to undo, as C(staff_sync) wrote it with O(coconut.entra.staff_sync#module:report)
        (the C(.json) file beside the HTML page), on the host running the module.
    type: path
    required: true
  archive_threshold:
    description:
      - The most staff the undo may archive (the staff the run created, and those it restored), as a count or a percentage
        of synced active staff (C("10%")). More fails the undo before any write, in check mode too, unless
        O(force_archive=true).
    type: raw
    default: "10%"
  force_archive:
    description: Archive past O(archive_threshold).
    type: bool
    default: false
  diff_max_entries:
    description: How many staff members the diff shows before it summarises the rest.
    type: int
    default: 50
  lease_wait:
    description:
      - An undo that writes takes the site's sync lease first, like C(staff_sync), so it never writes while a sync applies.
        When another run holds the lease, wait up to this many seconds, then fail naming the holder, with nothing written.
    type: int
    default: 300
  lease_ttl:
    description: How long the lease holds without renewal, in seconds (see C(staff_sync)).
    type: int
    default: 120
  report:
    description:
      - Write the undo's own report here - an HTML page, the same data as JSON beside it (C(.json)) and a Markdown summary
        (C(.md)), mode C(0600). It has the shape of a sync report, so it can be undone in turn.
    type: path
"""

EXAMPLES = r"""
- name: Preview the undo of last night's sync (run with --check --diff)
  coconut.entra.staff_undo:
    coconut_url: https://mapleridge.coconutcalendar.com
    coconut_api_token: "{{ coconut_api_token }}"
    run_report: /var/lib/coconut/reports/sync-2026-12-01.json
    report: /var/lib/coconut/reports/undo-2026-12-01.html

- name: Undo a run that created 400 staff from a test group (a mass archive)
  coconut.entra.staff_undo:
    coconut_url: https://mapleridge.coconutcalendar.com
    coconut_api_token: "{{ coconut_api_token }}"
    run_report: /var/lib/coconut/reports/sync-2026-12-01.json
    force_archive: true
"""

RETURN = r"""
run_id:
  description: This undo's own run id (its report carries it too).
  returned: always
  type: str
  sample: 2f0c8a3e-1b7d-4c3a-9e55-0d6f1a2b3c4d
undone_run_id:
  description: The run id of the sync run being undone, from its report.
  returned: always
  type: str
counts:
  description:
    - Number of staff per action of the undo (C(update), C(restore), C(archive)), C(unchanged) (changes of the run with
      nothing left to undo), and C(left_as_is) (staff changed since the run, left alone).
  returned: always
  type: dict
  sample: {create: 0, update: 53, restore: 5, archive: 10, adopt: 0, unchanged: 0, conflict: 0, possible_duplicate: 0,
           skipped: 0, left_as_is: 1}
changes:
  description: Every write of the undo, with the staff id, name, email, the fields before and after, and C(undo) (which
    change of the run it reverses). At most the first 1,000 (see RV(truncated)).
  returned: always
  type: list
  elements: dict
  sample: [{action: update, id: "101", display_name: Ada Lovelace, email: ada@contoso.example, before: {job_title: Retail},
            after: {job_title: Teller}, undo: "updated by the undone run: fields back as they were"}]
left_as_is:
  description:
    - Staff the undo left alone because they changed since the run, each with the fields concerned (C(run_after), what
      the run set; C(now), what Coconut holds) and why; a created staff member no longer as created is listed, not
      archived.
  returned: always
  type: list
  elements: dict
  sample: [{id: "101", display_name: Ada Lovelace, action: update, why: "changed since the run: left as it is",
            fields: [{field: job_title, run_before: Teller, run_after: Retail, now: Head Teller}]}]
plan:
  description: The reversal as a plan of the sync's shape, plus C(left_as_is) and C(undoes); when at most 1,000 changes.
  returned: when the plan has at most 1,000 changes
  type: dict
applied:
  description: What the real undo wrote (staff ids per action).
  returned: when changes were applied
  type: dict
truncated:
  description: Per list cut short at 1,000 entries, how many were left out. O(report) lists everything.
  returned: when a list was cut short
  type: dict
report:
  description: Paths of the undo's report files.
  returned: when O(report) is set
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coconut.entra.plugins.module_utils.common import coconut_argument_spec, coconut_client_from_params, entra_argument_spec
from ansible_collections.coconut.entra.plugins.module_utils.runner import run_guarded
from ansible_collections.coconut.entra.plugins.module_utils.undo_run import Undo


def main():
    argument_spec = dict(
        run_report=dict(type="path", required=True),
        archive_threshold=dict(type="raw", default="10%"),
        force_archive=dict(type="bool", default=False),
        diff_max_entries=dict(type="int", default=50),
        lease_wait=dict(type="int", default=300),
        lease_ttl=dict(type="int", default=120),
        report=dict(type="path"),
    )
    argument_spec.update(entra_argument_spec())
    argument_spec.update(coconut_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)

    def undo():
        result = Undo(coconut_client_from_params(module), module.params, check_mode=module.check_mode, warn=module.warn).run()
        if not module._diff:
            result.pop("diff")
        return result

    module.exit_json(**run_guarded(module, undo, libraries=("requests", "jinja2")))


if __name__ == "__main__":
    main()
