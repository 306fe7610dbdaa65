# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole reconcile: read Entra and Coconut, map, plan, and (unless checking) apply.

Fetching lives in entra.py / coconut.py, deciding in mapping.py / reconcile.py, writing in
apply.py; this file only puts them in order and validates the options first, so bad input
fails before anything is read or written.
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager

from ansible_collections.coconut.entra.plugins.module_utils.diff import plan_changes, render_diff, restore_reason
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.groups import parse_groups
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import (check_match, collector_paused, is_synced, normalise, parse_archive_threshold,
                                                                              staff_object_id, user_groups_named)
from ansible_collections.coconut.entra.plugins.module_utils.rules import ACTIONS, INVALID_USERS_DEFAULT, MATCH_RULES, POSSIBLE_DUPLICATES_DEFAULT
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import full_name, shown

# The most entries a list in the module result holds (changes, conflicts, ..., applied.*); the plan itself is
# returned only up to this many changes. Counts are always exact; the report lists everything.
RESULT_CAP = 1000
WARNINGS_CAP = 50


def _capped(items, name, truncated):
    """`items` up to RESULT_CAP entries; what is cut is counted in `truncated[name]`."""
    if len(items) <= RESULT_CAP:
        return items
    truncated[name] = len(items) - RESULT_CAP
    return items[:RESULT_CAP]


def ci_gates(plan, counts):
    """What each CI gate fails with for this plan, or None where it passes: the gates' one home.

    The module raises these (fail_on_conflicts, fail_on_drift); sync.yml's check-mode tasks fail with them after the
    diff has been shown, since Ansible prints no diff for a failed task.
    """
    from ansible_collections.coconut.entra.plugins.module_utils.reconcile import plan_is_empty

    gates = {"conflicts": None, "drift": None}
    if plan["conflicts"] or plan["possible_duplicates"]:
        gates["conflicts"] = ("%d conflict(s) and %d possible duplicate(s) need a decision (coconut_fail_on_conflicts is true); "
                              "nothing was written" % (len(plan["conflicts"]), len(plan["possible_duplicates"])))
    if not plan_is_empty(plan):
        gates["drift"] = ("drift: Coconut differs from Entra (%s); run sync.yml without --check to apply"
                          % ", ".join("%d %s" % (counts.get(k, 0), k) for k in ACTIONS if counts.get(k)))
    return gates


def tripped_gate(gates, options, check_mode):
    """The message of the gate the module's own options make fail, or None: conflicts first, drift only in check mode."""
    if options.get("fail_on_conflicts") and gates["conflicts"]:
        return gates["conflicts"]
    if check_mode and options.get("fail_on_drift"):
        return gates["drift"]
    return None


def _seconds(options, name, default):
    value = options.get(name)
    return default if value is None else value


class StateInTheBackground:
    """A delta run's next state (100,000 member ids), worked out, signed and encoded in a thread started as the lease's
    settle wait begins (a second in which the run only waits): saving it is then a file write, not 0.1 s of CPU between
    the last write and the lease's release. Started earlier, its json.dumps (C, holding the GIL throughout) would hold
    up the run's own reads and the lease's round trips. A run that takes no lease makes it when it saves."""

    def __init__(self, build, key, encode):
        self._done = None
        self._thread = threading.Thread(target=self._work, args=(build, key, encode), name="delta-state", daemon=True)

    def start(self):
        if self._thread is not None and self._thread.ident is None:
            self._thread.start()

    def _work(self, build, key, encode):
        from ansible_collections.coconut.entra.plugins.module_utils.delta import sign

        try:
            signed = None if key is None else sign(build(), key)
            self._done = (signed, None if signed is None else encode(signed), None)
        except Exception as exc:  # noqa: BLE001 - raised in the run's own thread, by signed()
            self._done = (None, None, exc)

    def signed(self):
        """(the signed state, the store's encoding of it or None)."""
        self.start()
        self._thread.join()
        signed, encoded, error = self._done
        if error is not None:
            raise error
        return signed, encoded


class Sync:
    """One reconcile of one Coconut site. `entra` and `coconut` are the clients; `options` the module params."""

    def __init__(self, entra, coconut, options, check_mode=False, warn=None):
        self.entra = entra
        self.coconut = coconut
        self.options = options
        self.check_mode = check_mode
        warn = warn or (lambda msg: None)
        # Warnings name Entra users and Coconut staff: their text never reaches the terminal as control characters.
        self.warn = lambda msg: warn(shown(msg))
        self.timings = {}
        self.run_id = str(uuid.uuid4())  # names this run in its result and report (undo refers to it)
        self.applied = None  # apply_plan's whole result: the report takes the created staff ids from it
        self.outcome_note = None  # set when the outcome went into the lease's release (outcome.run_recorded reads it)

    @contextmanager
    def phase(self, name):
        """Time one phase (read, plan, apply...); the benchmark reads these."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0) + time.perf_counter() - started, 3)

    def validate(self):
        """Everything that can be checked without the network; raises before anything is read."""
        from ansible_collections.coconut.entra.plugins.module_utils.mapping import Mapping

        opts = self.options
        self.groups = parse_groups(opts["groups"])
        self.mapping = Mapping(opts.get("mapping") or {})
        self.threshold = parse_archive_threshold(opts.get("archive_threshold", "10%"))
        # The planner's own check, here so that a bad order fails before anything is read.
        self.match = check_match(opts.get("match") or MATCH_RULES)
        self.store = None
        self.delta = None  # set by a delta read: what changed, and the scope after the change
        # A full read settles unchanged users as it goes (staff_table.py): not when a report shows every staff member,
        # nor with archive_unsynced_duplicates, which compares the unsynced staff with every synced one.
        self.settling = not opts.get("report") and not opts.get("archive_unsynced_duplicates")
        self.settler = None
        self._coconut_read = None  # (an Event set when the full read's Coconut side is done, its results)
        self.next_state = None
        if opts.get("delta_state"):
            from ansible_collections.coconut.entra.plugins.module_utils import delta

            if opts.get("membership", "direct") == "transitive":
                # Graph's groups/delta reports direct members only: nested changes would go unseen.
                self.warn("entra_delta_state needs entra_membership: direct (Graph tracks direct members only); "
                          "this run and the next ones read everything")
            else:
                self.store = delta.store_for(opts["delta_state"], self.coconut)
                self.state_key = self.entra.state_key("delta state")
                self.fingerprint = delta.fingerprint(
                    site=opts.get("coconut_url"), tenant=opts.get("entra_tenant_id"),
                    groups=[{k: g[k] for k in ("ref", "role", "locations", "user_group")} for g in self.groups],
                    mapping=self.mapping.expressions, select=self.mapping.graph_select, match=self.match,
                    possible_duplicates=opts.get("possible_duplicates", POSSIBLE_DUPLICATES_DEFAULT),
                    invalid_users=opts.get("invalid_users", INVALID_USERS_DEFAULT),
                    archive_unsynced_duplicates=bool(opts.get("archive_unsynced_duplicates")))

    def read(self):
        """Read Entra and Coconut; the Coconut read runs beside the Graph reads."""
        coconut_result = {}

        def read_coconut():
            try:
                coconut_result["staff"] = self.coconut.staff_table() if self.settling else self.coconut.list_staff()
                if any(g["user_group"] for g in self.groups):
                    coconut_result["user_groups"] = self.coconut.list_user_groups()
                if any(g["locations"] for g in self.groups):
                    coconut_result["locations"] = self.coconut.list_locations()
            except Exception as exc:  # noqa: BLE001 - re-raised in the main thread below
                coconut_result["error"] = exc
            finally:
                coconut_done.set()

        # The token first: a wrong secret should fail with its AADSTS code before anything else.
        self.entra.token()
        stored = self.store.load() if self.store is not None else None
        self.resolved = None
        if stored:
            # Delta: Graph's changes first, then only the Coconut staff they touch.
            self.resolved = self.entra.resolve_groups([g["ref"] for g in self.groups])
            if self.read_delta(stored):
                self.read_coconut_delta()
                return
        coconut_done = threading.Event()
        self._coconut_read = (coconut_done, coconut_result)
        worker = threading.Thread(target=read_coconut, name="coconut-read", daemon=True)
        worker.start()
        try:
            if self.resolved is None:
                self.resolved = self.entra.resolve_groups([g["ref"] for g in self.groups])
            self.read_full()
        finally:
            worker.join()
        if "error" in coconut_result:
            raise coconut_result["error"]
        self.staff = coconut_result["staff"]
        self.user_groups = coconut_result.get("user_groups", [])
        self.locations = coconut_result.get("locations", [])
        if self.settling:
            self._start_settling()  # when Graph was read first; staff stay a StaffTable until plan()

    def read_full(self):
        """Every member of every group. With a delta store, first a deltaLink per group and one for users,
        taken before the read, so that a change made during the read shows up in the next delta run."""
        select = self.mapping.graph_select
        if self.store is not None:
            links = {group["id"]: self.entra.latest_delta_link(group_id=group["id"]) for group in self.resolved}
            users_link = self.entra.latest_delta_link(select=select)
        transitive = self.options.get("membership", "direct") == "transitive"
        self._start_intake()
        members, disabled = {}, set()
        for index, group in enumerate(self.resolved):
            ids = members[group["id"]] = set()
            self._take(index, self.entra.iter_group_members(group["id"], transitive=transitive, select=select),
                       ids if self.store is not None else None, disabled)
        if self.store is not None:
            from ansible_collections.coconut.entra.plugins.module_utils.delta import new_state

            self.next_state = new_state(self.fingerprint, [g["id"] for g in self.resolved], links, users_link, members, disabled)

    def _start_intake(self):
        self.first_group = {}  # object id -> index of the first selected group listing the (enabled) user
        self.desired, self.invalid = [], []

    def _start_settling(self):
        """Once Coconut's staff (and staff groups, locations) are read: settle the users mapped so far, then each one as
        it is mapped. Where the groups' extras cannot be worked out (plan() says why), nothing is settled."""
        from ansible_collections.coconut.entra.plugins.module_utils.staff_table import Settler

        if self.settler is not None or not self.settling:
            return
        done, result = self._coconut_read
        if "error" in result:
            return
        try:
            self.user_groups = result.get("user_groups", [])
            self.locations = result.get("locations", [])
            extras = self._group_extras()
        except CoconutEntraError:
            self.settling = False
            self.staff = result["staff"] = result["staff"].records()
            return
        self.settler = Settler(result["staff"], extras)
        self._settle_mapped()

    def _settle_mapped(self):
        """Settle the users mapped before Coconut was read (placeholders take their places); map_users settles the rest."""
        settle, first_group, desired = self.settler.settle, self.first_group, self.desired
        for position in range(len(desired)):
            user = desired[position]
            if user.__class__ is not tuple:
                held = settle(user, first_group[user.object_id])
                if held is not None:
                    desired[position] = held

    def _take(self, index, users, member_ids=None, disabled=None):
        """Map each enabled user the first time a selected group lists them, a page at a time, so that Graph's
        records go as soon as they are mapped (peak memory at 100,000 members). Per-group extras come in plan()."""

        batch = []
        first_group = self.first_group
        for user in users:
            uid = user.get("id")
            if member_ids is not None and uid:
                member_ids.add(uid)
            if user.get("accountEnabled") is not True:
                if disabled is not None and uid:
                    disabled.add(uid)
                continue
            if uid in first_group:
                continue
            if self.settler is not None:
                uid = self.settler.same_id(uid)  # the staff row's equal string: Graph's goes with its page (memory)
            first_group[uid] = index
            batch.append(user)
            if len(batch) >= 1000:
                self._map(batch, index)
                batch = []
        self._map(batch, index)

    def _map(self, users, index):
        """Map a batch of users of selected group number `index`; settle each one at once when Coconut is read."""
        from ansible_collections.coconut.entra.plugins.module_utils.mapping import map_users

        if self.settler is None and self.settling and self._coconut_read is not None and self._coconut_read[0].is_set():
            self._start_settling()
        settle = self.settler.settler_for(index) if self.settler is not None else None
        desired, invalid = map_users(self.mapping, users, invalid_users="skip", settle=settle)
        self.desired.extend(desired)
        self.invalid.extend(invalid)

    def read_delta(self, stored):
        """Only what changed since the stored state: True, or False when a full read is needed (said why)."""
        from ansible_collections.coconut.entra.plugins.module_utils import delta
        from ansible_collections.coconut.entra.plugins.module_utils.entra import PERMISSION_USERS, DeltaExpired

        group_ids = [g["id"] for g in self.resolved]
        reason = "entra_full_sync is true" if self.options.get("full_sync") else delta.usable(
            stored, self.fingerprint, group_ids, key=self.state_key, graph_url=self.entra.graph_url)
        if reason:
            if stored:
                self.warn("full sync: %s" % reason)
            return False
        from concurrent.futures import ThreadPoolExecutor

        try:
            links, rounds = {}, {}
            # The users round needs nothing from the groups' rounds: it goes beside them, one round trip fewer. A group
            # round's failure is still the one reported (it is raised first, once the users round has ended).
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="graph-users-delta") as pool:
                users_round = pool.submit(self.entra.delta_changes, stored["users_link"], "reading the changes of Entra users",
                                          permission=PERMISSION_USERS)
                for gid in group_ids:
                    items, links[gid] = self.entra.delta_changes(stored["links"][gid], "reading the membership changes of Entra group %s" % gid)
                    rounds[gid] = delta.member_changes(items)
                items, users_link = users_round.result()
        except DeltaExpired as exc:
            if exc.details.get("too_many"):
                self.warn("full sync: %s" % exc.msg)
                return False
            self.warn("full sync: Graph no longer knows the stored delta links (410 syncStateNotFound, they expire after a while); "
                      "reading everything and starting new ones")
            return False
        user_changed, deleted = delta.user_changes(items)
        # Each group's 100,000 members pass through here on every delta run: every step over them is one set
        # operation in C; only the changed users are looked at one by one.
        stored_members = {gid: stored["members"].get(gid) or [] for gid in group_ids}
        before = {gid: set(stored_members[gid]) for gid in group_ids}
        after = {}
        for gid in group_ids:
            added, removed = rounds[gid]
            after[gid] = before[gid] - removed
            after[gid] |= added
        was_member = before[group_ids[0]] if len(group_ids) == 1 else set().union(*before.values())
        is_member = set().union(*after.values())
        is_member -= deleted
        changed = set().union(*(added | removed for added, removed in rounds.values()))
        changed |= {uid for uid in user_changed if uid in was_member or uid in is_member}
        users = {u["id"]: u for u in self.entra.users_by_id(changed & is_member, select=self.mapping.graph_select)}
        is_member -= changed - set(users)  # a member Graph no longer returns is gone
        self._start_intake()
        for index, gid in enumerate(group_ids):
            self._take(index, [users[uid] for uid in sorted(after[gid] & changed) if uid in users])
        disabled = (set(stored.get("disabled") or ()) - changed) | {uid for uid, u in users.items() if u.get("accountEnabled") is not True}
        self.delta = {"changed": changed, "scope": len(is_member) - len(disabled & is_member)}

        def next_state():
            members = {}
            for gid in group_ids:
                kept = after[gid] & is_member
                # The stored list is sorted: kept in its order plus the newcomers, new_state's sort is one merge.
                members[gid] = list(filter(kept.__contains__, stored_members[gid]))
                members[gid] += kept - before[gid]
            return delta.new_state(self.fingerprint, group_ids, links, users_link, members, disabled & is_member)

        self.next_state = StateInTheBackground(next_state, None if self.check_mode else self.state_key, self.store.encode)
        return True

    def read_coconut_delta(self):
        """The staff a delta run needs, in parallel: those synced from a changed user, every unsynced one (rules A
        and B, possible duplicates), and how many synced staff are active (the archive threshold counts the site)."""
        from concurrent.futures import ThreadPoolExecutor

        jobs = {"changed": lambda: self.coconut.staff_by_object_id(self.delta["changed"]),
                "unsynced": lambda: self.coconut.list_staff(synced=False),
                "synced_active": lambda: self.coconut.count_staff(status="active", synced=True)}
        if any(g["user_group"] for g in self.groups):
            jobs["user_groups"] = self.coconut.list_user_groups
        if any(g["locations"] for g in self.groups):
            jobs["locations"] = self.coconut.list_locations
        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="coconut-delta") as pool:
            futures = {name: pool.submit(job) for name, job in jobs.items()}
            results = {name: future.result() for name, future in futures.items()}
        seen = {s["id"] for s in results["changed"]}
        self.staff = results["changed"] + [s for s in results["unsynced"] if s["id"] not in seen]
        self.delta["synced_active"] = results["synced_active"]
        self.user_groups = results.get("user_groups", [])
        self.locations = results.get("locations", [])

    def _group_extras(self):
        """Per selected group: the role, locations and user group its members take (the first group wins)."""
        # Staff groups match by name the way Entra group names do: trimmed, case-folded, Unicode-normalised.
        new_names = {}
        known_locations = {loc.get("external_id") for loc in self.locations}
        extras = []
        for group in self.groups:
            missing = [loc for loc in group["locations"] or [] if loc not in known_locations]
            if missing:
                raise CoconutEntraError("%s names Coconut location(s) %s that do not exist; known external ids: %s" % (
                    group["where"], ", ".join(missing), ", ".join(sorted(str(k) for k in known_locations if k)) or "none"))
            values = {}
            if group["role"] is not None:
                values["role"] = group["role"]
            if group["locations"] is not None:
                values["locations"] = list(group["locations"])
            if group["user_group"]:
                key = normalise(group["user_group"])
                found = user_groups_named(self.user_groups, group["user_group"])
                if len(found) > 1:
                    raise CoconutEntraError("%s user_group %r matches %d Coconut staff groups: %s; rename or remove all but one in Coconut, "
                                            "nothing was written" % (group["where"], group["user_group"], len(found),
                                                                     ", ".join("%s (%s)" % (ug.get("name"), ug["id"]) for ug in found)))
                # A missing group is created once, spelt as the first selected group names it.
                values["user_group_id"] = found[0]["id"] if found else "new:" + new_names.setdefault(key, group["user_group"].strip())
            extras.append(values)
        return extras

    def plan(self):
        from ansible_collections.coconut.entra.plugins.module_utils.mapping import unmappable_error
        from ansible_collections.coconut.entra.plugins.module_utils.reconcile import plan as make_plan

        extras = self._group_extras()
        self.scope_size = len(self.first_group) if self.delta is None else self.delta["scope"]
        desired, invalid, settled = self.desired, self.invalid, 0
        if self.settler is not None:
            # Settled users leave the plan's input (or all come back, where one of them could matter to the others).
            desired, self.staff, settled, _put_back = self.settler.finish(desired, invalid)
            self.settler = None
        for item in desired:
            for key, value in extras[self.first_group[item.object_id]].items():
                item.fields[key] = list(value) if isinstance(value, list) else value
        if invalid and self.options.get("invalid_users", INVALID_USERS_DEFAULT) == "fail":
            raise unmappable_error(invalid)
        restore_groups = self._archived_in_scope()
        self.desired = self.first_group = None
        for item in invalid:
            self.warn("skipped Entra user %s (%s): %s" % (
                item.get("display_name"), item.get("object_id"),
                "; ".join("%s: %s" % (e["field"], e["message"]) for e in item.get("errors", []))))
        staff, force_archive = self.staff, bool(self.options.get("force_archive"))
        if self.delta is not None:
            # Only the changed users are desired, so only their synced staff are in view (with every unsynced
            # staff member, for rules A and B; read_coconut_delta read no others): staff of unchanged users are
            # neither compared nor archived. The safety checks count the whole site, below, not this view.
            changed = {normalise(oid) for oid in self.delta["changed"]}
            staff = [s for s in self.staff if not is_synced(s) or normalise(staff_object_id(s) or "") in changed]
            force_archive = True
        self.result_plan = make_plan(
            desired, staff,
            match=self.match,
            possible_duplicates=self.options.get("possible_duplicates", POSSIBLE_DUPLICATES_DEFAULT),
            archive_threshold=self.threshold,
            force_archive=force_archive,
            skipped=invalid,
            archive_unsynced_duplicates=bool(self.options.get("archive_unsynced_duplicates")),
            settled=settled,
        )
        for item in self.result_plan["update"]:
            if item["restore"] and not item["adopt"]:
                item["group"] = restore_groups.get(item["object_id"])
        if self.delta is not None and not self.options.get("force_archive"):
            self._check_delta_safety(self.result_plan)
        return self.result_plan

    def _archived_in_scope(self):
        """{Entra object id: its first selected group's name} for users in scope whose synced staff member is archived in
        Coconut: the restores, which the warning, the diff and the report explain by that group."""
        archived = {normalise(staff_object_id(s)) for s in self.staff if s.get("status") == "archived" and is_synced(s)}
        if not archived:
            return {}
        names = [g.get("displayName") or g["id"] for g in self.resolved]
        return {uid: names[index] for uid, index in self.first_group.items() if normalise(uid) in archived}

    def _check_delta_safety(self, plan):
        """The archive threshold and the empty-scope guard of a delta run, on the whole site after the change."""
        from ansible_collections.coconut.entra.plugins.module_utils.reconcile import check_safety

        check_safety(plan, scope_size=self.delta["scope"], skipped=plan.get("skipped") or [], synced_active=self.delta["synced_active"],
                     threshold=self.threshold)

    def run(self):
        """validate -> Entra token -> observe the lease -> read and plan -> (only if the plan writes) take the lease,
        plan again if another run applied meanwhile -> _finish (warn, result, gates, apply, report, delta state) ->
        release -> the outcome on Coconut's integration record. Check mode: validate -> read and plan -> _finish, with
        no lease."""
        from ansible_collections.coconut.entra.plugins.module_utils.outcome import run_recorded

        with self.phase("validate"):
            self.validate()  # bad input fails here, before anything is read: nothing is recorded either
        with collector_paused():
            return run_recorded(self, self._run)  # the outcome goes on Coconut's integration record

    def _run(self):
        if self.check_mode:
            return self._finish(self._read_and_plan())  # check mode writes nothing, so it needs no lease
        from ansible_collections.coconut.entra.plugins.module_utils.lease import DEFAULT_TTL, DEFAULT_WAIT, SiteLease
        from ansible_collections.coconut.entra.plugins.module_utils.outcome import outcome_of, record_updates

        opts = self.options
        lease = SiteLease(self.coconut, wait=_seconds(opts, "lease_wait", DEFAULT_WAIT), ttl=_seconds(opts, "lease_ttl", DEFAULT_TTL),
                          warn=self.warn, while_settling=self._while_settling)
        # The Entra token first: a wrong secret fails with its AADSTS code before Coconut is asked anything.
        self.entra.token()
        outcome = {}

        def outcome_keys(result):
            # A run that applied records its outcome in the write that releases the lease (a failed one: run_recorded).
            outcome.update(outcome_of(False, result))
            return record_updates(outcome)

        result, written = lease.apply(self._read_and_plan, self._finish, phase=self.phase, also=outcome_keys)
        if written:
            self.outcome_note = {"recorded": True, "status": outcome["status"], "mode": outcome["mode"]}
        return result

    def _read_and_plan(self):
        with self.phase("read"):
            self.read()
        with self.phase("plan"):
            return self.plan()

    def _while_settling(self):
        """The lease's settle wait: a second in which the run only waits. The next delta state is made then."""
        if isinstance(self.next_state, StateInTheBackground):
            self.next_state.start()

    def _finish(self, plan):
        """Warnings, the result, the CI gates, then (a real run) the writes, the report and the delta state."""
        staff_by_id = {s["id"]: s for s in self.staff}
        self.warn_about(plan, staff_by_id)
        result = self.build_result(plan, staff_by_id)
        self.gate(plan, result)
        staff_after = None if self.check_mode else self.staff
        if not self.check_mode and result["changed"]:
            staff_after = self.apply(plan, result)
        if self.options.get("report"):
            result["report"] = self.write_report(plan, staff_after)
        if self.next_state is not None:
            self.save_state(result)
        return result

    def warn_about(self, plan, staff_by_id):
        """One warning per conflict and possible duplicate (up to WARNINGS_CAP of each), naming the people involved."""

        def who(staff_ids):
            """Candidate staff as people see them on the Users tab: name, email and id."""
            shown = []
            for staff_id in staff_ids:
                member = staff_by_id.get(staff_id) or staff_by_id.get(str(staff_id)) or {}
                name = full_name(member) or "(no name)"
                shown.append("%s <%s> (staff %s)" % (name, member.get("email") or "no email", staff_id))
            return ", ".join(shown)

        conflicted = {item.get("object_id"): item for item in plan["conflicts"]}
        told = set()
        for item in plan["conflicts"][:WARNINGS_CAP]:
            if item.get("shared_with"):
                # Several users, one staff member: say so once, naming them all.
                claimants = [item] + [conflicted.get(oid) or {"object_id": oid} for oid in item["shared_with"]]
                if told.intersection(c.get("object_id") for c in claimants):
                    continue
                told.update(c.get("object_id") for c in claimants)
                self.warn("conflict: Entra users %s all match the one Coconut staff member %s by %s; nothing was written for them" % (
                    ", ".join("%s <%s>" % (c.get("display_name"), c.get("email")) for c in claimants), who(item.get("candidates", [])),
                    item.get("rule")))
                continue
            self.warn("conflict: Entra user %s <%s> matches several Coconut staff by %s: %s; nothing was written for them" % (
                item.get("display_name"), item.get("email"), item.get("rule"), who(item.get("candidates", []))))
        for item in plan["possible_duplicates"][:WARNINGS_CAP]:
            verb = "created anyway" if item.get("created") else "not created"
            candidates = item.get("candidates", [])
            if item.get("entra_users"):
                held = "; %s hold%s it" % (who(candidates), "s" if len(candidates) == 1 else "") if candidates else ""
                self.warn("possible duplicate: Entra user %s <%s> shares the email with Entra user(s) %s%s; %s (coconut_possible_duplicates: %s)" % (
                    item.get("display_name"), item.get("email"),
                    ", ".join("%s (%s)" % (u.get("display_name"), u.get("object_id")) for u in item["entra_users"]), held, verb,
                    self.options.get("possible_duplicates", POSSIBLE_DUPLICATES_DEFAULT)))
                continue
            self.warn("possible duplicate: Entra user %s <%s> matches no staff, but unsynced %s share%s the %s; %s "
                      "(coconut_possible_duplicates: %s)" % (
                          item.get("display_name"), item.get("email"), who(candidates),
                          "s" if len(candidates) == 1 else "", item.get("reason"), verb,
                          self.options.get("possible_duplicates", POSSIBLE_DUPLICATES_DEFAULT)))
        restores = [item for item in plan["update"] if item.get("restore") and not item.get("adopt") and not item.get("undo")]
        for item in restores[:WARNINGS_CAP]:
            self.warn("restore %s: %s" % (who([item["id"]]), restore_reason(item.get("group"))))
        if len(plan["conflicts"]) > WARNINGS_CAP or len(plan["possible_duplicates"]) > WARNINGS_CAP:
            self.warn("%d conflict(s) and %d possible duplicate(s) in all; only the first %d of each are shown here: set "
                      "coconut_sync_report for the full list" % (len(plan["conflicts"]), len(plan["possible_duplicates"]), WARNINGS_CAP))

    def build_result(self, plan, staff_by_id):
        """The module result for `plan`: counts, changes, the diff, the CI gates (nothing written yet)."""
        from ansible_collections.coconut.entra.plugins.module_utils.reconcile import plan_is_empty

        changes = plan_changes(plan, staff_by_id)
        counts = dict(plan["counts"])
        # A 100,000-staff plan would make a result of hundreds of megabytes that Ansible copies, scans for
        # secrets and prints: lists stay whole up to RESULT_CAP entries, then keep the first RESULT_CAP
        # (the counts stay exact, `truncated` says what was cut, and the report holds everything).
        truncated = {}
        result = {
            "changed": not plan_is_empty(plan),
            "run_id": self.run_id,
            "counts": counts,
            "changes": _capped(changes, "changes", truncated),
            "conflicts": _capped(plan["conflicts"], "conflicts", truncated),
            "possible_duplicates": _capped(plan["possible_duplicates"], "possible_duplicates", truncated),
            "skipped_users": _capped(plan.get("skipped", []), "skipped_users", truncated),
            "groups": [{"id": g["id"], "displayName": g.get("displayName")} for g in self.resolved],
            "scope": self.scope_size,
            "diff": render_diff(changes, counts, self.options.get("diff_max_entries") or 50, self.user_group_names()),
        }
        if len(changes) <= RESULT_CAP:
            result["plan"] = plan
        if truncated:
            result["truncated"] = truncated
        result["ci_gates"] = ci_gates(plan, counts)
        return result

    def gate(self, plan, result):
        """Raise, before any write, when a CI gate the module's options set fails."""
        gate = tripped_gate(result["ci_gates"], self.options, self.check_mode)
        if gate:
            # A CI gate that fails still leaves the plan behind: the report is the artifact CI keeps and comments with.
            if self.check_mode and self.options.get("report"):
                result["report"] = self.write_report(plan, None)
            if not self.check_mode:
                result["changed"] = False  # the gate stopped the real run before any write
            raise CoconutEntraError(gate, result=result)

    def apply(self, plan, result):
        """Write the plan to Coconut; `applied` goes into the result. Returns the staff after (read only for a report)."""
        from ansible_collections.coconut.entra.plugins.module_utils.apply import apply_plan

        with self.phase("apply"):
            applied = self.applied = apply_plan(self.coconut, plan, send_invite=bool(self.options.get("send_invite")))
        truncated = result.get("truncated", {})
        result["applied"] = {key: _capped(value, "applied." + key, truncated) if isinstance(value, list) else value
                             for key, value in applied.items()}
        if truncated:
            result["truncated"] = truncated
        # The report shows Coconut as it is now, not as predicted; read only when a report is asked for.
        return self.coconut.list_staff() if self.options.get("report") else None

    def save_state(self, result):
        """Say how the delta read went; a real run then stores the new delta state (after a successful apply only:
        a failure before this leaves the old links, so the next run sees the change again)."""
        result["delta"] = {"mode": "delta" if self.delta is not None else "full", "state": self.store.where,
                           "changed_users": len(self.delta["changed"]) if self.delta is not None else None}
        if not self.check_mode:
            from ansible_collections.coconut.entra.plugins.module_utils.delta import sign

            with self.phase("save_state"):
                state = self.next_state
                if isinstance(state, StateInTheBackground):
                    self.store.save(*state.signed())
                else:
                    self.store.save(sign(state, self.state_key))

    def user_group_names(self):
        return {str(group["id"]): group.get("name") for group in self.user_groups or []}

    def write_report(self, plan, staff_after):
        from ansible_collections.coconut.entra.plugins.module_utils.outcome import integration_line
        from ansible_collections.coconut.entra.plugins.module_utils.report import build_report_data, write_report

        data = build_report_data(
            site=self.options.get("coconut_url"),
            groups=[{"id": g["id"], "displayName": g.get("displayName")} for g in self.resolved],
            check_mode=self.check_mode,
            plan=plan,
            staff_before=self.staff,
            staff_after=staff_after,
            generated_at=None,
            options={k: v for k, v in self.options.items() if k != "report"},
            user_group_names=self.user_group_names(),
            run_id=self.run_id,
            applied=None if self.check_mode else self.applied,
            integration=integration_line(self.coconut),
        )
        return write_report(self.options["report"], data)
