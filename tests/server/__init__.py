"""The local wire-protocol endpoint, driven with real boto3 (and raw HTTP).

A package so that its ``conftest.py`` does not clash with ``tests/conftest.py`` (both would be
the top-level module ``conftest`` otherwise, and the course tests import that one by name).
"""
