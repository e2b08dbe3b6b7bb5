"""Fixtures for driving the endpoint with boto3.

* ``boto_kinesis(url)`` -- a real boto3 Kinesis client for a local endpoint, with botocore's retries
  off (one attempt per call), so that a throttle reaches the test as it would reach the caller
  of the in-process client.
* ``served`` -- factory: ``served(seed=0, speed=0, limits=None)`` -> a Simulator already serving;
  every endpoint it started is stopped at teardown. ``speed=0`` freezes the clock so that only
  ``sim.advance`` moves it: the deterministic setting.
* ``shared_endpoint`` -- one session-wide endpoint (speed 50) for tests that only need a live
  server (robustness, CLI-independent smoke checks).
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

import kinesislab

REGION = "us-east-1"


#: One boto3 session for the whole run: it loads (and caches) the service model once, so a new
#: client per test costs milliseconds rather than a second.
_SESSION = boto3.session.Session()


def boto_kinesis(url: str, retries: dict | None = None, **config):
    """A boto3 Kinesis client for ``url``; signatures are not checked, so any credentials do."""
    return _SESSION.client(
        "kinesis", endpoint_url=url, region_name=REGION,
        aws_access_key_id="lab", aws_secret_access_key="lab",
        config=Config(retries=retries or {"mode": "standard", "total_max_attempts": 1},
                      connect_timeout=5, read_timeout=30, **config))


@pytest.fixture
def served():
    started: list[kinesislab.Simulator] = []

    def start(seed: int = 0, speed: float = 0.0, limits=None) -> kinesislab.Simulator:
        sim = kinesislab.Simulator(seed=seed, limits=limits)
        sim.serve(speed=speed)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.endpoint.stop()


@pytest.fixture(scope="session")
def shared_endpoint():
    sim = kinesislab.Simulator(seed=0)
    url = sim.serve(speed=50)
    yield sim, url
    sim.endpoint.stop()
