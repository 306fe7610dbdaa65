"""The site lease's take (lease.SiteLease.acquire): sent once, and after a failure started again from a fresh read,
so that a take never lands long after the read it was made from."""

from __future__ import annotations

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.http import ServiceUnreachable
from ansible_collections.coconut.entra.plugins.module_utils.lease import LEASE_KEY, SiteLease


class Record:
    """The integration record, with update_integration as CoconutClient has it; `failures` fail the next takes."""

    def __init__(self, failures=()):
        self.record = {"status": "connected"}
        self.failures = list(failures)
        self.calls = []

    def get_integration(self):
        self.calls.append("read")
        return dict(self.record)

    def update_integration(self, change, once=False):
        record = self.get_integration()
        updates = change(record) if callable(change) else change
        if updates is None:
            return record
        self.calls.append("write once" if once else "write")
        if once and self.failures:
            raise self.failures.pop(0)
        self.record.update(updates)
        self.record = {k: v for k, v in self.record.items() if v is not None}
        return dict(self.record)


def lease(coconut, **kwargs):
    warnings = []
    made = SiteLease(coconut, wait=kwargs.pop("wait", 30), ttl=60, warn=warnings.append, settle=0, poll=0)
    return made, warnings


@pytest.mark.parametrize("failure", [ServiceUnreachable("cannot reach Coconut", service="Coconut"),
                                     CoconutEntraError("Coconut answered 429", service="Coconut", status=429),
                                     CoconutEntraError("Coconut answered 503", service="Coconut", status=503)])
def test_a_failed_take_starts_again_from_a_fresh_read(failure):
    coconut = Record(failures=[failure])
    site_lease, warnings = lease(coconut)
    assert site_lease.acquire() is True
    site_lease.release()
    # read, take (failed, not repeated), then a fresh read before the next take, then the confirming read.
    assert coconut.calls[:5] == ["read", "write once", "read", "write once", "read"]
    assert any("trying again from a fresh read" in w for w in warnings)


def test_a_take_refused_for_another_reason_is_not_tried_again():
    coconut = Record(failures=[CoconutEntraError("Coconut refused the API token", service="Coconut", status=401)])
    site_lease, _warnings = lease(coconut)
    with pytest.raises(CoconutEntraError, match="refused the API token"):
        site_lease.acquire()
    assert coconut.calls == ["read", "write once"]


def test_takes_that_keep_failing_stop_at_the_wait():
    failure = CoconutEntraError("Coconut answered 503", service="Coconut", status=503)
    coconut = Record(failures=[failure] * 1000)
    site_lease, _warnings = lease(coconut, wait=0)
    with pytest.raises(CoconutEntraError, match="503"):
        site_lease.acquire()
    assert LEASE_KEY not in coconut.record


def test_while_settling_runs_after_the_take_and_before_the_confirming_read():
    # The run does work that writes nothing (the next delta state) in that second, instead of after its writes.
    coconut = Record()
    site_lease = SiteLease(coconut, wait=30, ttl=60, settle=0, poll=0, while_settling=lambda: coconut.calls.append("settling"))
    assert site_lease.acquire() is True
    assert coconut.calls == ["read", "write once", "settling", "read"]
    site_lease.release()
