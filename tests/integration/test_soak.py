"""A short soak (the full one is `make soak`): churn and random faults, converged after every successful run."""

from __future__ import annotations

import random

import pytest
from soak import Soak

pytestmark = pytest.mark.integration


def test_a_short_soak_converges_after_every_run_and_never_duplicates(tmp_path):
    lines = []
    soak = Soak(iterations=5, seed=random.randrange(1 << 30), members=12, workdir=tmp_path, out=lines.append)
    assert soak.run(), "\n".join(lines)
    assert soak.counts["ok"] >= 5, "\n".join(lines)
