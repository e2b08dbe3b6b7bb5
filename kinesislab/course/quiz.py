"""A three-question quiz with instant feedback (radio buttons; feedback appears on choosing)."""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets


@dataclass(frozen=True)
class Question:
    """A multiple-choice question: ``options``, the index of the right one, and why it is right."""

    text: str
    options: tuple[str, ...]
    answer: int
    why: str

    def __post_init__(self) -> None:
        if not 0 <= self.answer < len(self.options):
            raise ValueError(f"answer index {self.answer} is not one of the {len(self.options)} options")


class Quiz(widgets.VBox):
    """Questions with instant feedback. ``quiz.check(i, option)`` answers from code (tests, nbval)."""

    def __init__(self, questions: list[Question]):
        self.questions = list(questions)
        self._feedback = []
        self._choices = []
        rows = []
        for number, question in enumerate(self.questions, start=1):
            choice = widgets.RadioButtons(options=list(question.options), value=None,
                                          layout=widgets.Layout(width="auto"))
            feedback = widgets.HTML()
            choice.observe(lambda change, i=number - 1: self._answer(i, change["new"]), names="value")
            self._choices.append(choice)
            self._feedback.append(feedback)
            rows.append(widgets.HTML(f"<b>{number}. {html.escape(question.text)}</b>"))
            rows += [choice, feedback]
        super().__init__(rows)
        self.add_class("kinesislab-quiz")

    def check(self, index: int, option: str | int) -> bool:
        """Is ``option`` (its text or its index) the right answer to question ``index``?"""
        question = self.questions[index]
        chosen = question.options.index(option) if isinstance(option, str) else int(option)
        return chosen == question.answer

    def _answer(self, index: int, option: str | None) -> None:
        if option is None:
            self._feedback[index].value = ""
            return
        question = self.questions[index]
        if self.check(index, option):
            text = f"<span style='color:#0072B2'>&#10004; Right.</span> {html.escape(question.why)}"
        else:
            text = "<span style='color:#D55E00'>&#10008; Not quite &mdash; look again at the explore section.</span>"
        self._feedback[index].value = text

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = dict(data)
        data["text/plain"] = "\n".join(f"{n}. {q.text} " + " / ".join(q.options)
                                       for n, q in enumerate(self.questions, start=1))
        return data, metadata
