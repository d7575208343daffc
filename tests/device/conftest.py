"""The device suite runs every op, layer and optimizer on a non-CPU device against the CPU.

Devices: the strict stand-in (``shenjing.testing.strict``) always, and CUDA when CuPy
sees a GPU. ``SHENJING_TEST_DEVICES=cuda`` (comma-separated) picks them explicitly, so
the GPU check runs the same tests on real CuPy.
"""

from __future__ import annotations

import os

import pytest

import shenjing as sj
from shenjing.testing import strict


def _devices() -> list[str]:
    chosen = os.environ.get("SHENJING_TEST_DEVICES")
    if chosen:
        return [d.strip() for d in chosen.split(",") if d.strip()]
    return ["strict"] + (["cuda"] if sj.cuda.is_available() else [])


DEVICES = _devices()


@pytest.fixture(autouse=True, scope="session")
def _strict_backend():
    strict.install()
    yield
    strict.uninstall()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", [
            pytest.param(d, marks=pytest.mark.gpu) if d.startswith("cuda") else d
            for d in DEVICES
        ])
