# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site lease: one applying sync per Coconut site, whoever starts it (rulebook, cron, CI, a person).

The lease lives under `lease` in the site's Entra ID integration record: who holds it (a random id, the host,
the pid), since when, and until when. A real run plans first and takes the lease only when its plan writes
something, renews it while it applies, and releases it at the end (on failure too); a holder that dies stops
renewing, so its lease expires after the TTL. A run with nothing to change writes nothing, not even a lease.

Because the plan is made before the lease is held, the run notes (`observe`, one read before its own reads) the
record's `lease_epoch`, which every take of the lease increases, and whether a lease was held. If either says
another run may have applied since, the plan is `stale` and is made again under the lease.

Coconut's PUT replaces the whole record and has no compare-and-swap, so two runs may both see the lease free and
both write it. After writing, a run waits a moment and reads the record again: only the run whose write landed last
still finds its own id there, and only that one goes on (the other waits, as for any held lease). Every write is a
read-modify-write of the `lease` key alone, so the record's other fields (status, delta_state...) are kept.
"""

from __future__ import annotations

import datetime
import os
import socket
import threading
import time
import uuid
from contextlib import nullcontext

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.http import ServiceUnreachable
from ansible_collections.coconut.entra.plugins.module_utils.times import format_datetime, parse_datetime, utcnow

LEASE_KEY = "lease"
EPOCH_KEY = "lease_epoch"  # counts the takes of the lease: a plan made before a take is stale
DEFAULT_WAIT = 300
DEFAULT_TTL = 120
# Longer than any read-to-write gap of another run's acquire (two HTTP round trips).
SETTLE_SECONDS = 1.0
POLL_SECONDS = 2.0


def _parse(text):
    """A lease's time, or None when it is not one (a garbled lease counts as not held)."""
    try:
        return parse_datetime(text)
    except (TypeError, ValueError):
        return None


def describe(lease):
    """The holder, as one clause a person can act on."""
    return "host %s, pid %s, started %s, held until %s unless renewed" % (
        lease.get("host") or "?", lease.get("pid") or "?", lease.get("started_at") or "?", lease.get("expires_at") or "?")


def is_live(lease, now=None):
    """True when `lease` is held by someone and not expired."""
    if not isinstance(lease, dict) or not lease.get("holder"):
        return False
    expires = _parse(lease.get("expires_at"))
    return expires is not None and expires > (now or utcnow())


class SiteLease:
    """Take, renew and release the lease of one site. `acquire()` returns True when held, False when the site has
    no integration record (nothing to keep a lease in: the run goes on with a warning)."""

    def __init__(self, coconut, wait=DEFAULT_WAIT, ttl=DEFAULT_TTL, warn=None, settle=SETTLE_SECONDS, poll=POLL_SECONDS, while_settling=None):
        if isinstance(wait, bool) or not isinstance(wait, int) or wait < 0:
            raise CoconutEntraError("coconut_lease_wait must be a number of seconds, 0 or more; got %r" % (wait,))
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 3:
            raise CoconutEntraError("coconut_lease_ttl must be a number of seconds, 3 or more; got %r" % (ttl,))
        self.coconut = coconut
        self.wait = wait
        self.ttl = ttl
        self.warn = warn or (lambda msg: None)
        self.settle = settle
        self.poll = poll
        # Called as the settle wait begins: work the run can do in a thread meanwhile (it must not write to Coconut).
        self.while_settling = while_settling
        self.holder = uuid.uuid4().hex
        self.started_at = format_datetime(utcnow())
        self.held = False
        self.lost = None
        self.stale = False
        self._seen = None
        self._observed = None  # (epoch, a lease was held) when the run started reading
        self._epoch_before_take = 0
        self._stop = threading.Event()
        self._renewer = None

    def _mine(self):
        return {"holder": self.holder, "host": socket.gethostname(), "pid": os.getpid(), "started_at": self.started_at,
                "expires_at": format_datetime(utcnow() + datetime.timedelta(seconds=self.ttl))}

    def observe(self):
        """Before the run reads: note the lease epoch and whether someone holds the lease (one read, no write)."""
        record = self.coconut.get_integration() or {}
        self._observed = (record.get(EPOCH_KEY) or 0, is_live(record.get(LEASE_KEY)))

    def apply(self, read_and_plan, finish, phase=None, also=None, who="this one"):
        """One writing run under the lease, as the sync and the undo both run: observe -> read and plan -> (only if the
        plan writes) take the lease, plan again if another run applied meanwhile -> finish -> release -> warn if lost.

        A plan with nothing to write takes no lease, so a run with nothing to do writes nothing. `phase(name)` times
        the lease's steps (a context manager); `also(result)` gives keys to write with the release (the run's outcome).
        Returns (the result, whether `also`'s keys were written).
        """
        from ansible_collections.coconut.entra.plugins.module_utils.reconcile import plan_is_empty

        phase = phase or (lambda name: nullcontext())
        with phase("lease"):
            self.observe()
        plan = read_and_plan()
        if plan_is_empty(plan):
            return finish(plan), False
        # One applying run per site: the lease before the first write; if another run held it or took it since this
        # run read, the plan is made again on what that run left.
        with phase("lease"):
            self.acquire()
        result, written = None, False
        try:
            if self.stale:
                plan = read_and_plan()
            result = finish(plan)
        finally:
            # Keys to write with the release only for a run that finished (a failed one records its own way).
            with phase("lease"):
                written = self.release(also=None if result is None or also is None else also(result))
        if self.lost:
            self.warn("the sync lease was taken by another run while %s applied (%s): check the site with a --check run"
                      % (who, describe(self.lost)))
        return result, written

    def acquire(self):
        deadline = time.monotonic() + self.wait
        while True:
            self._seen = None
            try:
                # Sent once: a take retried later (after a 429's Retry-After, a reconnect) could land after another run
                # confirmed the lease and overwrite it, and both would apply. A failed take starts again from a read.
                taken = self.coconut.update_integration(self._take, once=True)
            except CoconutEntraError as exc:
                busy = isinstance(exc, ServiceUnreachable) or exc.details.get("status") in (429, 500, 502, 503, 504)
                if not busy or time.monotonic() >= deadline:
                    raise
                self.warn("taking the sync lease failed (%s); trying again from a fresh read" % exc.msg)
                time.sleep(self.poll)
                continue
            if taken is None:
                self.warn("this site has no Entra ID integration record to keep the sync lease in, so nothing stops a "
                          "second applying run at the same time: run connect.yml once to record the integration")
                return False
            current = self._seen
            if not is_live(current) or current.get("holder") == self.holder:
                if self.while_settling is not None:
                    self.while_settling()
                time.sleep(self.settle)
                confirmed = (self.coconut.get_integration() or {}).get(LEASE_KEY) or {}
                if confirmed.get("holder") == self.holder:
                    self.held = True
                    if self._observed is not None:
                        epoch, busy = self._observed
                        # Someone held the lease while this run read, or took it since: what this run read may be old.
                        self.stale = busy or self._epoch_before_take != epoch
                    if isinstance(current, dict) and current.get("holder") and current.get("holder") != self.holder:
                        self.warn("took over an expired sync lease (%s): that run ended without releasing it" % describe(current))
                    self._start_renewing()
                    return True
                current = confirmed  # another run's write landed after ours: it goes first
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CoconutEntraError(
                    "another sync is applying to this site (%s); waited %ds (coconut_lease_wait): nothing was written, "
                    "run again when it has finished" % (describe(current), self.wait),
                    lease=current)
            time.sleep(min(self.poll, remaining))

    def _take(self, record):
        """update_integration's change: our lease when it is free (or expired), else no write."""
        current = self._seen = record.get(LEASE_KEY)
        if is_live(current) and current.get("holder") != self.holder:
            return None
        epoch = record.get(EPOCH_KEY) or 0
        if not (isinstance(current, dict) and current.get("holder") == self.holder):
            self._epoch_before_take = epoch  # a fresh take (not our own write, read again in a retry)
            epoch += 1
        return {LEASE_KEY: self._mine(), EPOCH_KEY: epoch}

    def _start_renewing(self):
        self._renewer = threading.Thread(target=self._renew_loop, name="coconut-lease", daemon=True)
        self._renewer.start()

    def _renew_loop(self):
        while not self._stop.wait(self.ttl / 3.0):
            try:
                self.renew()
            except CoconutEntraError:
                continue  # the next renewal retries; the TTL leaves two more chances

    def renew(self):
        """Extend the lease; records `lost` (and keeps the other holder) when someone else holds it now."""

        def change(record):
            current = record.get(LEASE_KEY) or {}
            if current.get("holder") != self.holder:
                self.lost = current
                return None
            return {LEASE_KEY: self._mine()}

        self.coconut.update_integration(change)

    def release(self, also=None):
        """Stop renewing and clear the lease, if it is still ours; `also` (keys of the record, e.g. the run's outcome)
        go in the same write, so a run that applied pays one read and one write for both. True when `also` was written.
        """
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        if not self.held:
            return False
        self.held = False

        def change(record):
            current = record.get(LEASE_KEY) or {}
            updates = dict(also or {})
            if current.get("holder") == self.holder:
                updates[LEASE_KEY] = None
            return updates or None

        try:
            return self.coconut.update_integration(change) is not None and bool(also)
        except CoconutEntraError as exc:
            self.warn("could not release the sync lease (%s); it expires by itself within %ds" % (exc.msg, self.ttl))
            return False
