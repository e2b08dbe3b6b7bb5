"""Every lesson dashboard stays legible at the settings its notebook uses and at both ends of its
main control: no axis label cut off by the figure's edge or covered by tick labels or another
panel, no legend running out of its panel, and no control description cut by the browser.

A live figure settles its layout once, on the first update; later updates may show wider tick
labels (e.g. "17.5 k" after "5 k"), which is how these bugs arose (see ``style.pin_ylabel``).
Geometry is checked with matplotlib's own bounding boxes after a full draw.
"""

from __future__ import annotations

import ipywidgets as widgets
import pytest
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties
from matplotlib.transforms import Bbox

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import _bounds

#: Room (px) an axis label keeps from tick labels and other panels.
GAP_PX = 2.0


#: Each lesson dashboard's control whose extremes move its labels most.
MAIN_CONTROLS = {
    "tour": "rate", "records": "shards", "key space": "shards", "throughput": "shards", "hot shards": "shards",
    "consumers": "polling", "resharding": "split_percent", "capacity modes": "factor", "cost": "record_bytes",
    "retention": "retention_days", "producers": "rate", "KCL crash": "checkpoint_every",
    "firehose": "interval_seconds", "capstone": "shards",
    # Not lesson 13's (RetryModesDashboard): its axes are fixed when it is built, from all three
    # modes' runs, so its control moves no label; and its three boto3 runs cost 15-30 s.
}


def lesson_dashboards():
    """(name, build as the notebook does, main control)."""
    from kinesislab.dashboards.catalog import lesson_dashboard

    return {name: (lesson_dashboard(name).build, control) for name, control in MAIN_CONTROLS.items()}


def _extent(text, renderer) -> Bbox | None:
    if not text.get_visible() or not text.get_text():
        return None
    return text.get_window_extent(renderer)


def _tick_label_boxes(axis, renderer) -> list[Bbox]:
    """Boxes of the tick labels drawn (``_update_ticks`` leaves out ticks outside the view)."""
    boxes = [_extent(tick.label1, renderer) for tick in axis._update_ticks()]
    return [box for box in boxes if box is not None and box.width > 0]


def _inside(box: Bbox, page: Bbox) -> bool:
    return page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1


def layout_problems(figure) -> list[str]:
    """What is cut off or covered in ``figure`` (drawn in full first); empty if all is legible."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    page = figure.bbox.padded(1.0)
    axes = [ax for ax in figure.axes if ax.get_visible() and ax.axison]
    problems = []
    for ax in axes:
        name = ax.get_title(loc="left") or ax.get_title() or "an untitled panel"
        y_ticks, x_ticks = _tick_label_boxes(ax.yaxis, renderer), _tick_label_boxes(ax.xaxis, renderer)
        for what, text in (("y label", ax.yaxis.label), ("x label", ax.xaxis.label), ("title", ax._left_title),
                           ("centre title", ax.title)):
            box = _extent(text, renderer)
            if box is not None and not _inside(box, page):
                problems.append(f"{name}: the {what} is cut off by the figure's edge")
        if not all(_inside(box, page) for box in y_ticks + x_ticks):
            problems.append(f"{name}: a tick label is cut off by the figure's edge")
        ylabel = _extent(ax.yaxis.label, renderer)
        if ylabel is not None:
            ylabel = ylabel.padded(GAP_PX)
            if any(ylabel.overlaps(b) for b in y_ticks):
                problems.append(f"{name}: the y label is covered by its tick labels")
            for other in axes:
                if other is not ax and (ylabel.overlaps(other.bbox) or any(
                        ylabel.overlaps(b) for b in _tick_label_boxes(other.yaxis, renderer)
                        + _tick_label_boxes(other.xaxis, renderer))):
                    problems.append(f"{name}: the y label runs into the panel {other.get_title(loc='left')!r}")
        xlabel = _extent(ax.xaxis.label, renderer)
        if xlabel is not None and any(xlabel.overlaps(b) for b in x_ticks):
            problems.append(f"{name}: the x label is covered by its tick labels")
        if any(a.overlaps(b) for a, b in zip(x_ticks, x_ticks[1:])):
            problems.append(f"{name}: x tick labels overlap each other")
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            box = legend.get_window_extent(renderer)
            if box.x0 < ax.bbox.x0 - 3 or box.x1 > ax.bbox.x1 + 3:
                problems.append(f"{name}: the legend runs out of its panel sideways")
    return problems


DASHBOARDS = lesson_dashboards()


@pytest.mark.parametrize("name", list(DASHBOARDS))
def test_no_label_is_cut_off_or_covered_at_either_end_of_the_main_control(name):
    build, main = DASHBOARDS[name]
    dashboard = build()
    control = dashboard.controls[main]
    low, high = _bounds(control)
    ends = [low, high] if low is not None else [o[1] if isinstance(o, tuple) else o for o in control.options]
    for value in [None, *ends]:
        if value is not None:
            dashboard.set(**{main: value})
        assert "cannot" not in dashboard.message.value, dashboard.message.value
        # The live path first: it settles the layout with the first update's tick labels.
        dashboard.live_figure.render()
        assert layout_problems(dashboard.live_figure.figure) == [], f"{main}={value}"


@pytest.mark.parametrize("shards", [1, 4, 12, 16, 27, 40])
def test_the_capstone_writes_panel_keeps_its_y_label_clear_at_any_shard_count(shards):
    """The screenshot bug: at 16 shards "17.5 k" covered "records per second". The y label must
    clear the widest tick label the writes panel shows, whatever the shard count."""
    build, _ = DASHBOARDS["capstone"]
    dashboard = build().set(shards=shards)
    dashboard.live_figure.render()
    ax = dashboard.live_figure.axes[0, 0]
    renderer = dashboard.live_figure.figure.canvas.get_renderer()
    labels = [tick.label1.get_text() for tick in ax.yaxis._update_ticks()]
    assert any(" k" in label for label in labels), labels     # SI labels, the widest kind
    assert layout_problems(dashboard.live_figure.figure) == []
    assert _extent(ax.yaxis.label, renderer).x0 >= 0


# ------------------------------------------------------------------ control descriptions

#: JupyterLab's widget font size (--jp-ui-font-size1), px; DejaVu Sans is wider than the usual
#: browser sans fonts, so a description that fits in it fits in theirs.
BROWSER_FONT_PX = 13
#: Spare room left in the description column for font differences.
SPARE_PX = 12


def _text_width_px(text: str) -> float:
    renderer = RendererAgg(10, 10, 72)   # at 72 dpi, one point is one pixel
    prop = FontProperties(family="DejaVu Sans", size=BROWSER_FONT_PX)
    width, _, _ = renderer.get_text_width_height_descent(text, prop, ismath=False)
    return width


def _width_px(value: str) -> float:
    assert value.endswith("px"), value
    return float(value[:-2])


@pytest.mark.parametrize("name", list(DASHBOARDS))
def test_every_control_description_fits_its_column(name):
    build, _ = DASHBOARDS[name]
    dashboard = build()
    for key, control in dashboard.controls.items():
        description = control.description
        if not description:
            continue
        column = _width_px(control.style.description_width)
        assert _text_width_px(description) <= column - SPARE_PX, \
            f"{key}: {description!r} is cut at {column:g} px"
        if isinstance(control, widgets.Dropdown):
            # What is left of the control for the list's text (label margin 8 px, arrow ~20 px).
            room = _width_px(control.layout.width) - column - 8 - 20
            for label in control.options:
                label = label[0] if isinstance(label, tuple) else label
                assert _text_width_px(label) <= room, f"{key}: option {label!r} is cut"


def test_the_description_column_is_the_same_for_every_kind_of_control():
    made = [c.int_slider("a", 1, 0, 2), c.float_slider("a", 1.0, 0.0, 2.0, 0.5), c.log_slider("a", 10, 1, 100),
            c.choice("a", ["x"], "x"), c.toggle("a", ["x"], "x"), c.text_box("a", "")]
    assert {control.style.description_width for control in made} == {f"{c.DESCRIPTION_WIDTH_PX}px"}
