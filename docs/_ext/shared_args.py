"""A griffe extension for the API reference: templated docstrings as Python renders them.

Some classes write `Args` entries they share once and put a placeholder line
(``{{learning_rate}}``) in their docstring, which a class decorator replaces at
import time (kerastools/optimizers/_docs.py). griffe reads the source, where the
placeholder is still there; for such a class this takes the docstring from the
imported class instead, so the site shows the full `Args` section.
"""

import inspect
import re

import griffe

_PLACEHOLDER = re.compile(r"^[ \t]*\{\{\w+\}\}[ \t]*$", re.MULTILINE)


class SharedArgs(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if not isinstance(obj, griffe.Class) or obj.docstring is None:
            return
        if not _PLACEHOLDER.search(obj.docstring.value):
            return
        rendered = inspect.cleandoc(griffe.dynamic_import(obj.path).__doc__)
        if _PLACEHOLDER.search(rendered):
            raise ValueError(f"{obj.path}: the imported docstring still has a placeholder")
        obj.docstring.value = rendered
