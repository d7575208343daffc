"""Whole-model files, Keras's way: ``model.save(path)`` and ``sj.load_model(path)``.

The file is one safetensors file: the weights (the state dict) and, in its metadata, the
architecture as JSON: for each module, its class name and the arguments it was built with
(``Module`` remembers them, see ``Module.__init_subclass__``), children of ``Sequential``
and ``ModuleList`` as lists. Loading looks each class up *by name* among shenjing's own
layers and the classes registered with ``register_module``; nothing in the file is ever
executed (no pickle), and an unknown name is an error that says what to do.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from shenjing import io
from shenjing.nn import keras
from shenjing.nn.module import Module

__all__ = ["load_model", "register_module", "save_model"]

FORMAT = "shenjing.model/1"
_registered: dict[str, type[Module]] = {}


def register_module(cls: type[Module]) -> type[Module]:
    """Let ``load_model`` rebuild ``cls`` (a ``Module`` subclass of your own) by its name;
    usable as a class decorator. Its constructor arguments must be JSON-like values or
    modules."""
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"register_module expects a Module subclass. Received: {cls!r}")
    _registered[cls.__name__] = cls
    return cls


def _shenjing_classes() -> dict[str, type[Module]]:
    """Every Module subclass defined in shenjing itself, by name."""
    found: dict[str, type[Module]] = {}
    stack = [Module]
    while stack:
        cls = stack.pop()
        if cls.__module__.startswith("shenjing."):
            found.setdefault(cls.__name__, cls)
        stack.extend(cls.__subclasses__())
    return found


def _known(cls: type[Module]) -> bool:
    return cls.__module__.startswith("shenjing.") or _registered.get(cls.__name__) is cls


def _encode(value: Any, where: str) -> Any:
    """A constructor argument as JSON (modules nested as their own configs)."""
    if isinstance(value, Module):
        return {"__module__": _config(value, where)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_encode(v, where) for v in value]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, where) for k, v in value.items()}}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {"__dtype__": np.dtype(value).name}
    raise TypeError(f"model.save: {where} was built with an argument that cannot be saved "
                    f"as JSON: {value!r:.80}. Save its state_dict() instead")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__module__" in value:
            return _build(value["__module__"])
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode(v) for k, v in value["__dict__"].items()}
        if "__dtype__" in value:
            return np.dtype(value["__dtype__"])
    return value


def _config(module: Module, where: str = "the model") -> dict[str, Any]:
    cls = type(module)
    name = cls.__name__
    if not _known(cls):
        raise TypeError(
            f"model.save: {where} is a {name}, which is not one of shenjing's layers. "
            f"Register it with shenjing.nn.register_module({name}) so that load_model can "
            "rebuild it by name, or save its state_dict() instead"
        )
    from shenjing.nn.layers.container import ModuleList, Sequential

    if isinstance(module, (Sequential, ModuleList)) and cls in (Sequential, ModuleList):
        # Children may have been added after construction (add, append): list them.
        return {"class": name, "children": [
            [child_name, _config(child, f"{where}.{child_name}")]
            for child_name, child in module._modules.items()]}
    args, kwargs = module.__dict__.get("_init_args", ((), {}))
    return {"class": name, "args": _encode(list(args), where),
            "kwargs": _encode(dict(kwargs), where)["__dict__"]}


def _build(config: dict[str, Any]) -> Module:
    name = config["class"]
    cls = _registered.get(name) or _shenjing_classes().get(name)
    if cls is None:
        raise TypeError(
            f"load_model: the file names a module class {name!r} that is neither one of "
            f"shenjing's layers nor registered. Import the code that defines it and call "
            f"shenjing.nn.register_module({name}) before loading"
        )
    if "children" in config:
        module = cls()
        for child_name, child in config["children"]:
            module.add_module(child_name, _build(child))
        return module
    args = _decode(config["args"])
    kwargs = {k: _decode(v) for k, v in config["kwargs"].items()}
    return cls(*args, **kwargs)


def save_model(model: Module, path: str | os.PathLike[str]) -> None:
    """Write ``model``'s architecture and weights to one safetensors file (atomically)."""
    architecture = json.dumps({"format": FORMAT, "model": _config(model)})
    io.save({"architecture": architecture, "state": model.state_dict()}, path)


def load_model(path: str | os.PathLike[str]) -> Module:
    """The model ``model.save(path)`` wrote: rebuilt from its architecture, weights
    loaded (lazy layers such as ``Dense`` are built from the saved weights' shapes)."""
    saved = io.load(path)
    try:
        architecture = json.loads(saved["architecture"])
        state = saved["state"]
    except (KeyError, TypeError, json.JSONDecodeError):
        raise ValueError(f"load_model: {os.fspath(path)!r} is not a model file written by "
                         "model.save (it holds no architecture); for a state dict, build "
                         "the model and use load_state_dict(sj.load(path))") from None
    if architecture.get("format") != FORMAT:
        raise ValueError(f"load_model: unknown model file format "
                         f"{architecture.get('format')!r} (expected {FORMAT!r})")
    model = _build(architecture["model"])
    for prefix, module in model.named_modules():
        if getattr(module, "built", True) is False and hasattr(module, "build"):
            weight = state.get(f"{prefix}.weight" if prefix else "weight")
            if weight is not None:
                module.build((None, np.shape(weight)[-1]))
    model.load_state_dict(state)
    return model


keras._model_saver = save_model  # what Module.save calls
