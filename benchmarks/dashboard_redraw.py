"""How long a lesson dashboard takes to answer a slider move (issue "The course": "a slider move
re-runs a lesson-sized scenario and redraws in well under 100 ms"). Printed, never asserted.

Run from the repository root:

    .venv/bin/python benchmarks/dashboard_redraw.py              # every lesson dashboard
    .venv/bin/python benchmarks/dashboard_redraw.py --only tour  # the ones whose name contains "tour"

Every dashboard is built headless, with the settings its lesson uses (ipywidgets needs no
frontend), then its main control is moved through a few values and back, twice, as a learner
would, with ``Dashboard.set`` (the same path as a slider: ``refresh`` -> compute -> draw ->
render). This is done ``--repeats`` times (3), each time on a freshly built dashboard, and the
updates pooled. Each update is split as ``Dashboard.refresh`` records it:

* compute -- the simulation (``Dashboard.compute``), split into "new" (a setting simulated now)
  and "kept" (a setting seen before, its result kept by ``Dashboard.compute_key``; no simulation);
* draw+encode -- updating the artists (``Dashboard.draw``), painting the figure and encoding the
  PNG pushed to the page (``LiveFigure.render``).

The first pass shows each value for the first time ("new look": axes whose limits or tick labels
changed are rendered again); the second pass shows values already seen ("seen": their static
pixels come from the cache). Beside them, in the same run and on the same figure state:

* "full redraw" -- what the figure cost before the live path existed: a fresh Agg renderer
  draws the whole figure (``Figure.draw``) and Pillow writes the PNG at its default level, as
  ``savefig`` does;
* the named baseline "a bare matplotlib redraw": a 9 x 4 inch Agg figure (at the course's dpi)
  with one 60-point line plot, ``fig.canvas.draw()`` then ``fig.savefig(png)``.

Times are CPU time of this process (``time.process_time``), the median over the pooled updates, in ms:
the machine these figures come from is shared, and wall time swings with its load (printed).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from kinesislab.dashboards.dashboard import Dashboard  # noqa: E402
from kinesislab.dashboards.style import FIGURE_DPI  # noqa: E402

CLOCK = time.process_time


#: Each lesson dashboard's main control and the values a learner moves it through.
MOVES = {
    "00 tour": ("rate", [1000, 2500, 3500, 500]),
    "01 records": ("shards", [3, 4, 6, 8]),
    "02 key space": ("shards", [4, 8, 12, 16]),
    "03 throughput": ("shards", [3, 4, 6, 8]),
    "04 hot shards": ("shards", [6, 8, 12, 16]),
    "05 consumers": ("polling", [3, 5, 7, 10]),
    "06 resharding": ("split_percent", [30, 40, 60, 75]),
    "07 capacity modes": ("pattern", ["spiky", "doubling", "steady"]),
    "08 cost": ("rate", [2000, 5000, 20000, 300]),
    "09 retention": ("retention_days", [7, 30, 90, 365]),
    "10 producers": ("record_bytes", [300, 1000, 3000, 10000]),
    "10 KCL crash": ("checkpoint_every", [10, 30, 40, 60]),
    "11 firehose": ("interval_seconds", [60, 120, 600, 900]),
    "12 capstone": ("shards", [6, 8, 10, 12]),
    "13 retry modes": ("mode", ["standard", "adaptive"]),
}


def lessons():
    """(name, build, main control, values to move it through): each lesson's dashboard as its
    notebook builds it (``kinesislab.dashboards.catalog``)."""
    from kinesislab.dashboards.catalog import lesson_dashboard

    return [(label, lesson_dashboard(label).build, control, values) for label, (control, values) in MOVES.items()]


def bare_matplotlib_redraw(repeats: int = 9) -> float:
    """The named baseline: median ms of ``fig.canvas.draw()`` + ``fig.savefig(png)`` of a 9 x 4
    inch figure with one line plot."""
    figure = Figure(figsize=(9, 4), dpi=FIGURE_DPI)
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    t = np.arange(60.0)
    ax.plot(t, 1000 + 200 * np.sin(t / 5))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("records per second")
    times = []
    for _ in range(repeats):
        started = CLOCK()
        figure.canvas.draw()
        figure.savefig(io.BytesIO(), format="png")
        times.append((CLOCK() - started) * 1000)
    return statistics.median(times)


def full_redraw_ms(figure: Figure) -> float:
    """ms to draw ``figure`` from scratch with a fresh Agg renderer and encode it as ``savefig``
    does (Pillow, default PNG level): the cost of every update before the live path."""
    started = CLOCK()
    width, height = figure.canvas.get_width_height(physical=True)
    renderer = RendererAgg(width, height, figure.dpi)
    renderer.clear()
    figure.draw(renderer)
    Image.frombuffer("RGBA", (width, height), renderer.buffer_rgba(), "raw", "RGBA", 0, 1).save(
        io.BytesIO(), format="png")
    return (CLOCK() - started) * 1000


def measure(name: str, build, control: str, values: list, repeats: int) -> dict | None:
    row = {"name": name, "compute": [], "compute_kept": [], "first": [], "seen": [], "full": [], "parts_rendered": 0,
           "parts": 0}
    for _ in range(repeats):
        if not _measure_once(row, build(), control, values):
            return None
    return row


def _measure_once(row: dict, dashboard, control: str, values: list) -> bool:
    """Move a freshly built dashboard's main control through ``values`` and back to where it
    started, twice; add the timings to ``row``. False if an update failed."""
    name = row["name"]
    start_value = dashboard.controls[control].value
    moves = list(values) + [start_value]
    for visit in ("first", "seen"):
        for value in moves:
            dashboard.set(**{control: value})
            if "cannot" in dashboard.message.value or "refused" in dashboard.message.value:
                print(f"  {name}: {control}={value!r} failed: {dashboard.message.value}", flush=True)
                return False
            row["compute_kept" if dashboard.last_compute_reused else "compute"].append(dashboard.last_compute_ms)
            row[visit].append(dashboard.last_draw_ms)
            report = dashboard.live_figure.painter.report
            if visit == "first":
                row["parts_rendered"] += report.parts_rendered
                row["parts"] += report.parts_rendered + report.parts_reused
            if visit == "seen":
                row["full"].append(full_redraw_ms(dashboard.live_figure.figure))
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="measure only dashboards whose name contains this")
    parser.add_argument("--repeats", type=int, default=3,
                        help="build each dashboard this many times and pool the updates (default 3)")
    args = parser.parse_args()
    Dashboard.clock = staticmethod(CLOCK)
    print(f"Python {platform.python_version()}, matplotlib {matplotlib.__version__}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; CPU time (time.process_time), median ms")
    bare = bare_matplotlib_redraw()
    print(f"baseline, a bare matplotlib redraw (9x4 in, one line, canvas.draw + savefig png): {bare:.1f} ms\n")
    header = (f"{'dashboard':18s} {'compute':>8s} {'compute':>8s} {'draw+encode':>12s} {'draw+encode':>12s} "
              f"{'update':>8s} {'full':>8s} {'parts':>7s} {'new look':>9s}")
    print(header)
    print(f"{'':18s} {'new':>8s} {'kept':>8s} {'new look':>12s} {'seen':>12s} {'new look':>8s} {'redraw':>8s} "
          f"{'redrawn':>7s} {'/ bare':>9s}")
    rows = []
    for name, build, control, values in lessons():
        if args.only and args.only not in name:
            continue
        row = measure(name, build, control, values, args.repeats)
        if row is None:
            continue
        rows.append(row)
        compute, first, seen = (statistics.median(row[k]) for k in ("compute", "first", "seen"))
        kept = f"{statistics.median(row['compute_kept']):8.1f}" if row["compute_kept"] else f"{'-':>8s}"
        full = statistics.median(row["full"])
        print(f"{name:18s} {compute:8.1f} {kept} {first:12.1f} {seen:12.1f} {compute + first:8.1f} {full:8.1f} "
              f"{row['parts_rendered']:>3d}/{row['parts']:<3d} {first / bare:8.2f}x", flush=True)
    if rows:
        firsts = [statistics.median(r["first"]) for r in rows]
        seens = [statistics.median(r["seen"]) for r in rows]
        fulls = [statistics.median(r["full"]) for r in rows]
        print(f"\nmedian over dashboards: draw+encode {statistics.median(firsts):.1f} ms (new look), "
              f"{statistics.median(seens):.1f} ms (seen), full redraw {statistics.median(fulls):.1f} ms; "
              f"bare matplotlib redraw {bare:.1f} ms")
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
