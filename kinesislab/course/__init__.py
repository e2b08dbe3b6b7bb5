"""Lesson furniture: quizzes with instant feedback, prediction checkers and self-checks.

Widgets here work with a live frontend and headless alike: every check is also a plain function
a notebook cell can ``assert`` on, so nbval proves the answer keys and the lesson's numbers.
"""

from kinesislab.course.checks import check, check_prediction
from kinesislab.course.quiz import Question, Quiz

__all__ = ["Question", "Quiz", "check", "check_prediction"]
