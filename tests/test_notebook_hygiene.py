"""The lessons as files: stripped, same kernel, the lesson template, links that resolve."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
TEMPLATE = ["## Aim", "## Concept", "## Explore", "## Predict, then run", "## Exercise", "## Quiz", "## Recap"]
EXPECTED = [f"{n:02d}" for n in range(14)]
#: Lessons whose recap links back to the start page rather than to the next lesson: the capstone
#: (12) closes the course, and 13 (from the lab to AWS) is the epilogue after it.
BACK_TO_START = ("12", "13")


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _markdown(notebook: dict) -> list[str]:
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown"]


def test_the_course_has_its_lessons():
    assert [p.name[:2] for p in LESSONS] == EXPECTED, "lessons 00 to 13, one notebook each"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_stripped_and_same_kernel(path: Path):
    notebook = _load(path)
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: a code cell has outputs"
            assert cell["execution_count"] is None, f"{path.name}: a code cell has an execution count"
    assert "widgets" not in notebook["metadata"], f"{path.name}: saved widget state"
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_template(path: Path):
    text = "\n".join(_markdown(_load(path)))
    assert re.match(rf"# {path.name[:2]} · ", text), f"{path.name}: must open with '# NN · Title'"
    headings = [line.strip() for line in text.splitlines() if line.startswith("## ")]
    positions = []
    for heading in TEMPLATE:
        assert heading in headings, f"{path.name}: missing heading {heading!r}"
        positions.append(headings.index(heading))
    assert positions == sorted(positions), f"{path.name}: template headings out of order"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_links_between_lessons_resolve(path: Path):
    text = "\n".join(_markdown(_load(path)))
    links = re.findall(r"\]\(([^)#\s]+\.ipynb)(?:#[^)]*)?\)", text)
    for link in links:
        assert (path.parent / link).exists(), f"{path.name}: link to {link} does not resolve"
    recap = text[text.index("## Recap"):]
    following = "00" if path.name[:2] in BACK_TO_START else f"{int(path.name[:2]) + 1:02d}"
    assert re.search(rf"\]\({following}_[a-z_]+\.ipynb\)", recap), f"{path.name}: the recap must link to lesson {following}"


def test_start_page_maps_the_course():
    start = LESSONS[0]
    text = "\n".join(_markdown(_load(start)))
    for lesson in LESSONS[1:]:
        assert f"({lesson.name})" in text, f"00 does not link to {lesson.name}"


#: Notebook arguments the catalog leaves out, and why: the capstone's brief is the default one
#: (checked by the lesson), lesson 13 hands over the boto3 runs it made, which the dashboard
#: otherwise makes itself.
COMPUTED_ARGUMENTS = {("12", "CapstoneDashboard"): {"brief"}, ("13", "RetryModesDashboard"): {"runs"}}


def _dashboard_calls(path: Path) -> list[tuple[str, dict, set]]:
    """Each dashboard the notebook builds: (class name, its literal keyword arguments, the names of
    its arguments computed in the notebook: other keywords, and variables passed by position)."""
    calls = []
    for cell in _load(path)["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id.endswith("Dashboard")):
                literal = {k.arg: ast.literal_eval(k.value) for k in node.keywords if isinstance(k.value, ast.Constant)}
                computed = {k.arg for k in node.keywords if not isinstance(k.value, ast.Constant)}
                computed |= {arg.id for arg in node.args if isinstance(arg, ast.Name)}
                calls.append((node.func.id, literal, computed))
    return calls


def test_the_dashboard_catalog_opens_each_dashboard_as_its_lesson_does():
    """Tests and benchmarks build the dashboards from kinesislab.dashboards.catalog: it must hold
    the settings the notebooks use, each lesson building each of its dashboards once."""
    from kinesislab.dashboards.catalog import LESSON_DASHBOARDS

    built = {}
    for path in LESSONS:
        for name, literal, computed in _dashboard_calls(path):
            key = (path.name[:2], name)
            assert key not in built, f"{path.name} builds {name} twice: which one does the catalog mean?"
            assert computed == COMPUTED_ARGUMENTS.get(key, set()), f"{path.name}: {name} gets {computed} computed"
            built[key] = literal
    listed = {(entry.lesson, entry.dashboard.__name__): entry.settings for entry in LESSON_DASHBOARDS}
    assert listed == built
