"""The CPU kernel tier: whether it is on, and how its kernels are compiled.

NumPy is the specification of every op; this optional tier (``pip install
shenjing[fast]``, which brings Numba) runs some of them as compiled loops instead: the
fused recurrent cells, softmax with cross-entropy, the optimizer updates. A kernel sits
beside the op it speeds up (``ops/_numba_recurrent.py`` beside ``ops/recurrent.py``), takes
and returns the same arrays, and the op chooses it by asking ``enabled()`` here; callers
never do. The tier is on when Numba can be imported and the environment variable
``SHENJING_KERNELS`` is not ``"0"``; ``use(False)`` turns it off in-process (tests run
each kernel-backed op both ways).

Loading stays lazy: ``import shenjing`` imports no Numba. A kernel is an ordinary Python
function under ``@kernel``; Numba is imported and the function compiled on its first
call, with:

- ``cache=True``: the machine code goes to disk, so a second process pays no compile
  time. Numba writes it into ``__pycache__`` beside the source, or, where the installed
  package is read-only, into the user's cache (``~/.cache/numba``); where neither can
  be written, into a per-user temporary folder.
- ``error_model="numpy"``: a division by zero gives inf/NaN as in NumPy, and without
  Python's zero checks the loops vectorise (the checks made a fused Adam slower than
  NumPy).
- ``fastmath=SAFE_FASTMATH`` by default: LLVM may contract a·b + c into one FMA, use
  reciprocals and ignore the sign of zero, which lets loops vectorise. Never ``nnan`` or
  ``ninf``: with those, LLVM may assume no NaN or inf exists, and a NaN loss would not
  propagate to the check that stops training.

Example:
    >>> from shenjing import kernels
    >>> @kernels.kernel
    ... def _twice(x, out):
    ...     for i in range(x.size):
    ...         out[i] = 2 * x[i]
    >>> kernels.enabled() in (True, False)
    True
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

__all__ = [
    "SAFE_FASTMATH",
    "Kernel",
    "TypedHelper",
    "available",
    "by_type",
    "calls",
    "compile_seconds",
    "enabled",
    "kernel",
    "load_source",
    "numba",
    "use",
]

SAFE_FASTMATH = frozenset({"contract", "arcp", "nsz"})
"""The fast-math flags that keep NaN and inf semantics (no ``nnan``, ``ninf``) and the
accuracy of library functions (no ``afn``)."""

_available: bool | None = None  # whether Numba can be imported; found on first ask
_env_on: bool | None = None  # SHENJING_KERNELS != "0", read on first ask
_forced: bool | None = None  # set by ``use``
_numba: ModuleType | None = None
_compile_seconds = 0.0  # time spent in first calls (compiling, or loading the cache)


def available() -> bool:
    """Whether Numba is installed (found without importing it)."""
    global _available
    if _available is None:
        try:
            _available = importlib.util.find_spec("numba") is not None
        except (ImportError, ValueError):
            _available = False
    return _available


def enabled() -> bool:
    """Whether the CPU kernel tier is on: Numba installed and importable, and
    ``SHENJING_KERNELS`` not ``"0"``, unless ``use`` says otherwise. Cheap after the
    first call: ops ask it on every call, and only where a kernel would run, so the
    first ask imports Numba when a kernel is about to need it anyway."""
    global _env_on, _available
    if _forced is not None:
        return _forced
    if _env_on is None:
        _env_on = os.environ.get("SHENJING_KERNELS", "1") != "0" and available()
        if _env_on:
            try:
                numba()
            except Exception as error:
                import warnings

                warnings.warn(f"shenjing: the kernel tier is off, Numba failed to import: "
                              f"{error}", RuntimeWarning, stacklevel=2)
                _env_on = _available = False
    return _env_on


@contextlib.contextmanager
def use(on: bool) -> Iterator[None]:
    """Force the tier on or off inside a ``with`` block (tests run an op both ways).

    Raises:
        RuntimeError: ``use(True)`` where Numba is not installed.
    """
    global _forced
    if on and not available():
        raise RuntimeError("kernels.use(True): the kernel tier needs Numba "
                           "(pip install shenjing[fast])")
    before, _forced = _forced, bool(on)
    try:
        yield
    finally:
        _forced = before


def numba() -> ModuleType:
    """The Numba module, imported on first use."""
    global _numba
    if _numba is None:
        import numba as module

        _skip_blas_probe(module)
        _numba = module
    return _numba


def _skip_blas_probe(nb: ModuleType) -> None:
    """Keep Numba's start-up from importing SciPy when nothing needs BLAS yet.

    Numba's first compilation (or cache load) imports ``numba.np.arraymath``, which asks
    whether BLAS is there by importing ``scipy.linalg`` (about half a second, most of a
    warm-cache process's Numba start-up). Where SciPy can be found the answer is yes
    without importing it, so the probe is answered that way while arraymath loads; the
    kernels that really call BLAS import SciPy when they are compiled, as before.
    """
    if importlib.util.find_spec("scipy") is None or "numba.np.arraymath" in sys.modules:
        return  # without SciPy the probe is quick, and says no
    try:
        from numba.np import linalg
    except ImportError:  # another layout of Numba: leave its start-up as it is
        return
    probe = getattr(linalg, "ensure_blas", None)
    if probe is None:
        return
    linalg.ensure_blas = lambda: None
    try:
        import numba.np.arraymath  # noqa: F401 - binds the quick probe
    finally:
        linalg.ensure_blas = probe


def compile_seconds() -> float:
    """Seconds spent so far in kernels' first calls: JIT compilation, or loading the
    machine code from the disk cache (what the bench reports)."""
    return _compile_seconds


def calls() -> int:
    """How many kernel calls this process has made (tests compare before and after an op
    to tell whether it ran a kernel)."""
    return Kernel.total_calls


class Kernel:
    """A Python function compiled by Numba on its first call (see ``kernel``).

    Calling it runs the compiled code. Other kernels may call it as a plain function: it
    is compiled, and put in their module's globals, before them. ``calls`` counts the
    calls, so a test can tell whether an op used a kernel at all.
    """

    total_calls = 0  # over every kernel: see ``calls()``

    def __init__(self, fn: Callable[..., Any], options: dict[str, Any]) -> None:
        self.py_func = fn
        self.options = options
        self.calls = 0
        self._compiled: Any = None
        self._ready = False
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    @property
    def dispatcher(self) -> Any:
        """The Numba dispatcher (made on first access, compiling nothing yet)."""
        if self._compiled is None:
            self._compiled = _jit(self.py_func, self.options)
        return self._compiled

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        Kernel.total_calls += 1
        if self._ready:
            return self._compiled(*args)
        global _compile_seconds
        start = time.perf_counter()
        try:
            result = self.dispatcher(*args)
        finally:
            _compile_seconds += time.perf_counter() - start
        self._ready = True  # later calls skip the timing (a new dtype still compiles)
        return result

    def __repr__(self) -> str:
        return f"<kernel {self.py_func.__module__}.{self.__name__}>"


def kernel(fn: Callable[..., Any] | None = None, *, fastmath: Any = SAFE_FASTMATH,
           **options: Any) -> Any:
    """Mark ``fn`` as a CPU kernel: ``njit(cache=True, error_model="numpy",
    fastmath=SAFE_FASTMATH, nogil=True)`` applied lazily, on its first call.

    Use as ``@kernel`` or ``@kernel(fastmath=False, ...)``; other keyword arguments go to
    ``numba.njit``. Pass ``fastmath=False`` where exact IEEE order matters (a kernel
    compared bit for bit against NumPy).
    """
    merged = {"cache": True, "error_model": "numpy", "fastmath": fastmath, "nogil": True,
              **options}
    if fn is None:
        return lambda f: Kernel(f, merged)
    return Kernel(fn, merged)


class TypedHelper:
    """A scalar helper for kernels whose implementation depends on its arguments' Numba
    types, chosen at compile time (see ``by_type``)."""

    def __init__(self, fn: Callable[..., Any], choose: Callable[..., Any]) -> None:
        self.py_func = fn
        self.choose = choose
        self.registered = False
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__

    def __call__(self, *args: Any) -> Any:
        return self.py_func(*args)

    def register(self) -> None:
        """Tell Numba to compile calls of ``py_func`` as ``choose`` says (once), inlined
        into the caller: a helper left as a call stops a loop of it from vectorising."""
        if not self.registered:
            numba().extending.overload(self.py_func, inline="always")(self.choose)
            # Kernels compiled later find the plain function in their globals: this
            # leads back to the helper (see ``_dependency_files``).
            self.py_func._shenjing_helper = self  # type: ignore[attr-defined]
            self.registered = True


def by_type(choose: Callable[..., Any]) -> Callable[[Callable[..., Any]], TypedHelper]:
    """Make a helper that kernels call, implemented per argument type.

    ``choose`` receives the arguments' Numba types and returns the Python function to
    compile for them (as ``numba.extending.overload`` wants). The decorated function is
    the plain-Python meaning, used outside kernels. A runtime flag would not do: LLVM
    may evaluate both sides of a branch on a flag, and a loop that calls the C
    library's ``tanh`` on every element does not vectorise.
    """
    return lambda fn: TypedHelper(fn, choose)


def _jit(fn: Callable[..., Any], options: dict[str, Any]) -> Any:
    """``numba.njit(**options)(fn)``, after compiling the kernels ``fn`` calls; with a
    per-user temporary cache folder where Numba finds no writable one."""
    nb = numba()
    module_globals = fn.__globals__
    for name in fn.__code__.co_names:
        callee = module_globals.get(name)
        # Numba calls dispatchers, not our wrapper. (co_names also holds attribute
        # names, such as ``math.tanh``'s: a kernel named ``tanh`` is not its own callee.)
        if isinstance(callee, Kernel) and callee.py_func is not fn:
            module_globals[name] = callee.dispatcher
        elif isinstance(callee, TypedHelper):
            callee.register()
            module_globals[name] = callee.py_func
    import tempfile  # here, not at import: ``import shenjing`` stays light

    options = dict(options)
    if isinstance(options.get("fastmath"), frozenset):
        options["fastmath"] = set(options["fastmath"])
    try:
        dispatcher = nb.njit(**options)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        if not options.get("cache") or nb.config.CACHE_DIR:
            raise
        nb.config.CACHE_DIR = os.path.join(tempfile.gettempdir(),
                                           f"shenjing-numba-{_user()}")
        dispatcher = nb.njit(**options)(fn)
    if options.get("cache"):
        _stamp_dependencies(dispatcher, _dependency_files(fn))
    return dispatcher


def _dependency_files(fn: Callable[..., Any]) -> set[str]:
    """The source files, other than ``fn``'s own, of the kernels and typed helpers that
    ``fn`` calls, directly or through them."""
    own = fn.__code__.co_filename
    files: set[str] = set()
    seen: set[int] = set()
    stack = [fn]
    while stack:
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        for name in f.__code__.co_names:
            callee = f.__globals__.get(name)
            helper = getattr(callee, "_shenjing_helper", None)  # a registered TypedHelper
            if isinstance(callee, TypedHelper) or helper is not None:
                helper = callee if helper is None else helper
                stack += [helper.py_func, helper.choose]
            elif isinstance(callee, Kernel) or type(callee).__name__ == "CPUDispatcher":
                stack.append(callee.py_func)  # a kernel (a dispatcher once compiled)
        if f is not fn and hasattr(f, "__code__"):
            files.add(f.__code__.co_filename)
    files.discard(own)
    return files


def _stamp_dependencies(dispatcher: Any, files: set[str]) -> None:
    """Make the disk cache of ``dispatcher`` depend on ``files`` too.

    Numba checks a cached kernel against its own source file only, so a kernel that
    inlines a helper from another file (``tanh`` from ``ops/_numba_math.py``) would load
    stale machine code after that helper changed.
    Here the index's stamp also holds a hash of each dependency: a change to any of them
    makes Numba discard the entry and compile again. Where this Numba has another
    layout, caching is turned off for the kernel rather than risk a stale entry.
    """
    if not files:
        return
    try:
        from numba.core.caching import IndexDataCacheFile

        cache = dispatcher._cache
        impl = cache._impl
        stamp = (impl.locator.get_source_stamp(),
                 tuple((path, *_file_stamp(path)) for path in sorted(files)))
        cache._cache_file = IndexDataCacheFile(cache_path=cache._cache_path,
                                               filename_base=impl.filename_base,
                                               source_stamp=stamp)
    except (ImportError, AttributeError, TypeError, OSError):
        dispatcher._cache = numba().core.caching.NullCache()


def _file_stamp(path: str) -> tuple[str]:
    """A file's content hash (as Numba stamps a kernel's own source)."""
    import hashlib

    with open(path, "rb") as f:
        return (hashlib.sha256(f.read()).hexdigest(),)


def _user() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid is not None else os.environ.get("USERNAME", "user")


def _generated_dir() -> str:
    """A writable folder for generated kernel sources: beside Numba's cache when
    ``NUMBA_CACHE_DIR`` is set, else the user's cache, else a temporary folder."""
    import tempfile
    candidates = []
    if os.environ.get("NUMBA_CACHE_DIR"):
        candidates.append(os.path.join(os.environ["NUMBA_CACHE_DIR"], "shenjing_generated"))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidates.append(os.path.join(base, "shenjing", "generated"))
    candidates.append(os.path.join(tempfile.gettempdir(), f"shenjing-{_user()}", "generated"))
    for path in candidates:
        try:
            os.makedirs(path, exist_ok=True)
            tempfile.TemporaryFile(dir=path).close()
            return path
        except OSError:
            continue
    raise OSError(f"kernels: no writable folder for generated kernels among {candidates}")


_IMPORT = re.compile(r"^(?:from|import) (shenjing[\w.]*)", re.MULTILINE)


@functools.cache
def _module_source(name: str) -> bytes:
    """The source file of an importable module, as bytes (b"" where it has none)."""
    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec is not None else None
    if origin is None or not os.path.isfile(origin):
        return b""
    with open(origin, "rb") as f:
        return f.read()


def load_source(name: str, source: str) -> ModuleType:
    """Import generated kernel source as a module backed by a file on disk.

    Numba caches only functions whose source is a file, so generated code (``sj.compile``'s
    fused chains) is written once to a file named after ``name`` and the source's hash,
    atomically, and imported from there; its ``@kernel`` functions then cache like any
    other. The same source always gives the same file, so a second process finds the
    cached machine code. The name's hash also covers the shenjing modules the source
    imports (the kernels it calls): Numba checks only a cached function's own file, and
    would otherwise keep machine code built from an older version of them.
    """
    import hashlib
    import tempfile

    hashed = hashlib.sha256(source.encode())
    for imported in sorted(set(_IMPORT.findall(source))):
        hashed.update(_module_source(imported))
    digest = hashed.hexdigest()[:20]
    module_name = f"shenjing_generated_{name}_{digest}"
    module = sys.modules.get(module_name)
    if module is not None:
        return module
    path = os.path.join(_generated_dir(), module_name + ".py")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(source)
        os.replace(tmp, path)  # atomic: a concurrent process sees all of it or none
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
