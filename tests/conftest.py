"""Fixtures shared by every test that needs the sandbox (Entra, Graph and Coconut on 127.0.0.1)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sandbox.client import load_demo_scenario, start  # noqa: E402 - needs the path above


@pytest.fixture
def start_sandbox(tmp_path):
    """Factory: start_sandbox(scenario: dict, latency_ms=0) -> a running Sandbox, stopped at teardown."""
    running = []

    def starter(scenario, latency_ms=0, **kwargs):
        sandbox = start(scenario, tmp_path / f"sandbox{len(running)}", latency_ms=latency_ms, **kwargs)
        running.append(sandbox)
        return sandbox

    yield starter
    for sandbox in running:
        sandbox.stop()


@pytest.fixture
def sandbox(start_sandbox):
    """The sandbox with the demo scenario (a credit union branch)."""
    return start_sandbox(load_demo_scenario())


@pytest.fixture(scope="module")
def module_sandbox(request, tmp_path_factory):
    """One sandbox per test module, started with that module's scenario(); a test resets it with sandbox.reset()."""
    sandbox = start(request.module.scenario(), tmp_path_factory.mktemp("sandbox"))
    yield sandbox
    sandbox.stop()
