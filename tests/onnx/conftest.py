"""The fixture the ONNX export and load tests share: each of ``cases.CASES``, seeded."""

from __future__ import annotations

import pytest

import shenjing as sj
from tests.onnx.cases import CASES, Case


@pytest.fixture(params=CASES, ids=lambda case: case.id)
def case(request: pytest.FixtureRequest) -> Case:
    sj.manual_seed(0)
    return request.param
