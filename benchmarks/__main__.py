"""Run every benchmark and print Markdown tables: ``python -m benchmarks [name ...]``."""

from __future__ import annotations

import importlib
import pkgutil
import sys

from benchmarks.common import pin_one_thread

pin_one_thread()


def main(names: list[str]) -> None:
    """Run the ``bench_<name>`` modules named (all of them when none is)."""
    import benchmarks

    found = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    chosen = [f"bench_{n}" if not n.startswith("bench_") else n for n in names] or found
    for name in chosen:
        if name not in found:
            sys.exit(f"unknown benchmark {name!r}; known: {', '.join(found)}")
        module = importlib.import_module(f"benchmarks.{name}")
        if hasattr(module, "run"):
            title, rows = module.run()
            from benchmarks.common import print_table

            print_table(title, rows)


if __name__ == "__main__":
    main(sys.argv[1:])
