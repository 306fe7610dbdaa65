"""How an operation's CPU grows with its input: a guard against quadratic work that asserts no time, only a ratio
of two CPU times measured in the same test (make bench measures speed)."""

import time

from ansible_collections.coconut.entra.plugins.module_utils.reconcile import collector_paused


def cpu_growth(run, small, large, repeat=2):
    """CPU seconds of run(large) / run(small), each the fastest of `repeat`; `run(n)` builds nothing it times itself
    (it returns a callable that does the work, so the set-up is outside the measure). Linear work gives about
    large / small; quadratic gives its square. The cyclic collector is paused while it runs: its rescans of a growing
    heap are Python's own superlinear cost, not the operation's (the sync pauses it too)."""

    def cpu(size):
        best = None
        for _time in range(repeat):
            work = run(size)
            with collector_paused():
                started = time.process_time()
                work()
                spent = time.process_time() - started
            best = spent if best is None else min(best, spent)
        return max(best, 1e-6)

    return cpu(large) / cpu(small)
