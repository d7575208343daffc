"""The Optimizer base: groups, zero_grad, step's contract, state_dict and exact resume."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj
from shenjing import optim
from tests.optim.problems import CONFIG_PARAMS, make_params, run_steps, set_grads

# ---------------------------------------------------------------- exact resume


@pytest.mark.parametrize(("name", "kwargs"), CONFIG_PARAMS)
def test_state_dict_resumes_exactly(name, kwargs):
    sign = -1 if kwargs.get("maximize") else 1
    params = make_params("float32")
    opt = getattr(optim, name)(params, **kwargs)
    run_steps(opt, params, 10, sign)
    snapshot = opt.state_dict()
    saved_params = [p.array.copy() for p in params]
    uninterrupted = run_steps(opt, params, 15, sign)  # also checks the snapshot is a copy

    resumed_params = [sj.tensor(a, requires_grad=True) for a in saved_params]
    # Different hyperparameters: load_state_dict must bring the saved ones back.
    resumed_opt = getattr(optim, name)(resumed_params, lr=0.123)
    resumed_opt.load_state_dict(snapshot)
    resumed = run_steps(resumed_opt, resumed_params, 15, sign)
    for step, (a, b) in enumerate(zip(resumed, uninterrupted, strict=True)):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y, err_msg=f"step {step + 1} after resuming")


def test_state_dict_layout():
    w, b = make_params()
    extra = sj.tensor([1.0], requires_grad=True)
    opt = optim.Adam([{"params": [w, b]}, {"params": [extra], "lr": 0.5}], lr=0.1)
    set_grads([w, b])  # extra gets no gradient, hence no state
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.1, 0.5]
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert sorted(sd["state"]) == [0, 1]
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]
    assert sd["state"][0]["step"] == 1
    assert sd["state"][0]["exp_avg"] is not opt.state[w]["exp_avg"]


def test_load_state_dict_casts_to_parameter_dtype_and_accepts_0d_counts():
    params = make_params("float32")
    opt = optim.Adam(params)
    set_grads(params)
    opt.step()
    sd = opt.state_dict()
    for state in sd["state"].values():  # as a file format that stores only arrays would
        state["exp_avg"] = state["exp_avg"].astype(np.float64)
        state["step"] = np.asarray(state["step"])
    fresh = optim.Adam(params)
    fresh.load_state_dict(sd)
    assert fresh.state[params[0]]["exp_avg"].dtype == np.float32
    assert fresh.state[params[0]]["step"] == 1 and isinstance(fresh.state[params[0]]["step"], int)


def _trained_adam():
    params = make_params()
    opt = optim.Adam(params, lr=0.01)
    set_grads(params)
    opt.step()
    return params, opt


def _snapshot(opt):
    return opt.state_dict()


def _assert_unchanged(opt, before):
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert after["state"].keys() == before["state"].keys()
    for i, state in before["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(after["state"][i][key], value)


def test_load_state_dict_rejects_wrong_group_count_and_changes_nothing():
    params, opt = _trained_adam()
    other = optim.Adam([{"params": [params[0]]}, {"params": [params[1]]}])
    before = _snapshot(opt)
    with pytest.raises(ValueError, match="has 2 parameter groups, the optimizer has 1"):
        opt.load_state_dict(other.state_dict())
    _assert_unchanged(opt, before)


def test_load_state_dict_rejects_wrong_group_size_and_changes_nothing():
    params, opt = _trained_adam()
    other = optim.Adam([params[0]])
    before = _snapshot(opt)
    with pytest.raises(ValueError, match="parameter group 0 holds 1 parameters in the state dict "
                                         "and 2 in the optimizer"):
        opt.load_state_dict(other.state_dict())
    _assert_unchanged(opt, before)


def test_load_state_dict_rejects_wrong_state_shape_and_changes_nothing():
    params, opt = _trained_adam()
    transposed = [sj.tensor(params[0].array.T.copy(), requires_grad=True),
                  sj.tensor(params[1].array, requires_grad=True)]
    other = optim.Adam(transposed, lr=0.5)
    for p in transposed:
        p.grad = sj.tensor(np.ones(p.shape))
    other.step()
    before = _snapshot(opt)
    with pytest.raises(ValueError, match=r"state 'exp_avg' of parameter 0 has shape \(3, 4\), "
                                         r"but the parameter has shape \(4, 3\)"):
        opt.load_state_dict(other.state_dict())
    _assert_unchanged(opt, before)  # lr=0.5 from the bad state dict was not applied either


def test_load_state_dict_rejects_bad_hyperparameters_and_bad_layout():
    params, opt = _trained_adam()
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = -1.0
    before = _snapshot(opt)
    with pytest.raises(ValueError, match="Invalid learning rate: -1.0"):
        opt.load_state_dict(sd)
    _assert_unchanged(opt, before)
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    sd = opt.state_dict()
    sd["state"][7] = sd["state"][0]
    with pytest.raises(ValueError, match="state for parameter 7, which no parameter group lists"):
        opt.load_state_dict(sd)


# ---------------------------------------------------------------- groups


def test_param_groups_with_different_learning_rates():
    w, b = make_params()
    w0, b0 = w.array.copy(), b.array.copy()
    opt = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["momentum"] == 0.9
    set_grads([w, b])
    gw, gb = w.grad.array.copy(), b.grad.array.copy()
    opt.step()
    np.testing.assert_allclose(w.array, w0 - 0.1 * gw, rtol=1e-12)
    np.testing.assert_allclose(b.array, b0 - 0.5 * gb, rtol=1e-12)
    assert "momentum_buffer" not in opt.state[w] and "momentum_buffer" in opt.state[b]


def test_add_param_group():
    w, b = make_params()
    opt = optim.Adam([w], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.01})  # a lone tensor is accepted
    assert opt.param_groups[1]["params"] == [b]
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [b]})
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0: 2"):
        opt.add_param_group({"params": [sj.tensor([1.0])], "betas": (2, 0.9)})
    assert len(opt.param_groups) == 2


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        pytest.param(lambda: sj.tensor([1.0], requires_grad=True), TypeError,
                     "params should be an iterable", id="lone-tensor"),
        pytest.param(lambda: [], ValueError, "empty parameter list", id="empty"),
        pytest.param(lambda: [np.zeros(3)], TypeError,
                     "can only optimize Tensors, but parameter 0 of group 0 is a ndarray",
                     id="ndarray"),
        pytest.param(lambda: [sj.tensor([1.0], requires_grad=True) * 2], ValueError,
                     "leaf tensors", id="non-leaf"),
        pytest.param(lambda: [{"params": {sj.tensor([1.0])}}], TypeError, "ordered collection",
                     id="set"),
        pytest.param(lambda: [{"lr": 0.1}], ValueError, "needs a 'params' entry",
                     id="no-params"),
        pytest.param(lambda: [(w := sj.tensor([1.0])), w], ValueError, "appears twice",
                     id="duplicate"),
    ],
)
def test_rejects_bad_params(params, error, message):
    with pytest.raises(error, match=message):
        optim.SGD(params(), lr=0.1)


# ---------------------------------------------------------------- step and zero_grad


def test_zero_grad():
    w, b = make_params()
    opt = optim.SGD([w, b], lr=0.1)
    set_grads([w, b])
    grad_array = w.grad.array
    opt.zero_grad(set_to_none=False)
    assert w.grad.array is grad_array and not grad_array.any() and not b.grad.array.any()
    opt.zero_grad()
    assert w.grad is None and b.grad is None
    opt.zero_grad()  # no gradients: nothing to do


def test_step_skips_parameters_without_gradient():
    w, b = make_params()
    b0 = b.array.copy()
    opt = optim.Adam([w, b], lr=0.1)
    w.grad = sj.tensor(np.ones(w.shape), dtype="float64")
    opt.step()
    np.testing.assert_array_equal(b.array, b0)
    assert b not in opt.state and opt.state[w]["step"] == 1


def test_step_rejects_gradient_of_wrong_shape():
    w, _ = make_params()
    opt = optim.SGD([w], lr=0.1)
    w.grad = sj.tensor(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"SGD: a parameter of shape \(4, 3\) has a gradient of "
                                         r"shape \(3, 4\)"):
        opt.step()


def test_step_runs_closure_with_gradients_enabled():
    w, b = make_params()
    opt = optim.SGD([w, b], lr=0.1)
    seen = []

    def closure():
        seen.append(sj.is_grad_enabled())
        set_grads([w, b])
        return 1.5

    with sj.no_grad():
        loss = opt.step(closure)
    assert loss == 1.5 and seen == [True] and opt.step() is None


def test_repr_lists_groups():
    opt = optim.SGD(make_params(), lr=0.1, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "momentum: 0.9" in text


@pytest.mark.parametrize("name", ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax",
                                  "NAdam", "RAdam", "RMSprop", "RMSpropNesterov"])
def test_an_optimizer_made_without_parameters_raises_when_used_directly(name):
    """Keras's form, Adam(lr=...), used in a PyTorch loop would train nothing silently."""
    opt = getattr(optim, name)(lr=0.1)
    for method in ("step", "zero_grad"):
        with pytest.raises(RuntimeError, match=rf"{name}\.{method}\(\): this optimizer has no "
                                               rf"parameters.*Pass the parameters: "
                                               rf"{name}\(model.parameters\(\), lr=\.\.\.\), "
                                               r"or give it to model.compile"):
            getattr(opt, method)()
    # Given the parameters later (what compile does), it works.
    w = sj.tensor([1.0], requires_grad=True)
    opt.add_param_group({"params": [w]})
    w.grad = sj.tensor([1.0])
    opt.step()
    opt.zero_grad()
    assert w.grad is None and w.item() != 1.0
