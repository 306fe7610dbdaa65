"""Graph pages are read one page ahead of the caller (issue 13): the same items, in the same order, the same errors,
and the next page's request is on its way while the caller still works on the current one."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.coconut.entra.plugins.module_utils.entra import EntraClient
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError

GRAPH = "https://graph.example/v1.0/"
WAIT = 10  # seconds an event may take to come; only ever reached when the read-ahead is missing


class PagedGraph:
    """A client whose get() serves numbered pages of a listing from memory and records what was asked, and when."""

    def __init__(self, sizes, fail_at=None):
        self.client = object.__new__(EntraClient)  # no sign-in, no HTTP: only the paging is under test
        self.client.get = self.get
        self.sizes, self.fail_at = sizes, fail_at
        self.asked = []
        self.asked_event = {n: threading.Event() for n in range(len(sizes) + 1)}

    def get(self, url, params=None, permission=None, what=None):
        n = 0 if url == "users" else int(url.rsplit("=", 1)[1])
        self.asked.append(n)
        self.asked_event[n].set()
        if n == self.fail_at:
            raise CoconutEntraError(f"page {n} failed")
        page = {"value": [{"id": f"{n}-{i}"} for i in range(self.sizes[n])]}
        if n + 1 < len(self.sizes):
            page["@odata.nextLink"] = f"{GRAPH}users?$skiptoken={n + 1}"
        return page


def sequential(sizes):
    return [{"id": f"{n}-{i}"} for n, size in enumerate(sizes) for i in range(size)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=8))
def test_reading_ahead_gives_every_item_of_every_page_in_order_and_asks_each_page_once(sizes):
    graph = PagedGraph(sizes)
    assert list(graph.client.paginate("users")) == sequential(sizes)
    assert graph.asked == list(range(len(sizes)))


def test_the_next_page_is_asked_for_while_the_caller_still_works_on_this_one():
    graph = PagedGraph([2, 2, 2])
    seen = []
    for item in graph.client.paginate("users"):
        page = int(item["id"].split("-")[0])
        if page + 1 < 3:
            # Without the read-ahead, page+1 is only asked for after the caller has taken every item of this page.
            assert graph.asked_event[page + 1].wait(WAIT), f"page {page + 1} was not asked for while page {page} was used"
        seen.append(item["id"])
    assert seen == [item["id"] for item in sequential([2, 2, 2])]


def test_a_failing_page_fails_after_the_items_before_it_as_a_sequential_read_does():
    graph = PagedGraph([2, 2, 2, 2], fail_at=2)
    taken = []
    with pytest.raises(CoconutEntraError, match="page 2 failed"):
        for item in graph.client.paginate("users"):
            taken.append(item)
    assert taken == sequential([2, 2])
    assert graph.asked == [0, 1, 2]


def test_a_caller_that_stops_early_leaves_no_read_running():
    graph = PagedGraph([1, 1, 1, 1])
    pages = graph.client.paginate("users")
    assert next(pages) == {"id": "0-0"}
    pages.close()  # waits for the page in flight: no thread outlives the listing
    assert not [t for t in threading.enumerate() if t.name.startswith("graph-page")]
    assert graph.asked == [0, 1]
