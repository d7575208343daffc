"""Keyed and listed containers: ``ModuleDict``, ``ParameterDict`` and ``ParameterList``.

Each registers what it holds, so the parameters appear in ``parameters()`` and under
PyTorch's state-dict keys (``heads.cls.weight``, ``scales.0``, ``gains.alpha``). None
has a ``forward``: the owner decides how to use them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from shenjing.nn.module import Module
from shenjing.nn.parameter import Parameter
from shenjing.tensor import Tensor

__all__ = ["ModuleDict", "ParameterDict", "ParameterList"]


def _pairs(owner: str, items: Mapping[str, Any] | Iterable[Any]) -> list[tuple[str, Any]]:
    """A mapping's items, or an iterable of (key, value) pairs, as a list."""
    if isinstance(items, Mapping):
        return list(items.items())
    pairs = []
    for i, pair in enumerate(items):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"{owner}.update: element {i} should be a (key, value) pair. "
                            f"Received: {pair!r}")
        pairs.append(tuple(pair))
    return pairs


def _as_parameter(owner: str, value: Any) -> Parameter | None:
    """A Parameter as it is; a plain Tensor becomes one (sharing its data), as PyTorch's
    containers do; None is a placeholder."""
    if value is None or isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value, requires_grad=value.requires_grad or value.is_leaf)
    raise TypeError(f"{owner} holds tensors (Parameters). Received: {type(value).__name__}")


def _replace(owner: Module, name: str, value: Parameter | None) -> None:
    """Put ``value`` in place of the parameter ``name``, keeping its position (plain
    attribute assignment would move it to the end of the state dict)."""
    owner._parameters[name] = value
    object.__setattr__(owner, name, value)


class ModuleDict(Module):
    """Modules under string keys, in insertion order, registered as children.

    Example:
        >>> import shenjing.nn as nn
        >>> heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "box": nn.Linear(4, 2)})
        >>> list(heads), list(heads.state_dict())[:2]
        (['cls', 'box'], ['cls.weight', 'cls.bias'])
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[Any] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]
        object.__delattr__(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        """The keys, in insertion order."""
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        """(key, module) pairs, in insertion order."""
        return self._modules.items()

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        """Remove every module."""
        for key in list(self._modules):
            del self[key]

    def update(self, modules: Mapping[str, Module] | Iterable[Any]) -> None:
        """Add (or replace) the modules of a mapping or of (key, module) pairs."""
        for key, module in _pairs("ModuleDict", modules):
            if not isinstance(module, Module):
                raise TypeError(f"ModuleDict holds Modules only. Received: "
                                f"{type(module).__name__} for key {key!r}")
            self[key] = module


class ParameterList(Module):
    """Parameters in a list, registered under the names "0", "1", ...; tensors given to
    it become Parameters.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> scales = nn.ParameterList([nn.Parameter(sj.ones(3)) for _ in range(2)])
        >>> len(scales), list(scales.state_dict())
        (2, ['0', '1'])
    """

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def _position(self, index: int) -> int:
        n = len(self._parameters)
        if not -n <= index < n:
            raise IndexError(f"ParameterList index {index} is out of range for {n} parameters")
        return index % n

    def __getitem__(self, index: int | slice) -> Any:
        values = list(self._parameters.values())
        if isinstance(index, slice):
            return ParameterList(values[index])
        return values[self._position(index)]

    def __setitem__(self, index: int, value: Any) -> None:
        _replace(self, str(self._position(index)), _as_parameter("ParameterList", value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())

    def append(self, value: Any) -> ParameterList:
        """Add ``value`` (made a Parameter) at the end; returns self."""
        self.register_parameter(str(len(self)), _as_parameter("ParameterList", value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Append each of ``values``; returns self."""
        if isinstance(values, Tensor):
            raise TypeError("ParameterList.extend takes an iterable of tensors, not a tensor")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"({i}): Parameter containing: [{p.dtype} of size {p.shape}]"
                         for i, p in enumerate(self))


class ParameterDict(Module):
    """Parameters under string keys, in insertion order; tensors given to it become
    Parameters.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> gains = nn.ParameterDict({"alpha": nn.Parameter(sj.ones(2))})
        >>> gains["beta"] = sj.zeros(2)
        >>> list(gains.state_dict())
        ['alpha', 'beta']
    """

    def __init__(self, parameters: Mapping[str, Any] | Iterable[Any] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]

    def __setitem__(self, key: str, value: Any) -> None:
        value = _as_parameter("ParameterDict", value)
        if key in self._parameters:
            _replace(self, key, value)
        else:
            self.register_parameter(key, value)

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]
        object.__delattr__(self, key)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def keys(self) -> Iterable[str]:
        """The keys, in insertion order."""
        return self._parameters.keys()

    def values(self) -> Iterable[Parameter]:
        """The parameters, in insertion order."""
        return self._parameters.values()

    def items(self) -> Iterable[tuple[str, Parameter]]:
        """(key, parameter) pairs, in insertion order."""
        return self._parameters.items()

    def get(self, key: str, default: Any = None) -> Any:
        """The parameter under ``key``, or ``default``."""
        return self._parameters.get(key, default)

    def pop(self, key: str) -> Parameter:
        """Remove ``key`` and return its parameter."""
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        """Remove every parameter."""
        for key in list(self._parameters):
            del self[key]

    def update(self, parameters: Mapping[str, Any] | Iterable[Any]) -> None:
        """Add (or replace) the parameters of a mapping or of (key, tensor) pairs."""
        for key, value in _pairs("ParameterDict", parameters):
            self[key] = value

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): Parameter containing: [{p.dtype} of size {p.shape}]"
                         for k, p in self.items())
