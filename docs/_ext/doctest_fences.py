"""A griffe extension for the API reference: doctest examples become code blocks.

The package's docstrings write examples as plain doctest (``>>>`` lines and
their output, ended by a blank line), which Markdown would read as nested
quotes. This wraps every such run of lines in a ```` ```pycon ```` fence
before mkdocstrings renders the docstring. The docstrings themselves stay
plain doctest, which is what pytest runs.
"""

import griffe


def fence_doctests(text):
    lines = text.split("\n")
    out, i = [], 0
    in_fence = False
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if not in_fence and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].strip())
                i += 1
            out += [indent + "```pycon", *(indent + b for b in block), indent + "```"]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
