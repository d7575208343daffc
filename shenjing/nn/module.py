"""``Module``: the base class of every layer and model.

A module owns three kinds of state, each found by walking its attributes in the order
they were assigned, as in PyTorch:

- *parameters*: ``Parameter`` attributes, learned by an optimizer;
- *buffers*: tensors registered with ``register_buffer`` (running statistics, say),
  saved in the state dict but not learned;
- *children*: ``Module`` attributes, whose state is reached through dotted names
  (``layers.0.weight``).

Assigning a ``Parameter`` or ``Module`` to an attribute registers it; ``state_dict()``
and ``load_state_dict()`` move all of it, under PyTorch's keys, to and from NumPy arrays.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from shenjing import _bfloat16, dtypes
from shenjing.autograd import no_grad
from shenjing.autograd.tracing import record_zero_grad
from shenjing.backend import (
    DEFAULT_FLOAT,
    Device,
    device_of,
    get_array_module,
    is_array,
    to_device,
)
from shenjing.nn.hooks import ModuleHooks, call_with_hooks
from shenjing.nn.keras import KerasMethods
from shenjing.nn.parameter import Parameter
from shenjing.ops.transfer import parse_to
from shenjing.tensor import Tensor

StateDict = OrderedDict[str, Any]  # name -> NumPy array (Tensor with keep_vars=True)


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped: keys absent from either side."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module(KerasMethods, ModuleHooks):
    """Base class of layers and models: subclass it, assign layers and parameters as
    attributes in ``__init__``, and write ``forward``.

    Parameters, buffers and child modules are registered by assignment (after
    ``super().__init__()``) and kept in insertion order in ``_parameters``, ``_buffers``
    and ``_modules``. Each is also an ordinary attribute, so ``self.weight`` inside
    ``forward`` is a plain, fast attribute lookup. Calling the module calls ``forward``.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> class MLP(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = nn.Linear(4, 8)
        ...         self.out = nn.Linear(8, 2)
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x).relu())
        >>> list(MLP().state_dict())
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent_buffers: set[str]
    _modules: dict[str, Module | None]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap each subclass's ``__init__`` so that a module remembers the arguments it
        was built with (``_init_args``, set by the outermost ``__init__`` only): what
        ``model.save`` writes as the architecture (see ``shenjing.nn.saving``)."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def recording_init(self: Module, *args: Any, **kwargs: Any) -> None:
            if "_init_args" not in self.__dict__:
                object.__setattr__(self, "_init_args", (args, kwargs))
            init(self, *args, **kwargs)

        cls.__init__ = recording_init

    def __init__(self) -> None:
        # Set through object.__setattr__: our __setattr__ reads these dicts.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", {})

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._hooks is None:
            return self.forward(*args, **kwargs)
        return call_with_hooks(self, self._hooks, args, kwargs)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if params is None:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"Cannot assign {type(value).__name__} {name!r} before "
                    "Module.__init__() is called; call super().__init__() first"
                )
        elif isinstance(value, Parameter):
            self._unregister(name)
            params[name] = value
        elif isinstance(value, Module):
            self._unregister(name)
            self._modules[name] = value
        elif name in params:
            _check_kind(value, Parameter, "parameter", name)
            params[name] = value
        elif name in self._modules:
            _check_kind(value, Module, "child module", name)
            self._modules[name] = value
        elif name in self._buffers:
            _check_kind(value, Tensor, "buffer", name)
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._unregister(name)
        object.__delattr__(self, name)

    def _unregister(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent_buffers.discard(name)
        self._modules.pop(name, None)

    def _check_new_name(self, kind: str, name: Any, registry: dict[str, Any]) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"Cannot register a {kind} before Module.__init__() is called")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(
                f"A {kind} name must be a non-empty string without '.'. Received: {name!r}"
            )
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"Cannot register {kind} {name!r}: attribute {name!r} already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a ``None`` placeholder, such as a missing bias) as ``name``."""
        self._check_new_name("parameter", name, self._parameters)
        _check_kind(param, Parameter, "parameter", name)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not learned (e.g. BatchNorm's running mean).

        A persistent buffer is saved in the state dict; a non-persistent one is not.
        """
        self._check_new_name("buffer", name, self._buffers)
        _check_kind(tensor, Tensor, "buffer", name)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module as ``name`` (any string without '.', such as ``"0"``)."""
        self._check_new_name("child module", name, self._modules)
        _check_kind(module, Module, "child module", name)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # --------------------------------------------------------------- traversal
    def named_modules(
        self, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """Every module in the tree, this one first, with its dotted name."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in seen:
                    continue
                seen.add(id(module))
            yield name, module
            children = [
                (f"{name}.{child_name}" if name else child_name, child)
                for child_name, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))  # pre-order: first child popped first

    def modules(self) -> Iterator[Module]:
        """Every module in the tree, this one first."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct child modules with their names."""
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator[Module]:
        """The direct child modules."""
        for _, child in self.named_children():
            yield child

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Tensor]]:
        modules = (
            self.named_modules(prefix, remove_duplicate) if recurse else [(prefix, self)]
        )
        seen: set[int] = set()
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name; a shared parameter appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, in registration order; what an optimizer takes."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """Every buffer with its dotted name."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer, in registration order."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def count_params(self, trainable_only: bool = False) -> int:
        """The number of scalars in all parameters (only those requiring a gradient if
        ``trainable_only``). Keras's name: PyTorch's ``PReLU`` already uses
        ``num_parameters`` for an attribute."""
        return sum(
            p.numel() for p in self.parameters() if p.requires_grad or not trainable_only
        )

    # -------------------------------------------------------------- state dict
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> StateDict:
        """The module's state under PyTorch's keys: for each module in the tree, its
        parameters, then its persistent buffers.

        Values are copies as NumPy arrays (a snapshot: later training leaves them be), or
        the tensors themselves with ``keep_vars=True``.

        Example:
            >>> import shenjing.nn as nn
            >>> sd = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).state_dict()
            >>> list(sd)  # doctest: +NORMALIZE_WHITESPACE
            ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean',
             '1.running_var', '1.num_batches_tracked']
        """
        state: StateDict = OrderedDict()
        # Like PyTorch, no de-duplication: a shared parameter is saved under every name.
        for module_prefix, module in self.named_modules(prefix, remove_duplicate=False):
            key_prefix = f"{module_prefix}." if module_prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[key_prefix + name] = param if keep_vars else _snapshot(param)
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    state[key_prefix + name] = buffer if keep_vars else _snapshot(buffer)
        return state

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy ``state_dict``'s values into this module's parameters and buffers, in place.

        Every key and shape is checked before anything is written, so a failed load leaves
        the module as it was. Values may be NumPy arrays or Tensors; each is cast to the
        dtype of the tensor it is written into.

        Args:
            state_dict: name -> array, as made by ``state_dict()`` (here or in PyTorch,
                converted to NumPy).
            strict: fail on keys missing from ``state_dict`` or unknown to the module.
                Shape mismatches fail either way.

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``.

        Raises:
            RuntimeError: naming every missing and unexpected key and every shape mismatch.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict expects a mapping of names to arrays. Received: "
                f"{type(state_dict).__name__}"
            )
        targets = self.state_dict(keep_vars=True)
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        errors = []
        if strict and missing:
            errors.append("Missing key(s): " + ", ".join(map(repr, missing)))
        if strict and unexpected:
            errors.append("Unexpected key(s): " + ", ".join(map(repr, unexpected)))
        converted = {}
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = value.array if isinstance(value, Tensor) else value
            if is_array(value):  # a GPU model loads a host state dict, and the reverse
                value = to_device(value, device_of(target.array))
            shape = tuple(value.shape if is_array(value) else np.shape(value))
            if shape != target.shape:
                errors.append(
                    f"Size mismatch for {key!r}: the module has shape {target.shape}, the "
                    f"state dict has shape {shape}"
                )
                continue
            xp = get_array_module(target.array)
            try:
                converted[key] = xp.asarray(value, dtype=target.dtype)
            except (TypeError, ValueError) as err:
                errors.append(f"Cannot convert {key!r} to {target.dtype}: {err}")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n  "
                + "\n  ".join(errors)
            )
        for key, value in converted.items():
            targets[key].array[...] = value
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch statistics) on every module; returns
        self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) expects a bool. Received: {mode!r}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Set evaluation mode (dropout off, running statistics) on every module; returns
        self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze (True) every parameter; returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: drop it (default) or fill it with zeros."""
        record_zero_grad(self, set_to_none)  # sj.compile replays it too
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.array[...] = 0

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every child module (recursively), then on self; returns self.

        Example:
            >>> import shenjing.nn as nn
            >>> def init(m):
            ...     if isinstance(m, nn.Linear):
            ...         nn.init.zeros_(m.bias)
            >>> model = nn.Sequential(nn.Linear(2, 2)).apply(init)
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---------------------------------------------------------------- devices
    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move every parameter and buffer to a device and/or cast the floating-point ones
        to a dtype, in place, as ``torch.nn.Module.to``: ``to(device)``, ``to(dtype)``,
        ``to(device, dtype)``, ``to(tensor)``. Returns self.

        Each ``Parameter`` keeps its identity (only its ``.array`` and ``.grad`` change), so
        an optimizer built before the move still updates the moved parameters; its state
        follows on the next step (see ``Optimizer.step``).
        """
        device, dtype = parse_to(f"{type(self).__name__}.to", args, kwargs)
        if dtype is not None and _bfloat16.kind(dtype) not in "fc":
            raise TypeError(
                f"{type(self).__name__}.to only accepts floating point dtypes. Received: {dtype}"
            )
        for t in [*self.parameters(), *self.buffers()]:
            _move_in_place(t, device, dtype)
            if t.grad is not None:
                _move_in_place(t.grad, device, dtype)
        return self

    def cuda(self, device: int | str | Device | None = None) -> Module:
        """Move every parameter and buffer to a GPU, in place. Returns self."""
        if isinstance(device, int):
            device = Device("cuda", device)
        return self.to(Device(device or "cuda"))

    def cpu(self) -> Module:
        """Move every parameter and buffer to host memory, in place. Returns self."""
        return self.to("cpu")

    def float(self) -> Module:
        """Cast every floating-point parameter and buffer to float32, in place."""
        return self.to(np.dtype(np.float32))

    def double(self) -> Module:
        """Cast every floating-point parameter and buffer to float64, in place."""
        return self.to(np.dtype(np.float64))

    def half(self) -> Module:
        """Cast every floating-point parameter and buffer to float16, in place."""
        return self.to(np.dtype(np.float16))

    def type(self, dst_type: Any) -> Module:
        """Cast *every* parameter and buffer (integer ones too, as PyTorch's
        ``Module.type``) to ``dst_type``, in place. Returns self."""
        if isinstance(dst_type, str) and "." in dst_type:
            dst_type = dtypes.from_type_name(dst_type)
        dtype = np.dtype(dst_type)
        for t in [*self.parameters(), *self.buffers()]:
            if t.array.dtype != dtype:
                t.array = t.array.astype(dtype)
            if t.grad is not None and t.grad.array.dtype != dtype:
                t.grad.array = t.grad.array.astype(dtype)
        return self

    def build(self, input_shape: tuple[int | None, ...], dtype: Any = None) -> Module:
        """Create the parameters of lazily sized layers (``Dense``) by running one forward
        pass on zeros of ``input_shape`` (a ``None`` batch size counts as 1) and ``dtype``
        (float32 by default; an integer dtype for models that take indices).

        Runs in eval mode under ``no_grad``, so running statistics are untouched, and
        restores every module's mode. Returns self.
        """
        shape = tuple(1 if n is None else n for n in input_shape)
        dtype = DEFAULT_FLOAT if dtype is None else np.dtype(dtype)
        modes = [(module, module.training) for module in self.modules()]
        self.eval()
        try:
            with no_grad():
                self(Tensor(np.zeros(shape, dtype=dtype), dtype=dtype))
        finally:
            for module, mode in modes:
                module.training = mode
        return self

    # ------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The module's own settings, shown inside its repr; subclasses override it."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): {_indent(repr(child), 2)}" for name, child in self._modules.items()
        ]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"


def _check_kind(value: Any, kind: type, role: str, name: str) -> None:
    """Only an instance of ``kind``, or None, may fill a registered slot."""
    if value is not None and not isinstance(value, kind):
        raise TypeError(
            f"Cannot assign {type(value).__name__} as {role} {name!r}: "
            f"{kind.__name__} or None expected"
        )


def _move_in_place(t: Tensor, device: Device | None, dtype: np.dtype | None) -> None:
    """Replace ``t.array`` by a copy on ``device`` / in ``dtype`` (floating data only),
    leaving it as it was when nothing changes."""
    data = t.array
    if device is not None:
        data = to_device(data, device)
    if dtype is not None and _bfloat16.kind(data.dtype) in "fc" and data.dtype != dtype:
        data = data.astype(dtype)
    t.array = data


def _snapshot(t: Tensor) -> np.ndarray:
    data = t.array
    return data.copy() if isinstance(data, np.ndarray) else data.get()


def _indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first (which follows a ``(name): `` label)."""
    return text.replace("\n", "\n" + " " * spaces)
