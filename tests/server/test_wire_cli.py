"""``kinesislab serve``: the CLI starts an endpoint in its own process; boto3 talks to it; Ctrl-C
(SIGINT) stops it cleanly."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from .conftest import boto_kinesis

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_kinesislab_serve_answers_boto3_and_stops_on_ctrl_c():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from kinesislab.cli import main; sys.exit(main())",
         "serve", "--port", str(port), "--speed", "10", "--seed", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()          # printed once the endpoint listens
        assert f"http://127.0.0.1:{port}" in banner, (banner, process.stderr.read() if process.poll() else "")
        kinesis = boto_kinesis(f"http://127.0.0.1:{port}")
        kinesis.create_stream(StreamName="cli", ShardCount=2)
        kinesis.get_waiter("stream_exists").wait(StreamName="cli", WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
        shards = kinesis.list_shards(StreamName="cli")["Shards"]
        assert [s["ShardId"] for s in shards] == ["shardId-000000000000", "shardId-000000000001"]
        assert kinesis.put_record(StreamName="cli", Data=b"hi", PartitionKey="k")["ShardId"].startswith("shardId-")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            # Generous: with the 2 cores busy (load 4-9) stopping took more than 15 s in 2 of 3 runs.
            code = process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
            raise
        process.stdout.close()
        process.stderr.close()
    assert code == 0
    # Nothing listens there any more.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
