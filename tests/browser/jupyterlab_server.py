"""Start and stop a throw-away JupyterLab server for the browser tests.

The server runs from the current Python environment (``python -m jupyterlab``) on
127.0.0.1 with a free port and a random token, and every Jupyter, IPython and matplotlib
state folder points into one temporary directory, so a test run neither reads nor leaves
any user state. The repository root is the server's root directory, so notebooks open at
``/lab/tree/notebooks/<name>.ipynb`` exactly as a learner sees them.

Usage::

    with JupyterLabServer(repo_root) as server:
        page.goto(server.lab_url("notebooks/01_intro.ipynb"))
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any

#: JupyterLab setting overrides for a quiet, deterministic and side-effect-free UI.
LAB_SETTING_OVERRIDES: dict[str, dict[str, Any]] = {
    # The news/update toast would cover the notebook in screenshots and makes a request
    # to a host the test machine cannot reach.
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Run All dirties the notebook; autosave would then write outputs into the lesson
    # files in the repository.
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    # Attach every cell to the DOM so error outputs far below the viewport are found
    # and cell indices in the DOM match the indices in the .ipynb file.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}

STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


class JupyterLabStartError(RuntimeError):
    """The server process exited or did not answer in time."""


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


class JupyterLabServer:
    """A JupyterLab server process with isolated state, usable as a context manager.

    Args:
        root_dir: folder served as the Jupyter root (the repository root).
        python: interpreter whose ``jupyterlab`` to run; defaults to the current one so
            the kernel sees the same packages as the tests.
        startup_timeout: seconds to wait for the server to answer.

    """

    def __init__(
        self,
        root_dir: Path,
        python: str = sys.executable,
        startup_timeout: float = STARTUP_TIMEOUT_S,
    ) -> None:
        self.root_dir = Path(root_dir).resolve()
        self.python = python
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(24)
        self.port = 0
        self.state_dir: Path | None = None
        self.log_path: Path | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self._reapers: list[threading.Thread] = []

    # ----------------------------------------------------------------- addresses

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        return f"http://127.0.0.1:{self.port}"

    def lab_url(self, relative_path: str) -> str:
        """URL that opens ``relative_path`` (relative to the root dir) in JupyterLab.

        ``reset`` discards any saved workspace so no stale tabs are restored.
        """
        quoted = urllib.parse.quote(relative_path.replace(os.sep, "/"))
        return f"{self.base_url}/lab/tree/{quoted}?reset&token={self.token}"

    def lab_home_url(self) -> str:
        """URL that opens JupyterLab with no document (``reset``: no restored tabs)."""
        return f"{self.base_url}/lab?reset&token={self.token}"

    @property
    def pid(self) -> int | None:
        """PID of the server process (also its process-group id), if started."""
        return self._proc.pid if self._proc else None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> JupyterLabServer:
        """Start the server and block until its REST API answers."""
        if self._proc is not None:
            raise RuntimeError("server already started")
        self._tmp = tempfile.TemporaryDirectory(prefix="kinesislab-lab-")
        self.state_dir = Path(self._tmp.name)
        env = self._isolated_env(self.state_dir)
        self._write_overrides(self._settings_dir)
        self.log_path = self.state_dir / "jupyterlab.log"
        # A port picked as free can be taken before the server binds it; with
        # port_retries=0 the server then exits at once, so try a fresh port.
        last_error: JupyterLabStartError | None = None
        for _attempt in range(3):
            self.port = free_port()
            try:
                self._launch(env)
                self._wait_until_ready()
                return self
            except JupyterLabStartError as exc:
                last_error = exc
                self._terminate_process()
                if "address already in use" not in self._log_tail().lower():
                    break
        self.stop()
        assert last_error is not None
        raise last_error

    def stop(self) -> None:
        """Shut down kernels, then stop the server's process group and clean up."""
        for reaper in self._reapers:
            reaper.join(timeout=STOP_TIMEOUT_S)
        self._reapers.clear()
        if self._proc is not None and self._proc.poll() is None:
            self.shutdown_all_kernels()
        self._terminate_process()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> JupyterLabServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ REST API

    def api(self, method: str, path: str, timeout: float = 10.0, body: Any = None) -> Any:
        """Call the Jupyter REST API (with ``body`` as JSON) and return the decoded JSON."""
        headers = {"Authorization": f"token {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            f"{self.base_url}{path}", data=data, method=method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = response.read()
        return json.loads(answer) if answer else None

    def start_session(self, notebook_path: str, kernel_name: str) -> dict[str, Any]:
        """Start a kernel for a notebook, as JupyterLab does when it opens one.

        ``notebook_path`` is relative to the root dir; the kernel runs in its folder.
        JupyterLab, opening that notebook later, connects to this session instead of
        starting another kernel.
        """
        body = {
            "path": notebook_path,
            "name": notebook_path.rsplit("/", 1)[-1],
            "type": "notebook",
            "kernel": {"name": kernel_name},
        }
        session: dict[str, Any] = self.api("POST", "/api/sessions", body=body)
        return session

    def sessions(self) -> list[dict[str, Any]]:
        """The running sessions (notebook path + kernel)."""
        sessions: list[dict[str, Any]] = self.api("GET", "/api/sessions")
        return sessions

    def shutdown_all_kernels(self, wait: bool = True, keep: Collection[str] = ()) -> None:
        """Delete every session and kernel that exists now, except the sessions in ``keep``.

        So each notebook starts on a fresh kernel and kernels of closed pages do not pile
        up on a 2-core machine. With ``wait=False`` the deletions (about 1.5 s: the server
        waits for each kernel to exit) run in a background thread while the next page
        loads; only the ids listed now are deleted, so a kernel started meanwhile is safe.
        ``keep`` holds ids of sessions started ahead for the next notebook; their kernels
        are kept too.
        """
        try:
            sessions = self.sessions()
            kept_kernels = {
                s["kernel"]["id"] for s in sessions if s["id"] in keep and s.get("kernel")
            }
            urls = [f"/api/sessions/{s['id']}" for s in sessions if s["id"] not in keep]
            urls += [
                f"/api/kernels/{k['id']}"
                for k in self.api("GET", "/api/kernels")
                if k["id"] not in kept_kernels
            ]
        except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError):
            return  # best effort: the process-group kill in stop() is the backstop
        if wait:
            self._delete_all(urls)
            return
        reaper = threading.Thread(target=self._delete_all, args=(urls,), daemon=True)
        reaper.start()
        self._reapers = [r for r in self._reapers if r.is_alive()] + [reaper]

    def _delete_all(self, urls: list[str]) -> None:
        for url in urls:
            # 404: the kernel went with its session, or was already gone.
            with suppress(urllib.error.URLError, OSError, ValueError):
                self.api("DELETE", url)

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the server log, for error messages."""
        return self._log_tail(lines)

    # ------------------------------------------------------------------ internals

    def _isolated_env(self, state_dir: Path) -> dict[str, str]:
        env = dict(os.environ)
        folders = {
            "HOME": "home",
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "IPYTHONDIR": "ipython",
            "MPLCONFIGDIR": "matplotlib",
        }
        for variable, name in folders.items():
            folder = state_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            env[variable] = str(folder)
        # A developer's MPLBACKEND=Agg would turn every inline plot into text.
        env.pop("MPLBACKEND", None)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    @staticmethod
    def _write_overrides(settings_dir: Path) -> None:
        settings_dir.mkdir(parents=True, exist_ok=True)
        (settings_dir / "overrides.json").write_text(
            json.dumps(LAB_SETTING_OVERRIDES, indent=2), encoding="utf-8"
        )

    @property
    def _settings_dir(self) -> Path:
        assert self.state_dir is not None
        return self.state_dir / "data" / "lab" / "settings"

    def _command(self) -> list[str]:
        assert self.state_dir is not None
        command = [
            self.python,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            # JupyterLab checkpoints a notebook when it opens it; keep those files out of
            # the repository (an absolute path overrides the per-folder default).
            f"--FileCheckpoints.checkpoint_dir={self.state_dir / 'checkpoints'}",
            # By default the overrides are read from the environment's share/ folder;
            # point JupyterLab at the temporary data dir instead of touching the venv.
            f"--LabApp.app_settings_dir={self._settings_dir}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # window.jupyterapp: lets one page open and close notebook after notebook
            # through JupyterLab's own commands instead of reloading the whole app.
            "--LabApp.expose_app_in_browser=True",
        ]
        if _running_as_root():
            command.append("--allow-root")
        return command

    def _launch(self, env: dict[str, str]) -> None:
        assert self.log_path is not None
        if self._log_file is not None:
            self._log_file.close()
        self._log_file = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            self._command(),
            cwd=self.root_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            # Own process group, so stop() can signal the server and its helpers
            # without touching the test runner.
            start_new_session=True,
        )

    def _wait_until_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise JupyterLabStartError(
                    f"jupyter lab exited with code {self._proc.returncode}:\n{self._log_tail()}"
                )
            try:
                self.api("GET", "/api/status", timeout=2.0)
                return
            except (urllib.error.URLError, OSError, ValueError):
                time.sleep(0.25)
        raise JupyterLabStartError(
            f"jupyter lab did not answer within {self.startup_timeout:.0f} s:\n{self._log_tail()}"
        )

    def _terminate_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
        # Reap the leader even if it was already gone before the first signal.
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1.0)
        # Children left in the group (e.g. a kernel mid-shutdown) must not outlive us.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def _log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no server log)"
        if self._log_file is not None:
            self._log_file.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@contextmanager
def running_jupyterlab(root_dir: Path, **kwargs: Any) -> Iterator[JupyterLabServer]:
    """Run a server for the duration of a ``with`` block, then stop it."""
    server = JupyterLabServer(root_dir, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()
