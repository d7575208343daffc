"""The device suite runs every op, layer and optimizer on a non-CPU device against the CPU.

Devices: the strict stand-in (``shenjing.testing.strict``) always, and CUDA when CuPy
sees a GPU. ``SHENJING_TEST_DEVICES=cuda`` (comma-separated) picks them explicitly, so
the GPU check runs the same tests on real CuPy. ``SHENJING_TEST_HOST_KERNELS=1`` builds
the stand-in's fused kernels on the host (``shenjing.testing.host_kernels``), so every
test takes the GPU code paths (the kernels' own text) instead of the NumPy ones.
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
    with_kernels = os.environ.get("SHENJING_TEST_HOST_KERNELS") == "1"
    if with_kernels:
        from shenjing.testing import host_kernels

        host_kernels.install()
    yield
    if with_kernels:
        host_kernels.uninstall()
    strict.uninstall()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", [
            pytest.param(d, marks=pytest.mark.gpu) if d.startswith("cuda") else d
            for d in DEVICES
        ])
