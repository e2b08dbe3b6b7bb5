"""The examples in the docstrings are tests (as SimPy's and Ciw's are)."""

import doctest
import importlib

import pytest

MODULES = ["kinesislab.simulator", "kinesislab.scenario", "kinesislab"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
    assert result.attempted > 0
