"""times.isoformat is the one writer of the report's and the EDA source's timestamps."""

from __future__ import annotations

import datetime

from ansible_collections.coconut.entra.plugins.module_utils import times
from ansible_collections.coconut.entra.plugins.module_utils.report import build_report_data

WHEN = datetime.datetime(2026, 11, 27, 7, 30, 15, 999, tzinfo=times.UTC)


def test_isoformat_keeps_the_offset_to_the_second_and_takes_a_naive_time_as_utc():
    assert times.isoformat(WHEN) == "2026-11-27T07:30:15+00:00"
    assert times.isoformat(WHEN.replace(tzinfo=None)) == "2026-11-27T07:30:15+00:00"
    toronto = datetime.timezone(datetime.timedelta(hours=-5))
    assert times.isoformat(WHEN.astimezone(toronto)) == "2026-11-27T02:30:15-05:00"
    assert times.isoformat("2026-11-27T07:30:15Z") == "2026-11-27T07:30:15Z"


def test_isoformat_without_a_time_is_now_in_utc():
    before = times.utcnow().replace(microsecond=0)
    now = datetime.datetime.fromisoformat(times.isoformat())
    assert now.utcoffset() == datetime.timedelta(0) and before <= now <= times.utcnow()


def test_the_report_stamps_its_time_with_isoformat():
    data = build_report_data(site="https://x.example", groups=[], check_mode=True, plan={"create": [], "update": [], "archive": [],
                             "conflicts": [], "possible_duplicates": [], "skipped": [], "counts": {}}, staff_before=[],
                             generated_at=WHEN.replace(tzinfo=None), options={})
    assert data["generated_at"] == times.isoformat(WHEN)
