"""The live figure path (cached static layers, cached text, fast PNG) shows exactly what a full
redraw of the same state shows: never stale tick labels, legends or limits.

Every comparison is against a *pristine* full redraw: the same Figure drawn from scratch by a
plain matplotlib ``RendererAgg`` (no cache of any kind). Pasted layers are blended with Agg's own
formula, so pictures agree exactly except by one level of rounding where two strokes of one
cached part overlap (a legend's frame edge over its translucent face, say). Stale content --
a wrong tick label, a legend entry, a line where it was -- differs by tens to hundreds of levels.
No timings are asserted here (see benchmarks/dashboard_redraw.py).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import RendererAgg
from PIL import Image

from kinesislab.dashboards.figure import LiveFigure, encode_png
from kinesislab.dashboards.style import FONT_SIZE, keep_legend, nice_ceiling, si, tidy
from kinesislab.dashboards.text_cache import TextCachingCanvas

#: How much, and on what share of its pixels, a picture may differ from the pristine redraw.
MAX_LEVELS = 1
MAX_DIFFERING_SHARE = 0.01


def pristine(figure) -> np.ndarray:
    """The figure drawn from scratch by a plain Agg renderer (RGBA)."""
    width, height = figure.canvas.get_width_height(physical=True)
    renderer = RendererAgg(width, height, figure.dpi)
    renderer.clear()
    figure.draw(renderer)
    return np.asarray(renderer.buffer_rgba()).copy()


def decoded(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def assert_same_picture(shown: np.ndarray, expected: np.ndarray) -> None:
    assert shown.shape == expected.shape
    difference = np.abs(shown.astype(int) - expected.astype(int)).max(axis=2)
    assert difference.max() <= MAX_LEVELS, f"differs by up to {difference.max()} levels"
    assert (difference > 0).mean() <= MAX_DIFFERING_SHARE, f"{(difference > 0).sum()} pixels differ"


def assert_live_matches_full_redraw(live: LiveFigure) -> bytes:
    """Render through the live path and compare with a pristine redraw of the same state."""
    png = live.render()
    assert_same_picture(decoded(png), pristine(live.figure))
    # The painter leaves no artist with its drawing switched off.
    for ax in live.figure.axes:
        assert not any("draw" in vars(artist) for artist in ax.get_children())
    return png


# ----------------------------------------------------------------------------- building blocks


def test_png_encoder_round_trips_exactly():
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, size=(37, 53, 4), dtype=np.uint8)
    flat = np.full((20, 30, 4), 255, dtype=np.uint8)
    flat[5:8, :, :3] = (0, 114, 178)
    for picture in (noisy, flat):
        png = encode_png(picture)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert np.array_equal(decoded(png), picture)


@pytest.mark.parametrize("value", [0.0007, 0.013, 1.0, 1.1, 3.0, 3750, 4000, 4001, 99_999, 1e6 + 1])
def test_nice_ceiling_rounds_up_by_at_most_a_third(value):
    top = nice_ceiling(value)
    assert value <= top <= value * 4 / 3 + 1e-9
    assert nice_ceiling(top) == top            # already round: unchanged
    mantissa = top / 10 ** np.floor(np.log10(top))
    assert round(mantissa, 9) in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


def test_nice_ceiling_leaves_nonpositive_values_alone():
    assert nice_ceiling(0.0) == 0.0 and nice_ceiling(-3.0) == -3.0


@pytest.mark.parametrize("rotation", [0, 90, 33])
@pytest.mark.parametrize("antialiased", [True, False])
def test_cached_text_is_drawn_exactly_as_matplotlib_draws_it(rotation, antialiased):
    live = LiveFigure(4, 2)
    ax = live.axes[0, 0]
    ax.set_axis_off()
    texts = [ax.text(0.05 + 0.11 * i, 0.2 + 0.07 * i, label, rotation=rotation, antialiased=antialiased,
                     fontsize=FONT_SIZE - 1 + i % 3, alpha=0.5 if i % 2 else None, weight="bold" if i % 3 else None)
             for i, label in enumerate(["0", "1 k", "shard 7", "records/s", "ΔT → 2^128", "$1,234", "x"])]
    live.png()
    renderer = live.figure.canvas.get_renderer()
    for second_time in (False, True):
        for i, text in enumerate(texts):  # the same strings again, at other sub-pixel offsets too
            text.set_position((0.05 + 0.11 * i + (0.0013 if second_time else 0.0), 0.2 + 0.07 * i))
        live.figure.canvas.draw()
        assert np.array_equal(np.asarray(renderer.buffer_rgba()), pristine(live.figure))
    assert renderer.hits > 0


# ----------------------------------------------------------------------------- the painter


def line_figure() -> tuple[LiveFigure, object]:
    live = LiveFigure(6, 3)
    ax = live.axes[0, 0]
    line, = ax.plot([], [], color="#0072B2", label="accepted")
    ax.axhline(1000, color="black", linestyle="--", label="limit")
    tidy(ax, "Throughput over time", "time (s)", "records per second")
    ax.yaxis.set_major_formatter(si(""))
    ax.legend(loc="upper left", fontsize=FONT_SIZE - 1, frameon=False)
    ax.set_xlim(0, 60)
    return live, line


def show(live: LiveFigure, line, peak: float) -> bytes:
    t = np.arange(60.0)
    line.set_data(t, peak * (0.6 + 0.4 * np.sin(t / 6) ** 2))
    live.axes[0, 0].set_ylim(0, nice_ceiling(peak * 1.25))
    return assert_live_matches_full_redraw(live)


def test_axis_follows_the_data_past_its_rounded_top_and_back():
    live, line = line_figure()
    first = show(live, line, 900)                        # top 1.2 k
    assert live.painter.report.parts_rendered > 0        # first paint: everything is new
    nearby = show(live, line, 910)                       # same rounded top: only the line moved
    assert nearby != first and live.painter.report.parts_rendered == 0
    grown = show(live, line, 3000)                       # past the top: the y axis must be drawn anew
    assert live.painter.report.parts_rendered == 1 and live.axes[0, 0].get_ylim()[1] == 4000
    assert grown != nearby
    back = show(live, line, 900)                         # an axis seen before comes from the cache
    assert live.painter.report.parts_rendered == 0
    assert decoded(back).tobytes() == decoded(first).tobytes()


def test_changed_legend_ticks_and_title_never_show_stale():
    live, line = line_figure()
    ax = live.axes[0, 0]
    show(live, line, 900)
    line.set_label("stored")                       # a new legend with a new entry
    ax.legend(loc="upper left", fontsize=FONT_SIZE - 1, frameon=False)
    assert_live_matches_full_redraw(live)
    assert live.painter.report.parts_rendered == 1
    ax.set_xticks([0, 15, 30, 45, 60], ["a", "b", "c", "d", "e"])   # tick labels set by hand
    assert_live_matches_full_redraw(live)
    ax.set_title("A different title", loc="left")  # titles are drawn live
    ax.tick_params(labelsize=FONT_SIZE + 2)        # tick style changes the look as well
    assert_live_matches_full_redraw(live)
    ax.set_facecolor("#F4F4F4")
    assert_live_matches_full_redraw(live)


def test_legend_kept_by_keep_legend_matches_a_new_one():
    live, line = line_figure()
    ax = live.axes[0, 0]
    show(live, line, 900)
    kept = keep_legend(ax, ("accepted", "limit"), lambda: ax.legend(loc="upper right"))
    assert keep_legend(ax, ("accepted", "limit"), lambda: ax.legend(loc="upper left")) is kept
    moved = keep_legend(ax, ("accepted", "limit", "left"), lambda: ax.legend(loc="upper left"))
    assert moved is not kept
    assert_live_matches_full_redraw(live)


def test_titles_move_out_of_the_way_of_an_offset_text_and_back():
    live = LiveFigure(5, 3)
    ax = live.axes[0, 0]
    line, = ax.plot([0, 1], [0, 1])
    ax.set_title("Bytes stored", loc="left")
    for low, high in ((0, 10), (1e8, 1e8 + 50), (0, 10)):   # the middle one needs an offset text
        line.set_data([0, 1], [low, high])
        ax.set_ylim(low, high)
        assert_live_matches_full_redraw(live)


def test_figures_the_painter_does_not_understand_are_drawn_in_full():
    live, line = line_figure()
    live.figure.suptitle("A figure-level title")
    png = show(live, line, 900)
    assert live.painter.report.full_redraw
    assert b"IDAT" in png


def test_png_is_a_full_redraw_and_render_matches_it():
    live, line = line_figure()
    show(live, line, 2000)
    assert_same_picture(decoded(live.png()), pristine(live.figure))
    assert isinstance(live.figure.canvas, TextCachingCanvas)


def test_a_resized_figure_is_painted_afresh():
    live, line = line_figure()
    show(live, line, 900)
    live.figure.set_size_inches(7, 3)        # cached parts are pixels of the old canvas
    show(live, line, 900)
    assert live.painter.report.parts_reused == 0


def test_cached_text_survives_matplotlib_dropping_its_fonts():
    """matplotlib's font cache (64 fonts per thread) may let a font go while our shape cache
    still uses it: drawing from the cache must not touch a freed font (it crashed, or made
    FreeType fail with "too many hints", in a long-running kernel)."""
    import gc

    from matplotlib.font_manager import _get_font

    live, line = line_figure()
    show(live, line, 900)
    renderer = live.figure.canvas.get_renderer()
    assert renderer._shapes                  # strings shaped and kept
    _get_font.cache_clear()
    gc.collect()
    renderer._strings.clear()                # so every string is drawn from its kept shape
    renderer._glyphs.clear()                 # and every glyph rendered again by FreeType
    show(live, line, 5000)


@pytest.mark.parametrize("grid_style", ["-", "--", ":"])
def test_an_axis_drawn_in_one_go_is_matplotlibs_axis_pixel_for_pixel(grid_style):
    """draw_axis merges the grid lines and tick marks of all ticks into one line each."""
    from kinesislab.dashboards.layers import draw_axis

    live, line = line_figure()
    ax = live.axes[0, 0]
    ax.grid(True, linestyle=grid_style, alpha=0.4)
    width, height = live.figure.canvas.get_width_height(physical=True)
    for top in (7, 1234.5, 2500):
        ax.set_ylim(0, top)
        ax.set_xlim(0, top / 10)
        for axis in (ax.xaxis, ax.yaxis):
            theirs, ours = RendererAgg(width, height, live.figure.dpi), RendererAgg(width, height, live.figure.dpi)
            theirs.clear()
            ours.clear()
            axis.draw(theirs)
            draw_axis(axis, ours)
            assert np.array_equal(np.asarray(ours.buffer_rgba()), np.asarray(theirs.buffer_rgba()))


def test_glyphs_are_merged_into_one_blit_only_where_none_overlap():
    from kinesislab.dashboards.text_cache import merge_blits

    a = np.array([[9, 0], [0, 9]], dtype=np.uint8)
    b = np.array([[5, 0], [0, 5]], dtype=np.uint8)
    (merged, x, y), = merge_blits([(a, 10, 20), (b, 11, 20)])   # b's ink falls where a has none
    assert (x, y) == (10, 20) and merged.tolist() == [[9, 5, 0], [0, 9, 5]]
    clash = [(a, 10, 20), (b, 10, 20)]                          # both ink (0, 0): blended twice, kept apart
    assert merge_blits(clash) == clash


# ----------------------------------------------------------------------------- lesson dashboards


#: Lesson dashboards, their main control and values to move it through (back to seen ones too).
MOVES = {"throughput": ("shards", [3, 6, 2, 8, 2]), "records": ("shards", [4, 1, 8, 2]),
         "key space": ("shards", [12, 1, 16, 3]), "tour": ("rate", [3500, 0, 1500]),
         "retention": ("retention_days", [90, 1]), "cost": ("rate", [20000, 3, 1000])}


@pytest.mark.parametrize("name", list(MOVES))
def test_lesson_dashboard_shows_what_a_full_redraw_shows(name):
    from kinesislab.dashboards.catalog import lesson_dashboard

    dashboard = lesson_dashboard(name).build()
    control, values = MOVES[name]
    live = dashboard.live_figure
    assert_same_picture(decoded(live.image.value), pristine(live.figure))
    shown = {dashboard.controls[control].value: live.image.value}
    for value in values:
        dashboard.set(**{control: value})
        assert dashboard.message.value == ""
        png = live.image.value
        assert_same_picture(decoded(png), pristine(live.figure))
        if value not in shown:
            assert all(png != other for other in shown.values()), f"{control}={value} shows an earlier picture"
        shown[value] = png
    assert dashboard.last_draw_ms >= 0 and dashboard.last_compute_ms >= 0
    assert dashboard.last_update_ms == pytest.approx(dashboard.last_compute_ms + dashboard.last_draw_ms)


def test_time_cursor_redraws_match_a_full_redraw():
    from kinesislab.dashboards.throughput import ThroughputDashboard
    dashboard = ThroughputDashboard(shards=2, rate=3000, record_bytes=1024, duration=30.0)
    for second in (5.0, 12.0, 29.0):
        dashboard.cursor.slider.value = second
        assert_same_picture(decoded(dashboard.live_figure.image.value), pristine(dashboard.live_figure.figure))


def test_the_fast_axis_drawing_is_used_only_where_it_matches_matplotlib(monkeypatch):
    from kinesislab.dashboards import layers

    assert layers.fast_axis_works()          # the matplotlib this suite runs on

    def renamed(axis, renderer):             # as if a matplotlib release renamed a private part
        raise AttributeError("_update_label_position")

    def draws_nothing(axis, renderer):       # or drew other pixels
        return None

    try:
        for broken in (renamed, draws_nothing):
            monkeypatch.setattr(layers, "draw_axis", broken)
            layers.fast_axis_works.cache_clear()
            assert not layers.fast_axis_works()
    finally:
        layers.fast_axis_works.cache_clear()
