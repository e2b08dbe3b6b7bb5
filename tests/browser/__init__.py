"""Browser tests: lessons opened in real JupyterLab in headless Chromium.

A package (rather than loose modules) so that ``jupyterlab_server.py`` here never shadows
the real ``jupyterlab_server`` distribution on ``sys.path``.
"""
