"""Dashboards and plots for the lessons, on top of the engine's results.

This package imports matplotlib and ipywidgets; the core (engine, client, scenario) never does.
Every figure is built once and its artists updated; the picture reaches the page as PNG bytes in
an ``ipywidgets.Image``, which behaves the same in JupyterLab, under nbval and in static renders
(each dashboard also offers an ``image/png`` fallback).
"""

from kinesislab.dashboards.dashboard import Dashboard
from kinesislab.dashboards.figure import LiveFigure
from kinesislab.dashboards import style

__all__ = ["Dashboard", "LiveFigure", "style"]
