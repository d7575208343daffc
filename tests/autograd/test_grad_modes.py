"""``set_grad_enabled``: PyTorch's call, context-manager and decorator forms."""

from __future__ import annotations

import pytest

import shenjing as sj

torch = pytest.importorskip("torch")  # every test here compares with PyTorch


def _records(lib) -> bool:
    t = lib.ones(2, requires_grad=True)
    return (t * 2).requires_grad


@pytest.mark.parametrize("lib", [torch, sj], ids=["torch", "shenjing"])
def test_set_grad_enabled_as_a_call_switches_recording_until_switched_back(lib) -> None:
    try:
        lib.set_grad_enabled(False)
        assert not _records(lib) and not lib.is_grad_enabled()
    finally:
        lib.set_grad_enabled(True)
    assert _records(lib)


@pytest.mark.parametrize("lib", [torch, sj], ids=["torch", "shenjing"])
def test_set_grad_enabled_as_a_context_restores_the_mode_before_it(lib) -> None:
    seen = []
    with lib.no_grad():
        with lib.set_grad_enabled(True):
            seen.append(_records(lib))
        seen.append(_records(lib))
    with lib.set_grad_enabled(False):
        seen.append(_records(lib))
    seen.append(_records(lib))
    assert seen == [True, False, False, True]


@pytest.mark.parametrize("lib", [torch, sj], ids=["torch", "shenjing"])
def test_set_grad_enabled_as_a_decorator_sets_the_mode_only_inside(lib) -> None:
    @lib.set_grad_enabled(False)
    def inside() -> bool:
        return _records(lib)

    assert lib.is_grad_enabled()  # decorating does not switch recording off
    assert inside() is False
    assert _records(lib)


def test_set_grad_enabled_needs_a_bool() -> None:
    with pytest.raises(TypeError, match="set_grad_enabled"):
        sj.set_grad_enabled(1)  # type: ignore[arg-type]
    assert sj.is_grad_enabled()


@pytest.mark.parametrize("lib", [torch, sj], ids=["torch", "shenjing"])
def test_inference_mode_records_nothing_in_every_form(lib) -> None:
    with lib.inference_mode():
        assert not _records(lib) and lib.is_inference_mode_enabled()
        with lib.inference_mode(False):
            assert lib.is_inference_mode_enabled() is False
    assert _records(lib) and not lib.is_inference_mode_enabled()

    @lib.inference_mode()
    def called() -> bool:
        return _records(lib)

    @lib.inference_mode
    def bare() -> bool:
        return _records(lib)

    assert called() is False and bare() is False and _records(lib)


def test_inference_mode_needs_a_bool() -> None:
    with pytest.raises(TypeError, match="inference_mode"):
        sj.inference_mode(1)  # type: ignore[arg-type]


@pytest.mark.parametrize("lib", [torch, sj], ids=["torch", "shenjing"])
def test_variable_is_a_detached_leaf_sharing_memory(lib) -> None:
    x = lib.ones(3, requires_grad=True) * 3
    v = lib.autograd.Variable(x)
    assert v.grad_fn is None and v.is_leaf and not v.requires_grad
    w = lib.autograd.Variable(x, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    (w * 2).sum().backward()
    assert w.grad.tolist() == [2.0, 2.0, 2.0]
    with lib.no_grad():
        v.add_(1)
    assert x.tolist() == [4.0, 4.0, 4.0]  # the same memory


def test_variable_needs_a_tensor() -> None:
    with pytest.raises(TypeError, match="Variable data has to be a tensor"):
        sj.autograd.Variable([1.0])
