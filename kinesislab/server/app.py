"""The HTTP endpoint: Tornado (the server JupyterLab itself runs on) in a background thread.

Every request runs under one lock against the simulator's own boto3-shaped clients, so the wire
answers are the in-process answers. Time: in served mode the virtual clock follows the wall clock,
``speed`` virtual seconds per wall second (as SimPy's real-time environment does). Before each
request the clock is moved forward by the wall time elapsed since the previous request, times
``speed``. ``sim.advance(...)`` still works while serving: it jumps virtual time ahead, and the
wall clock carries on from there (it never moves time back).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import TYPE_CHECKING

import tornado.httpserver
import tornado.iostream
import tornado.web
from botocore.exceptions import ClientError, ParamValidationError

from kinesislab.api.errors import http_status
from kinesislab.api.registry import snake_case
from kinesislab.api.service_model import service_model
from kinesislab.engine.fanout import EVENT_INTERVAL_SECONDS
from kinesislab.server.eventstream import event_message
from kinesislab.server.wire import WireError, from_wire, to_wire

if TYPE_CHECKING:
    from kinesislab.simulator import Simulator

#: X-Amz-Target prefixes (botocore ``metadata.targetPrefix``) -> service.
TARGETS = {"Kinesis_20131202": "kinesis", "Firehose_20150804": "firehose"}
#: Larger than any valid request (PutRecords: 10 MiB of data, base64 makes it 4/3 bigger).
MAX_BODY_BYTES = 16 * 1024 * 1024


class Endpoint:
    """A running local endpoint for one simulator. Use :func:`serve` or ``sim.serve()``."""

    def __init__(self, sim: "Simulator", host: str = "127.0.0.1", port: int = 0, speed: float = 1.0):
        if speed < 0:
            raise ValueError("speed must be >= 0 (virtual seconds per wall second; 0 freezes the clock "
                             "so that only sim.advance moves it, for tests)")
        self.sim = sim
        self.host = host
        self.port = port
        self.speed = float(speed)
        self.lock = threading.RLock()
        self._last_wall = time.monotonic()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def sync_clock(self) -> None:
        """Advance virtual time by the wall time since the last sync, times ``speed``."""
        with self.lock:
            now = time.monotonic()
            elapsed = now - self._last_wall
            self._last_wall = now
            if elapsed > 0 and self.speed > 0:
                self.sim.advance(elapsed * self.speed)

    def start(self) -> str:
        """Start serving in a daemon thread; returns the endpoint URL."""
        if self._thread is not None:
            return self.url
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._last_wall = time.monotonic()
        self._thread = threading.Thread(target=self._run, args=(listener,), name="kinesislab-endpoint", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._failure is not None:
            raise RuntimeError("the endpoint could not start") from self._failure
        return self.url

    def _run(self, listener: socket.socket) -> None:
        try:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            # Requests are the learner's business; keep Tornado's access log out of notebooks.
            application = tornado.web.Application([(r"/.*", WireHandler, {"endpoint": self})],
                                                  log_function=lambda handler: None)
            self._server = tornado.httpserver.HTTPServer(application, max_body_size=MAX_BODY_BYTES * 2,
                                                         max_buffer_size=MAX_BODY_BYTES * 2)
            self._server.add_sockets([listener])
        except BaseException as error:  # reported to start(), which raises
            self._failure = error
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def stop(self) -> None:
        """Stop serving (open subscriptions end)."""
        if self._loop is None:
            return
        loop = self._loop

        def shutdown() -> None:
            if self._server is not None:
                self._server.stop()
            loop.stop()

        loop.call_soon_threadsafe(shutdown)
        if self._thread is not None:
            self._thread.join(5)
        self._thread = None
        self._loop = None


def serve(sim: "Simulator", host: str = "127.0.0.1", port: int = 0, speed: float = 1.0) -> Endpoint:
    """Start an endpoint for ``sim`` on ``host:port`` (port 0: a free one)."""
    endpoint = Endpoint(sim, host, port, speed)
    endpoint.start()
    return endpoint


class WireHandler(tornado.web.RequestHandler):
    """POST / with ``X-Amz-Target: <Prefix>.<Operation>`` and a JSON body, as botocore sends."""

    def initialize(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    def check_xsrf_cookie(self) -> None:  # an API endpoint, not a form
        return

    def _error(self, status: int, code: str, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/x-amz-json-1.1")
        self.set_header("x-amzn-ErrorType", code)
        self.finish(json.dumps({"__type": code, "message": message}))

    def get(self) -> None:
        self._error(400, "UnknownOperationException", "Send POST requests with an X-Amz-Target header.")

    def write_error(self, status_code: int, **kwargs) -> None:
        # Whatever Tornado itself refuses (405 for other methods) or an engine bug (500) still
        # answers in the service's error format, so botocore raises a ClientError, not a parse error.
        code = "InternalFailure" if status_code >= 500 else "UnknownOperationException"
        self._error(status_code, code, self._reason)

    async def post(self) -> None:
        body = self.request.body
        if len(body) > MAX_BODY_BYTES:
            self._error(413, "RequestEntityTooLarge", f"Request body of {len(body)} bytes exceeds {MAX_BODY_BYTES} bytes.")
            return
        target = self.request.headers.get("X-Amz-Target", "")
        prefix, _, operation_name = target.partition(".")
        service_name = TARGETS.get(prefix)
        model = service_model(service_name) if service_name else None
        if model is None or operation_name not in model.operation_names:
            self._error(400, "UnknownOperationException", f"Unknown operation {target!r}.")
            return
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise WireError("The request body must be a JSON object.")
            operation = model.operation_model(operation_name)
            params = from_wire(payload, operation.input_shape) if operation.input_shape else payload
        except (ValueError, WireError, RecursionError) as error:   # RecursionError: absurdly nested JSON
            self._error(400, "SerializationException", str(error) or "Malformed request body.")
            return
        client = self.endpoint.sim.client(service_name)
        method_name = snake_case(operation_name)
        if not hasattr(client, method_name):
            self._error(400, "UnknownOperationException", f"{operation_name} is not simulated by kinesislab.")
            return
        try:
            with self.endpoint.lock:
                self.endpoint.sync_clock()
                response = getattr(client, method_name)(**params)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            self._error(http_status(service_name, code), code, error.response["Error"].get("Message", ""))
            return
        except ParamValidationError as error:
            self._error(400, "ValidationException", str(error))
            return
        except TypeError as error:  # e.g. an unknown top-level member
            self._error(400, "SerializationException", str(error))
            return
        if operation_name == "SubscribeToShard":
            await self._stream_events(response["EventStream"], operation)
            return
        self.set_header("Content-Type", "application/x-amz-json-1.1")
        self.set_header("x-amzn-RequestId", response.get("ResponseMetadata", {}).get("RequestId", ""))
        # Operations without an output shape (CreateStream, ...) answer an empty object.
        output = to_wire(response, operation.output_shape) if operation.output_shape else {}
        self.finish(json.dumps(output))

    async def _stream_events(self, events, operation) -> None:
        shape = operation.output_shape.members["EventStream"].members["SubscribeToShardEvent"]
        self.set_header("Content-Type", "application/vnd.amazon.eventstream")
        self.write(event_message("initial-response", b"{}"))
        await self.flush()
        endpoint = self.endpoint
        try:
            while True:
                with endpoint.lock:
                    endpoint.sync_clock()
                    event = events.poll()
                if event is None:
                    break
                payload = json.dumps(to_wire(event["SubscribeToShardEvent"], shape)).encode()
                self.write(event_message("SubscribeToShardEvent", payload))
                await self.flush()
                if "ChildShards" in event["SubscribeToShardEvent"]:
                    break
                await asyncio.sleep(EVENT_INTERVAL_SECONDS / endpoint.speed if endpoint.speed else 0.05)
        except tornado.iostream.StreamClosedError:
            events.close()
            return
        self.finish()

