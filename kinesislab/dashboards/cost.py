"""Lesson 08's dashboard: what a workload costs per hour in each capacity mode, and where the lines cross.

The totals come from :func:`kinesislab.pricing.hourly_cost_curve`; :func:`hourly_items` splits the
same totals into bill lines (shard-hours, PUT payload units, stream-hours, data in, ...) so the
bars can show where the money goes. ``tests/test_cost_items.py`` checks the lines add up to the
curve's totals.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from kinesislab.dashboards import controls as c
from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards.style import COLOURS, FONT_SIZE, nice_ceiling, pin_ylabel, si, tidy
from kinesislab.limits import Limits
from kinesislab.pricing import (ON_DEMAND, PROVISIONED, SECONDS_PER_HOUR, Prices, hourly_cost_curve,
                                on_demand_billed_bytes, put_payload_units, shards_needed)

#: How the provisioned stream is sized, as the dashboard offers it.
SIZINGS = ["for the average", "for a peak", "fixed shard count"]
#: Retention choices (label -> hours): the included day, the end of the extended tier, a month, a year.
RETENTIONS = {"24 hours (included)": 24, "7 days": 168, "30 days": 720, "365 days": 8760}
#: Bill lines grouped into what they pay for; each group has one colour in both bars.
CATEGORIES = ["capacity", "data in", "reads", "enhanced fan-out", "retention"]
CATEGORY_COLOURS = {
    "capacity": "#0072B2",          # blue
    "data in": "#E69F00",           # orange
    "reads": "#56B4E9",             # sky blue (reads, as in every lesson)
    "enhanced fan-out": "#009E73",  # bluish green (EFO, as in every lesson)
    "retention": "#CC79A7",         # reddish purple
}
HOURS_PER_MONTH = Prices().hours_per_month
RATE_RANGE = (1.0, 100_000.0)


def sizing_arguments(sizing: str, peak_to_average: float = 1.0, fixed_shards: int = 4) -> dict:
    """The keyword arguments of :func:`hourly_cost_curve` for a sizing choice."""
    if sizing == "for the average":
        return {}
    if sizing == "for a peak":
        return {"peak_to_average": float(peak_to_average)}
    if sizing == "fixed shard count":
        return {"provisioned_shards": int(fixed_shards)}
    raise ValueError(f"unknown sizing {sizing!r}; choose one of {SIZINGS}")


def hourly_items(records_per_second: float, record_size_bytes: int, prices: Prices | None = None,
                 limits: Limits | None = None, *, get_records_consumers: int = 1, efo_consumers: int = 0,
                 retention_hours: float = 24.0, peak_to_average: float = 1.0,
                 provisioned_shards: int | None = None) -> pd.DataFrame:
    """The bill lines of one hour of a steady workload, in both modes (USD per hour).

    Same model and arguments as :func:`kinesislab.pricing.hourly_cost_curve` (one rate): each row
    has ``mode``, ``item``, ``category`` (one of :data:`CATEGORIES`), ``quantity``, ``unit``,
    ``unit_price_usd`` and ``usd_per_hour``; the rows of a mode add up to that mode's hourly total.
    """
    prices = prices or Prices()
    limits = limits or Limits()
    rate = float(records_per_second)
    gb = prices.bytes_per_gb
    hourly_records = rate * SECONDS_PER_HOUR
    hourly_gb = rate * record_size_bytes * SECONDS_PER_HOUR / gb
    if provisioned_shards is None:
        shards = int(shards_needed(rate * peak_to_average, record_size_bytes, limits, get_records_consumers))
    else:
        shards = int(provisioned_shards)
    included = prices.retention_included_hours
    extended_hours = max(0.0, min(retention_hours, prices.extended_retention_until_hours) - included)
    long_term_hours = max(0.0, retention_hours - prices.extended_retention_until_hours)
    extended_gb_months = hourly_gb * extended_hours / prices.hours_per_month
    long_term_gb_months = hourly_gb * long_term_hours / prices.hours_per_month
    units = hourly_records * put_payload_units(record_size_bytes, prices) / 1e6
    billed_in_gb = hourly_records * on_demand_billed_bytes(record_size_bytes, prices) / gb
    rows = [
        (PROVISIONED, "Shard hours", "capacity", shards, "shard-hours", prices.provisioned_shard_hour_usd),
        (PROVISIONED, "PUT payload units", "data in", units, "million 25 KiB units",
         prices.put_payload_usd_per_million_units),
        (PROVISIONED, "Data retrieval", "reads", get_records_consumers * hourly_gb, "GB",
         prices.provisioned_get_records_usd_per_gb),
        (PROVISIONED, "EFO consumer-shard hours", "enhanced fan-out", efo_consumers * shards, "consumer-shard-hours",
         prices.provisioned_efo_usd_per_consumer_shard_hour),
        (PROVISIONED, "EFO data retrieval", "enhanced fan-out", efo_consumers * hourly_gb, "GB",
         prices.provisioned_efo_retrieval_usd_per_gb),
        (PROVISIONED, "Extended retention", "retention", shards if retention_hours > included else 0, "shard-hours",
         prices.provisioned_extended_retention_usd_per_shard_hour),
        (PROVISIONED, "Long-term retention", "retention", long_term_gb_months, "GB-months",
         prices.provisioned_long_term_retention_usd_per_gb_month),
        (ON_DEMAND, "Stream hours", "capacity", 1, "stream-hours", prices.on_demand_stream_hour_usd),
        (ON_DEMAND, "Data in", "data in", billed_in_gb, "GB (records rounded up to 1 KiB)",
         prices.on_demand_data_in_usd_per_gb),
        (ON_DEMAND, "Data retrieval", "reads", get_records_consumers * hourly_gb, "GB",
         prices.on_demand_retrieval_usd_per_gb),
        (ON_DEMAND, "EFO data retrieval", "enhanced fan-out", efo_consumers * hourly_gb, "GB",
         prices.on_demand_efo_retrieval_usd_per_gb),
        (ON_DEMAND, "Extended retention", "retention", extended_gb_months, "GB-months",
         prices.on_demand_extended_retention_usd_per_gb_month),
        (ON_DEMAND, "Long-term retention", "retention", long_term_gb_months, "GB-months",
         prices.on_demand_long_term_retention_usd_per_gb_month),
    ]
    frame = pd.DataFrame(rows, columns=["mode", "item", "category", "quantity", "unit", "unit_price_usd"])
    frame["usd_per_hour"] = frame["quantity"] * frame["unit_price_usd"]
    return frame


def first_crossing(record_size_bytes: int, max_records_per_second: float = RATE_RANGE[1], **workload) -> float | None:
    """The lowest average rate at which the cheaper mode changes, or None: the search of
    :func:`kinesislab.pricing.break_even_records_per_second` (whole records/s from 0, then a finer
    look around the first change), vectorised so that a slider move pays for it in milliseconds.
    A test checks both give the same answer."""
    def sign(rates: np.ndarray) -> np.ndarray:
        part = hourly_cost_curve(rates, record_size_bytes, **workload)
        return np.sign(part["provisioned_usd_per_hour"].to_numpy() - part["on_demand_usd_per_hour"].to_numpy())

    rates = np.arange(0.0, math.floor(max_records_per_second) + 1.0)
    signs = sign(rates)
    start = signs[0] if signs[0] != 0 else next((s for s in signs if s != 0), 0.0)
    changed = np.nonzero((signs != start) & (signs != 0))[0]
    if start == 0 or changed.size == 0:
        return None
    low, high = float(rates[changed[0] - 1]), float(rates[changed[0]])
    for _ in range(3):  # each pass narrows the bracket 1,000-fold
        fine = np.linspace(low, high, 1001)
        side = sign(fine)
        first = int(np.nonzero((side != start) & (side != 0))[0][0])
        low, high = float(fine[max(first - 1, 0)]), float(fine[first])
    return high


class CostCurvePanel:
    """USD per hour against the average rate, both modes, log scales; the chosen rate and the crossing."""

    def __init__(self, ax: Axes):
        self.ax = ax
        self.provisioned, = ax.plot([], [], color=COLOURS["provisioned"], linewidth=2.0, label="provisioned")
        self.overloaded, = ax.plot([], [], color=COLOURS["provisioned"], linewidth=1.2, linestyle=":",
                                   label="provisioned, overloaded")
        self.on_demand, = ax.plot([], [], color=COLOURS["on_demand"], linewidth=2.0, linestyle="--",
                                  label="on-demand")
        self.marks = ax.scatter(np.zeros(0), np.zeros(0), s=40, zorder=4)
        self.here = ax.axvline(1, color="#777777", linewidth=1.0, linestyle="-")
        self.cross = ax.axvline(1, color=COLOURS["offered"], linewidth=1.0, linestyle="-.", alpha=0.0)
        self.cross_label = ax.text(1, 1, "", fontsize=FONT_SIZE - 1, ha="left", va="bottom",
                                   bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5})
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_formatter(si(""))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: dollars(value)))
        tidy(ax, "Cost per hour by average write rate", "average records per second (log scale)",
             "USD per hour (log scale)")
        pin_ylabel(ax, "$888 k")
        ax.legend(loc="upper left", fontsize=FONT_SIZE - 1, frameon=False)

    def update(self, curve: pd.DataFrame, rate: float, here: pd.Series, crossing: float | None) -> None:
        x = curve["records_per_second"].to_numpy()
        p = curve["provisioned_usd_per_hour"].to_numpy()
        o = curve["on_demand_usd_per_hour"].to_numpy()
        over = curve["provisioned_overloaded"].to_numpy()
        self.provisioned.set_data(x, np.where(over, np.nan, p))
        self.overloaded.set_data(x, np.where(over, p, np.nan))
        self.on_demand.set_data(x, o)
        self.marks.set_offsets([[rate, here["provisioned_usd_per_hour"]], [rate, here["on_demand_usd_per_hour"]]])
        self.marks.set_facecolors([COLOURS["provisioned"], COLOURS["on_demand"]])
        self.here.set_xdata([rate, rate])
        low = max(1e-3, float(min(p.min(), o.min())) / 1.5)
        high = float(max(p.max(), o.max())) * 1.5
        self.ax.set_xlim(x[0], x[-1])
        self.ax.set_ylim(low, high)
        if crossing is not None:
            self.cross.set_xdata([crossing, crossing])
            self.cross.set_alpha(1.0)
            self.cross_label.set_position((crossing * 1.12, low * 1.25))
            self.cross_label.set_text(f"lines cross at\n{crossing:,.0f} records/s")
        else:
            self.cross.set_alpha(0.0)
            self.cross_label.set_text("")


def dollars(usd: float) -> str:
    """A tick label for an amount in USD: $0.01, $1, $100, $10 k, $1 M (never "$1e+03")."""
    for size, prefix in ((1e6, " M"), (1e3, " k")):
        if usd >= size:
            return f"${usd / size:.3g}{prefix}"
    return f"${usd:.3g}"


class BillPanel:
    """Two stacked bars (provisioned, on-demand): USD per hour by what it pays for."""

    def __init__(self, ax: Axes, title: str = "Where the money goes (per hour)"):
        self.ax = ax
        self.bars = {cat: ax.bar([0, 1], [0, 0], bottom=[0, 0], color=CATEGORY_COLOURS[cat], width=0.6)
                     for cat in CATEGORIES}
        self.totals = [ax.text(i, 0, "", ha="center", va="bottom", fontsize=FONT_SIZE) for i in range(2)]
        ax.set_xticks([0, 1], ["provisioned", "on-demand"])
        tidy(ax, title, "", "USD per hour")
        ax.legend(handles=[Patch(color=CATEGORY_COLOURS[cat], label=cat) for cat in CATEGORIES],
                  loc="upper left", fontsize=FONT_SIZE - 1, frameon=False)

    def update(self, items: pd.DataFrame) -> tuple[float, float]:
        by = items.groupby(["mode", "category"])["usd_per_hour"].sum()
        bottoms = [0.0, 0.0]
        for cat in CATEGORIES:
            for i, mode in enumerate((PROVISIONED, ON_DEMAND)):
                value = float(by.get((mode, cat), 0.0))
                bar = self.bars[cat][i]
                bar.set_y(bottoms[i])
                bar.set_height(value)
                bottoms[i] += value
        top = max(bottoms) if max(bottoms) > 0 else 1.0
        for i, total in enumerate(bottoms):
            self.totals[i].set_position((i, total))
            self.totals[i].set_text(f"${total:,.3f}/h")
        self.ax.set_ylim(0, nice_ceiling(top * 1.45))
        self.ax.set_xlim(-0.6, 1.6)
        return bottoms[0], bottoms[1]


class CostDashboard(Dashboard):
    """Hourly cost of a steady workload in both modes; the average rate is the main control."""

    def __init__(self, rate: float = 1000, record_bytes: int = 1024, sizing: str = "for the average",
                 peak_to_average: float = 10.0, fixed_shards: int = 4, readers: int = 1, efo: int = 0,
                 retention: str = "24 hours (included)"):
        live = LiveFigure(10.5, 4.2, 1, 2, width_ratios=[1.7, 1])
        self.curve_panel = CostCurvePanel(live.axes[0, 0])
        self.bill_panel = BillPanel(live.axes[0, 1])
        self.grid = np.unique(np.round(np.logspace(0, 5, 241), 3))
        self._curves: OrderedDict[tuple, tuple[pd.DataFrame, float | None]] = OrderedDict()
        controls = {
            "rate": c.log_slider("average records/s", rate, *RATE_RANGE),
            "record_bytes": c.log_slider("record size (bytes)", record_bytes, 10, 1_000_000),
            "sizing": c.choice("provisioned sized", SIZINGS, sizing),
            "peak_to_average": c.log_slider("peak / average", peak_to_average, 1, 100),
            "fixed_shards": c.int_slider("fixed shards", fixed_shards, 1, 200),
            "readers": c.int_slider("GetRecords apps", readers, 0, 5),
            "efo": c.int_slider("EFO apps", efo, 0, 20),
            "retention": c.choice("retention", list(RETENTIONS), retention),
        }
        super().__init__("What it costs: provisioned vs on-demand, per hour", controls, "rate", live,
                         intro="A steady workload, priced in both modes (us-east-1 prices; GB = 2<sup>30</sup> "
                               "bytes). 'Peak / average' applies when the provisioned stream is sized for a peak; "
                               "'fixed shards' when its shard count is fixed.")

    def workload(self, values: dict) -> dict:
        return {"get_records_consumers": int(values["readers"]), "efo_consumers": int(values["efo"]),
                "retention_hours": float(RETENTIONS[values["retention"]]),
                **sizing_arguments(values["sizing"], values["peak_to_average"], values["fixed_shards"])}

    #: How many (record size, workload) curves are kept for the rate slider.
    CURVES_KEPT = 16

    #: compute reads only the controls: a setting seen before is not simulated again.
    KEEP_RESULTS = True

    def compute(self, values: dict):
        size = int(round(values["record_bytes"]))
        if size > Limits().max_max_record_size_kib * 1024:
            raise ValueError("a record can be at most 10 MiB")
        workload = self.workload(values)
        rate = float(values["rate"])
        curve, crossing = self._curve_and_crossing(size, workload)
        here = hourly_cost_curve(rate, size, **workload).iloc[0]
        items = hourly_items(rate, size, **workload)
        return {"curve": curve, "here": here, "crossing": crossing, "items": items, "size": size, "rate": rate}

    def _curve_and_crossing(self, size: int, workload: dict) -> tuple[pd.DataFrame, float | None]:
        """The cost curve over the whole rate range and where the modes cross: they do not depend
        on the chosen rate, so moving the rate slider (the main control) reuses them; most of the
        work is here (the crossing search prices 100,000 rates)."""
        key = (size, tuple(sorted(workload.items())))
        kept = self._curves.get(key)
        if kept is None:
            kept = (hourly_cost_curve(self.grid, size, **workload), first_crossing(size, RATE_RANGE[1], **workload))
            self._curves[key] = kept
            while len(self._curves) > self.CURVES_KEPT:
                self._curves.popitem(last=False)
        else:
            self._curves.move_to_end(key)
        return kept

    def draw(self, result, values: dict) -> str:
        here = result["here"]
        self.curve_panel.update(result["curve"], result["rate"], here, result["crossing"])
        self.bill_panel.update(result["items"])
        p, o = float(here["provisioned_usd_per_hour"]), float(here["on_demand_usd_per_hour"])
        cheaper, ratio = ("Provisioned", o / p) if p <= o else ("On-demand", p / o)
        sized = {"for the average": "sized for the average",
                 "for a peak": f"sized for a peak {values['peak_to_average']:,.1f} times the average",
                 "fixed shard count": "with a fixed shard count"}[values["sizing"]]
        lines = [
            f"<b>{result['rate']:,.0f} records/s</b> on average, {result['size']:,} bytes each: "
            f"provisioned ({int(here['shards'])} shard{'s' if here['shards'] != 1 else ''}, {sized}) "
            f"<b>${p:,.3f}/h</b> (${p * HOURS_PER_MONTH:,.2f}/month); on-demand <b>${o:,.3f}/h</b> "
            f"(${o * HOURS_PER_MONTH:,.2f}/month).",
            f"{cheaper} is cheaper here, by {ratio:,.1f} times."
            + (" <span style='color:#D55E00'>But these fixed shards cannot carry this rate: they would "
               "throttle.</span>" if bool(here["provisioned_overloaded"]) else ""),
        ]
        crossing = result["crossing"]
        if crossing is None:
            lines.append("The lines never cross between 1 and 100,000 records/s: one mode is cheaper at every rate.")
        else:
            lines.append(f"The lines cross at <b>{crossing:,.0f} records/s</b>.")
        return "<br>".join(lines)


def bill_picture(records_per_second: float, record_size_bytes: int, **workload):
    """A static picture of :func:`hourly_items` as two stacked bars (for a lesson's Concept section)."""
    from IPython.display import Image

    live = LiveFigure(5.0, 3.4)
    panel = BillPanel(live.axes[0, 0], f"One hour at {records_per_second:,.0f} records/s of {record_size_bytes:,} bytes")
    panel.update(hourly_items(records_per_second, record_size_bytes, **workload))
    return Image(data=live.png(), format="png")


def lesson07_bills(factor: float = 10.0, shards: int = 4) -> pd.DataFrame:
    """Lesson 07's runs (same traffic, provisioned with ``shards`` vs a new on-demand stream), billed.

    One row per pattern and mode: the bill of the 18-minute run as it ran, what it accepted and
    throttled, and the cost per million accepted records.
    """
    from kinesislab.dashboards.capacity_modes import PATTERNS, run_both, run_summary
    from kinesislab.pricing import total

    rows = []
    for pattern in PATTERNS:
        for mode, results in zip((PROVISIONED, ON_DEMAND), run_both(pattern, factor, shards)):
            summary = run_summary(results)
            cost = total(results.bill())
            rows.append({"pattern": pattern, "mode": mode, "max shards": summary["end_shards"],
                         "accepted records": summary["accepted"], "throttled share": summary["throttled_share"],
                         "bill (USD)": cost, "USD per million accepted": cost / summary["accepted"] * 1e6})
    return pd.DataFrame(rows).set_index(["pattern", "mode"])
