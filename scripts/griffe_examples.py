"""A griffe extension for the docs build: read ``Example:`` sections as doctest examples.

shenjing's docstrings head their runnable examples ``Example:``, which Google style (and
Sphinx's napoleon) accepts. griffe's Google parser only treats the plural ``Examples:`` as
a section of examples; the singular becomes an admonition whose ``>>>`` lines render as
nested quotes. Renaming the heading while the docs are built keeps the source as it is.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:\s*$", re.M)


class ExampleSections(griffe.Extension):
    """Rewrite a docstring's ``Example:`` heading to ``Examples:`` as objects load."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _SINGULAR.sub(r"\1Examples:", obj.docstring.value)
