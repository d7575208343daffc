"""Containers: ``Sequential`` (a chain of layers) and ``ModuleList`` (a list of them)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from shenjing.nn.keras import Layers
from shenjing.nn.module import Module

__all__ = ["ModuleList", "Sequential"]


def _check_module(owner: str, value: Any) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{owner} holds Modules only. Received: {type(value).__name__}")
    return value


def _position(owner: str, index: int, length: int) -> int:
    """``index`` (negative counting from the end) as a position in [0, length)."""
    if not -length <= index < length:
        raise IndexError(f"{owner} index {index} is out of range for {length} modules")
    return index % length


class _NumberedModules(Module):
    """Children named "0", "1", ...: indexing, ``len``, iteration and ``append``."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def _renumber(self, modules: list[Module]) -> None:
        """Replace every child by ``modules``, named "0", "1", ... again."""
        for name in list(self._modules):
            delattr(self, name)
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __setitem__(self, index: int, module: Module) -> None:
        owner = type(self).__name__
        names = list(self._modules)
        setattr(self, names[_position(owner, index, len(names))], _check_module(owner, module))

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self)
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_position(type(self).__name__, index, len(modules))]
        self._renumber(modules)

    def append(self, module: Module) -> _NumberedModules:
        """Add ``module`` at the end, named by its position; returns self."""
        self.add_module(str(len(self._modules)), _check_module(type(self).__name__, module))
        return self

    def extend(self, modules: Iterable[Module]) -> _NumberedModules:
        """Append each of ``modules``; returns self."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put ``module`` before position ``index``; later modules are renumbered."""
        modules = list(self)
        modules.insert(index, _check_module(type(self).__name__, module))
        self._renumber(modules)


class Sequential(_NumberedModules):
    """Layers applied one after another: ``forward(x)`` is ``layer_n(...layer_1(x))``.

    Children are named "0", "1", ... as in PyTorch (so the state dict keys are
    ``0.weight``, ``2.bias``, ...), or take the names of an ``OrderedDict`` passed as the
    only argument. Index with an int (a layer) or a slice (a new Sequential sharing the
    layers); ``add`` (Keras) and ``append`` (PyTorch) add a layer at the end.

    Example:
        >>> import shenjing as sj
        >>> import shenjing.nn as nn
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        >>> model.add(nn.Linear(8, 2))  # doctest: +ELLIPSIS
        Sequential(...)
        >>> model(sj.ones(5, 4)).shape, len(model), list(model.state_dict())[-1]
        ((5, 2), 3, '2.bias')
    """

    layers = Layers()  # Keras's model.layers: the list of the children

    def __init__(self, *layers: Module | dict[str, Module]) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], dict):
            for name, layer in layers[0].items():
                self.add_module(name, _check_module("Sequential", layer))
        else:
            self.extend(layers)

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(dict(items[index]))
        return items[_position("Sequential", index, len(items))][1]

    def add(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end (Keras's name for ``append``); returns self."""
        return self.append(layer)

    def forward(self, x: Any) -> Any:
        for layer in self._modules.values():
            x = layer(x)
        return x


class ModuleList(_NumberedModules):
    """A list of modules whose parameters are registered (a plain Python list's would
    not be). It has no ``forward``: the owner decides how to use the modules.

    Example:
        >>> import shenjing.nn as nn
        >>> blocks = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        >>> len(blocks), list(blocks.state_dict())[:2]
        (3, ['0.weight', '0.bias'])
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index: int | slice) -> Any:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[_position("ModuleList", index, len(modules))]
