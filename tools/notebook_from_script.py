"""Write a lesson notebook from a percent-format script (``# %%`` code, ``# %% [markdown]`` prose).

    .venv/bin/python tools/notebook_from_script.py lesson.py notebooks/03_provisioned_capacity.ipynb

Lessons are committed as notebooks with no outputs, no execution counts, no widget state, the
python3 kernelspec and stable cell ids; authoring in a script keeps the prose easy to edit.
Cell tags go on the ``# %%`` line: ``# %% tags=["raises-exception"]``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

_HEADER = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def cells_from_script(text: str) -> list:
    cells, kind, tags, lines = [], None, [], []

    def flush() -> None:
        body = "\n".join(lines).strip("\n")
        if kind is None or not body:
            return
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.splitlines())
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            flush()
            kind = "markdown" if match.group("markdown") else "code"
            tags = json.loads(match.group("tags")) if match.group("tags") else []
            lines = []
        else:
            lines.append(line)
    flush()
    return cells


def write_notebook(script: Path, target: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = cells_from_script(script.read_text())
    for number, cell in enumerate(notebook.cells):
        cell.id = f"{target.stem[:2]}-{number:03d}"
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(notebook)
    target.write_text(nbformat.writes(notebook) + "\n")


if __name__ == "__main__":
    write_notebook(Path(sys.argv[1]), Path(sys.argv[2]))
