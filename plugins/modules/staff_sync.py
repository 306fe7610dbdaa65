#!/usr/bin/python
# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: staff_sync
short_description: Make a Coconut site's staff equal to the members of Entra ID groups
version_added: 0.1.0
description:
  - Reads the members of the selected Microsoft Entra ID groups, maps each enabled user to Coconut staff fields with
    Jinja2 expressions, matches them to existing Coconut staff, and creates, updates, archives or restores staff so that
    Coconut equals the declaration.
  - The whole reconcile runs inside this one module process, so a 100,000-member group never passes through Ansible
    templating.
  - Matching, in order, first hit wins (comparisons trim, case-fold and Unicode-normalise) - 1. staff whose stored Entra
    object id is the user's id; 2. unsynced staff with equal first name, last name and email; 3. unsynced staff whose
    "first last" equals the user's display name. Several candidates at one step are a conflict, reported and not written.
  - A user that matches nobody while an unsynced staff member shares the email (the mapped email, the user's mail or
    userPrincipalName) or the name is a possible duplicate, reported and not created unless O(possible_duplicates=create).
    So are in-scope users whose mapped emails are the same (not yet synced ones are neither created nor adopted).
  - Mapped values are trimmed before they are compared or written; an empty or whitespace-only value is null, and a
    filter or concatenation over a null attribute gives null, never the text V(None). A user whose email Coconut would
    refuse (not an email address) is an invalid user (O(invalid_users)), in check mode too.
  - Synced staff whose user left every selected group, was disabled or deleted are archived, never deleted. Unsynced
    staff are never changed unless a match adopts them. Synced staff archived in Coconut while their user is in a
    selected group are restored, with a warning naming the group (remove the user from it to keep them archived).
  - A real run records its outcome on Coconut's Entra ID integration record (Settings > Integrations > Entra ID), in
    C(last_sync_at) and C(last_sync), with its status (V(connected), V(token_revoked) or V(failing)), its counts and,
    after an error, the error in words, redacted. A check run records nothing (check mode writes nothing), and a run
    that changed nothing records only when the record does not already say V(connected). See RV(outcome).
  - Check mode reads everything, writes nothing, and returns exactly the changes the real run would make; with
    C(--diff) it shows, per staff member, only the fields that change.
author:
  - coconut.entra contributors (@coconut-entra)
extends_documentation_fragment:
  - coconut.entra.entra
  - coconut.entra.coconut
  - coconut.entra.tls
  - coconut.entra.attributes
  - coconut.entra.attributes.check_diff_full
options:
  groups:
    description:
      - The Entra groups whose members are the desired staff. Each item is a group object id or exact display name, or a
        dictionary with C(group) and optional C(user_group) (a Coconut staff group name, matched ignoring case and surrounding
        spaces like Entra group names, created if missing), C(role) (a whole Coconut role code) and C(locations) (Coconut
        location external ids).
      - A list. A single string is one group name, never split at commas (V(Coconut - Tellers, Main Street) is one group).
      - A user in several groups takes the values of the first group in this list.
      - A name that matches no group or several groups fails the run before any write, and so does a C(user_group) name that
        matches several Coconut staff groups.
    type: raw
    required: true
  membership:
    description:
      - C(direct) takes only direct members (a nested group syncs only if it is selected itself), like Coconut's own
        integration. C(transitive) follows nested groups.
    type: str
    choices: [direct, transitive]
    default: direct
  mapping:
    description:
      - Staff field to Jinja2 expression over C(user) (the Entra user, Graph attribute names), merged over the defaults
        C(first_name=user.givenName), C(last_name=user.surname), C(email=user.mail or user.userPrincipalName),
        C(job_title=user.jobTitle).
      - Expressions, not C({{ }}) templates. A constant is a quoted literal such as C("'en'"). A null value unmaps an
        optional field. Fields that are not mapped are never written.
      - Allowed fields are C(first_name), C(last_name), C(email), C(username), C(external_id), C(job_title), C(language).
    type: dict
    default: {}
  match:
    description:
      - The match rules, in order. C(object_id) must come first (a synced staff member is found only by its stored
        object id, so without it every run would create a second one); C(name_and_email) (rule A) and
        C(display_name) (rule B) may follow in either order, or be left out.
    type: list
    elements: str
    choices: [object_id, name_and_email, display_name]
    default: [object_id, name_and_email, display_name]
  possible_duplicates:
    description: C(report) lists possible duplicates and does not create them; C(create) creates them anyway.
    type: str
    choices: [report, create]
    default: report
  archive_threshold:
    description:
      - The most staff one run may archive, as a count or a percentage of synced active staff (C("10%")). More fails the
        run before any write, in check mode too, unless O(force_archive=true).
    type: raw
    default: "10%"
  force_archive:
    description: Archive past O(archive_threshold), or when the selected groups have no enabled users.
    type: bool
    default: false
  send_invite:
    description: Send Coconut account invites to created staff.
    type: bool
    default: false
  invalid_users:
    description:
      - What to do with users whose mapping errors or lacks a required field. C(fail) fails the run before any write,
        naming each user and field. C(skip) leaves them as they are and warns.
    type: str
    choices: [fail, skip]
    default: fail
  archive_unsynced_duplicates:
    description: Also archive unsynced staff that duplicate a synced staff member (same email or name). Never deletes.
    type: bool
    default: false
  fail_on_drift:
    description: In check mode, fail when the plan is not empty, so CI can tell "no changes" from "changes pending".
    type: bool
    default: false
  fail_on_conflicts:
    description: Fail, before any write, when there are conflicts or possible duplicates.
    type: bool
    default: false
  diff_max_entries:
    description: How many staff members the diff shows before it summarises the rest.
    type: int
    default: 50
  delta_state:
    description:
      - Makes later runs incremental. Where the Graph delta links (and the group members they track) are kept between
        runs - a file path on the host running the module (the controller for C(sync.yml)), or C(coconut) to keep them
        in the site's Entra ID integration record (written by C(connect.yml), which must have run), for jobs that
        keep no files such as AWX.
      - With no usable state (first run, or the groups, membership, mapping or plan options changed) the run reads
        everything and saves new links; later runs read only the membership changes of the groups and the changed
        users, and plan only those users. Graph's 410 C(syncStateNotFound) (expired links) falls back to a full run,
        with a warning.
      - The state is written only after a successful apply, never in check mode. Needs O(membership=direct).
      - The state is signed (HMAC-SHA256, keyed by a key derived from the Entra client secret or private key, which
        Coconut never sees). A state that does not verify (edited outside the sync, saved by an older version, or
        signed with a credential since rotated), or whose links are not the sync's own delta queries on
        O(entra_graph_url), is not trusted - the run reads everything, warns, and saves a new signed state.
      - A delta run reports the conflicts, possible duplicates and skipped users among the changed users only; a full
        run (O(full_sync=true)) lists them all.
    type: str
  full_sync:
    description: Ignore O(delta_state) and read everything (saving new delta links when O(delta_state) is set).
    type: bool
    default: false
  lease_wait:
    description:
      - A run whose plan writes something takes a lease on the site before its first write (kept in its Entra ID
        integration record, written by C(connect.yml)) so that only one applying run per site writes at a time, whoever
        started it (a rulebook, cron, CI, a person). If another run applied since this one read, it plans again under
        the lease. A run with nothing to change takes no lease and writes nothing.
        When another run holds it, this run waits up to this many seconds, then fails with one line naming the holder
        (host, pid, since when) and writes nothing.
      - Check mode takes no lease. A site with no integration record has nowhere to keep one; the run goes on with a
        warning to run C(connect.yml).
    type: int
    default: 300
  lease_ttl:
    description:
      - How long the lease holds without renewal, in seconds. The holder renews it every third of this while it runs
        and releases it at the end; a holder that dies (killed, host lost) leaves a lease that expires after this long.
    type: int
    default: 120
  report:
    description:
      - Write a self-contained HTML report of the run to this path on the managed host, the same data as JSON beside it
        (the path with a C(.json) suffix) and a Markdown summary (C(.md) suffix).
      - The files are written atomically with mode C(0600), whatever the umask - they list staff names and emails.
      - The Markdown summary escapes control characters and breaks C(@mentions) and bare URLs, so that posted as a
        merge-request comment it notifies nobody and links nowhere.
      - The JSON of an applied run holds its run id, the site, and each change's before and after with the Coconut id of
        every staff member it created - what C(staff_undo) (C(undo.yml)) needs to undo the run.
    type: path
"""

EXAMPLES = r"""
- name: Preview, then apply, the staff of the Main Street branch
  coconut.entra.staff_sync:
    entra_tenant_id: "{{ entra_tenant_id }}"
    entra_client_id: "{{ entra_client_id }}"
    entra_client_secret: "{{ entra_client_secret }}"
    coconut_url: https://mapleridge.coconutcalendar.com
    coconut_api_token: "{{ coconut_api_token }}"
    groups:
      - group: Coconut - Tellers
        user_group: Tellers
        role: 10
        locations: [MAIN]
      - Coconut - Advisors
    mapping:
      language: "'en'"
      external_id: user.employeeId

- name: Connection options set once for every coconut.entra module
  module_defaults:
    group/coconut.entra.all:
      entra_tenant_id: "{{ entra_tenant_id }}"
      entra_client_id: "{{ entra_client_id }}"
      entra_client_secret: "{{ entra_client_secret }}"
      coconut_url: "{{ coconut_url }}"
      coconut_api_token: "{{ coconut_api_token }}"
  block:
    - name: Sync
      coconut.entra.staff_sync:
        groups: [5e6f0c1a-0000-4000-8000-000000000001]
        membership: transitive
"""

RETURN = r"""
run_id:
  description: A UUID made at the start of the run; the run's report carries it too, and C(staff_undo) names the run by it.
  returned: always
  type: str
  sample: 6f1c2d3e-8a4b-4c5d-9e6f-00000000abcd
counts:
  description: Number of staff per action, and of conflicts, possible duplicates and skipped users.
  returned: always
  type: dict
  sample: {create: 2, update: 3, restore: 0, archive: 1, adopt: 2, unchanged: 30, conflict: 0, possible_duplicate: 1, skipped: 0}
changes:
  description:
    - Every write, each with the staff id (null for a create), Entra object id, name, email, and the changing fields before
      and after. At most the first 1,000 (see RV(truncated)).
  returned: always
  type: list
  elements: dict
  sample: [{action: update, id: "101", object_id: 1b2c, display_name: Ada Lovelace, email: ada@contoso.example,
            before: {job_title: Teller}, after: {job_title: Senior Teller}}]
conflicts:
  description: Entra users that matched several staff members at one rule; nothing is written for them.
  returned: always
  type: list
  elements: dict
possible_duplicates:
  description:
    - Entra users that matched nobody while unsynced staff share their email or name, or that share their mapped email
      with other in-scope Entra users (then C(entra_users) lists those users and C(candidates) the staff holding it).
  returned: always
  type: list
  elements: dict
skipped_users:
  description: Users left as they are because their mapping failed (O(invalid_users=skip)).
  returned: always
  type: list
  elements: dict
groups:
  description: The resolved Entra groups, in the order given.
  returned: always
  type: list
  elements: dict
scope:
  description: Number of enabled users in the selected groups.
  returned: always
  type: int
plan:
  description:
    - The full plan (see the collection's docs/architecture.md); what check mode predicts and the real run applies.
    - Returned only when it has at most 1,000 changes, so that a 100,000-staff run keeps a small result; O(report)
      holds every change.
  returned: when the plan has at most 1,000 changes
  type: dict
truncated:
  description:
    - Lists in this result hold at most 1,000 entries; per list cut short, how many entries were left out. Counts stay
      exact, and O(report) lists everything.
  returned: when a list was cut short
  type: dict
  sample: {changes: 9000, applied.created: 9000}
delta:
  description: With O(delta_state) - whether this run was a C(delta) or a C(full) one, where the state is kept, and how many
    users changed (delta runs).
  returned: when O(delta_state) is set and usable
  type: dict
  sample: {mode: delta, state: /var/lib/coconut/site.json, changed_users: 7}
outcome:
  description:
    - Whether this run's outcome was recorded on Coconut's integration record (C(last_sync)), its status, and when it
      was not recorded, why (a check run, nothing changed and the record already says connected, no integration
      record, Coconut unreachable or refusing the token, not the Coconut API, or the write failed).
    - A failed run returns it too, beside C(msg).
  returned: when the options were valid
  type: dict
  sample: {recorded: true, status: connected, mode: apply}
applied:
  description: What the real run wrote (staff ids per action).
  returned: when changes were applied
  type: dict
ci_gates:
  description:
    - What each CI gate fails with for this plan, or V(null) where it passes; O(fail_on_conflicts) and O(fail_on_drift)
      fail with these messages, and so do the check-mode gate tasks of the collection's C(sync.yml).
    - C(conflicts) is set when there are conflicts or possible duplicates; C(drift) when the plan is not empty.
  returned: when the plan was made
  type: dict
  sample: {conflicts: null, drift: "drift: Coconut differs from Entra (1 create); run sync.yml without --check to apply"}
report:
  description: Paths of the written report files.
  returned: when O(report) is set
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coconut.entra.plugins.module_utils.common import (
    coconut_argument_spec,
    coconut_client_from_params,
    entra_argument_spec,
    entra_client_from_params,
    entra_credential_rules,
)
from ansible_collections.coconut.entra.plugins.module_utils.rules import (INVALID_USER_CHOICES, INVALID_USERS_DEFAULT, MATCH_RULES,
                                                                          POSSIBLE_DUPLICATE_CHOICES, POSSIBLE_DUPLICATES_DEFAULT)
from ansible_collections.coconut.entra.plugins.module_utils.runner import add_bench_figures, process_age, run_guarded
from ansible_collections.coconut.entra.plugins.module_utils.sync import Sync


def main():
    argument_spec = dict(
        # raw, not list: Ansible's list conversion would split "Lending, Mortgages" into two groups.
        groups=dict(type="raw", required=True),
        membership=dict(type="str", choices=["direct", "transitive"], default="direct"),
        mapping=dict(type="dict", default={}),
        match=dict(type="list", elements="str", choices=list(MATCH_RULES), default=list(MATCH_RULES)),
        possible_duplicates=dict(type="str", choices=list(POSSIBLE_DUPLICATE_CHOICES), default=POSSIBLE_DUPLICATES_DEFAULT),
        archive_threshold=dict(type="raw", default="10%"),
        force_archive=dict(type="bool", default=False),
        send_invite=dict(type="bool", default=False),
        invalid_users=dict(type="str", choices=list(INVALID_USER_CHOICES), default=INVALID_USERS_DEFAULT),
        archive_unsynced_duplicates=dict(type="bool", default=False),
        fail_on_drift=dict(type="bool", default=False),
        fail_on_conflicts=dict(type="bool", default=False),
        diff_max_entries=dict(type="int", default=50),
        report=dict(type="path"),
        delta_state=dict(type="str"),
        full_sync=dict(type="bool", default=False),
        lease_wait=dict(type="int", default=300),
        lease_ttl=dict(type="int", default=120),
    )
    argument_spec.update(entra_argument_spec())
    argument_spec.update(coconut_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **entra_credential_rules())

    def sync():
        entered = process_age()  # tests/bench only, as below
        sync = Sync(entra_client_from_params(module), coconut_client_from_params(module), module.params,
                    check_mode=module.check_mode, warn=module.warn)
        result = sync.run()
        if not module._diff:
            result.pop("diff")
        add_bench_figures(result, sync.timings, entered)  # tests/bench/run.py's figures, only when it asks for them
        return result

    module.exit_json(**run_guarded(module, sync))


if __name__ == "__main__":
    main()
