"""Prediction checkers and exercise self-checks that speak to a learner, not to a test runner."""

from __future__ import annotations

import html

from IPython.display import HTML, display


def check_prediction(prediction, actual, *, tolerance: float = 0.0, unit: str = "", why: str = "") -> bool | None:
    """Compare the learner's prediction with what the simulator produced and say why.

    ``prediction`` None means "not predicted yet": the learner is asked to write one first and
    nothing fails. Numbers match within ``tolerance`` (relative, 0.1 = 10 %); other values must be equal.
    Returns True/False, or None when there was no prediction.
    """
    if prediction is None or prediction is Ellipsis:
        _show("#555555", "Write your prediction in the cell above first, then run this cell again. "
                         "(The simulator's answer is waiting.)")
        return None
    if isinstance(actual, (int, float)) and isinstance(prediction, (int, float)):
        right = abs(prediction - actual) <= tolerance * max(abs(actual), 1e-12)
        shown = f"{actual:,.0f}" if float(actual).is_integer() else f"{actual:,.3g}"
    else:
        right = prediction == actual
        shown = str(actual)
    verdict = "&#10004; Your prediction holds." if right else "&#10008; Not this time."
    colour = "#0072B2" if right else "#D55E00"
    _show(colour, f"{verdict} The simulator says <b>{html.escape(shown)} {html.escape(unit)}</b>. {html.escape(why)}",
          escape=False)
    return right


def check(condition: bool, success: str, hint: str) -> bool:
    """An exercise self-check: a friendly line either way. Returns ``condition`` (assert on it)."""
    if condition:
        _show("#0072B2", f"&#10004; {html.escape(success)}", escape=False)
    else:
        _show("#D55E00", f"&#10008; Not yet: {html.escape(hint)}", escape=False)
    return bool(condition)


def _show(colour: str, text: str, escape: bool = True) -> None:
    display(HTML(f"<div style='color:{colour}'>{html.escape(text) if escape else text}</div>"))
