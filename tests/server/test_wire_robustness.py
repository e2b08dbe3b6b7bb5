"""Bad requests over raw HTTP: each gets a 4xx with an AWS-style error body
(``{"__type", "message"}``), and the server keeps serving (a valid call afterwards works, and a
stalled or bad request on one connection never holds up another)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest
from botocore.exceptions import ClientError

from kinesislab.api.registry import operations
from kinesislab.server.app import MAX_BODY_BYTES

from .conftest import boto_kinesis

TARGET = "Kinesis_20131202."


def post(port: int, target: str | None, body: bytes, method: str = "POST",
         connection: http.client.HTTPConnection | None = None) -> tuple[int, dict, http.client.HTTPResponse]:
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    conn.request(method, "/", body=body, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    if connection is None:
        conn.close()
    return response.status, json.loads(raw), response


def valid_call_works(port: int) -> None:
    status, body, _ = post(port, TARGET + "ListStreams", b"{}")
    assert status == 200 and "StreamNames" in body


def aws_error(status: int, body: dict, code: str | None = None) -> None:
    assert 400 <= status < 500, (status, body)
    assert set(body) == {"__type", "message"}, body
    assert isinstance(body["__type"], str) and isinstance(body["message"], str) and body["message"]
    if code is not None:
        assert body["__type"] == code, body


@pytest.fixture(scope="module")
def port(shared_endpoint):
    sim, url = shared_endpoint
    kinesis = boto_kinesis(url)
    if "robust" not in kinesis.list_streams()["StreamNames"]:
        kinesis.create_stream(StreamName="robust", ShardCount=1)
        with sim.endpoint.lock:   # the server thread moves the clock too: take turns
            sim.advance(10)
    return sim.endpoint.port


BAD_REQUESTS = {
    "garbage body": (TARGET + "ListStreams", b"\x00\xff\xfe not json at all", "SerializationException"),
    "truncated json": (TARGET + "PutRecord", b'{"StreamName": "robust", "Data": "eA==", "Partit', "SerializationException"),
    "json array body": (TARGET + "ListStreams", b"[1, 2, 3]", "SerializationException"),
    "json string body": (TARGET + "ListStreams", b'"hello"', "SerializationException"),
    "trailing data": (TARGET + "ListStreams", b"{}{}", "SerializationException"),
    "absurd nesting": (TARGET + "ListStreams", b"[" * 100_000 + b"]" * 100_000, "SerializationException"),
    "number for a string": (TARGET + "PutRecord",
                            json.dumps({"StreamName": 5, "Data": "eA==", "PartitionKey": "k"}).encode(),
                            "ValidationException"),
    "string for a number": (TARGET + "GetRecords", json.dumps({"ShardIterator": "x", "Limit": "ten"}).encode(),
                            "ValidationException"),
    "object for a list": (TARGET + "PutRecords", json.dumps({"StreamName": "robust", "Records": {"a": 1}}).encode(),
                          "SerializationException"),
    "number for a blob": (TARGET + "PutRecord",
                          json.dumps({"StreamName": "robust", "Data": 12, "PartitionKey": "k"}).encode(),
                          "SerializationException"),
    "bad base64": (TARGET + "PutRecord",
                   json.dumps({"StreamName": "robust", "Data": "*!*", "PartitionKey": "k"}).encode(),
                   "SerializationException"),
    "timestamp out of range": (TARGET + "GetShardIterator",
                               json.dumps({"StreamName": "robust", "ShardId": "shardId-000000000000",
                                           "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1e300}).encode(),
                               "SerializationException"),
    "missing required member": (TARGET + "PutRecord", json.dumps({"StreamName": "robust"}).encode(),
                                "ValidationException"),
    "unknown member": (TARGET + "ListStreams", json.dumps({"Bogus": 1}).encode(), "ValidationException"),
    "unknown target": (TARGET + "LaunchRockets", b"{}", "UnknownOperationException"),
    "python name as target": (TARGET + "put_record", b"{}", "UnknownOperationException"),
    "wrong service prefix": ("DynamoDB_20120810.ListTables", b"{}", "UnknownOperationException"),
    "missing target": (None, b"{}", "UnknownOperationException"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_request_gets_a_4xx_aws_error_and_the_server_keeps_serving(port, case):
    target, body, code = BAD_REQUESTS[case]
    status, answer, response = post(port, target, body)
    aws_error(status, answer, code)
    assert response.getheader("x-amzn-ErrorType") == code
    valid_call_works(port)


def test_other_http_methods_get_an_aws_error(port):
    for method in ("GET", "PUT", "DELETE"):
        status, answer, _ = post(port, TARGET + "ListStreams", b"{}", method=method)
        aws_error(status, answer)
    valid_call_works(port)


def test_oversized_body_is_refused_with_413_and_the_connection_still_works(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = b'{"StreamName": "' + b"x" * (MAX_BODY_BYTES + 1024) + b'"}'
    status, answer, _ = post(port, TARGET + "DescribeStream", body, connection=conn)
    assert status == 413
    aws_error(status, answer, "RequestEntityTooLarge")
    # Same keep-alive connection, next request: answered normally.
    status, answer, _ = post(port, TARGET + "ListStreams", b"{}", connection=conn)
    assert status == 200
    conn.close()


def test_a_member_named_like_a_python_parameter_cannot_redirect_the_call(port, shared_endpoint):
    """Bug fixed: ``{"_name": "DeleteStream"}`` sent to DescribeStreamSummary used to reach the
    client method's ``_name`` keyword and delete the stream; ``"self"`` leaked a TypeError."""
    sim, _ = shared_endpoint
    for member in ("_name", "self"):
        body = json.dumps({"StreamName": "robust", member: "DeleteStream"}).encode()
        status, answer, _ = post(port, TARGET + "DescribeStreamSummary", body)
        aws_error(status, answer, "ValidationException")
        assert member in answer["message"]
    assert sim.streams["robust"].status == "ACTIVE"
    # The in-process client is protected the same way.
    with pytest.raises(Exception) as excinfo, sim.endpoint.lock:
        sim.client("kinesis").describe_stream_summary(StreamName="robust", _name="DeleteStream")
    assert "_name" in str(excinfo.value)
    assert sim.streams["robust"].status == "ACTIVE"


def test_operations_without_output_answer_an_empty_object(port):
    """Bug fixed: CreateStream's body used to carry the in-process ResponseMetadata."""
    body = json.dumps({"StreamName": "robust", "Tags": {"k": "v"}}).encode()
    status, answer, _ = post(port, TARGET + "AddTagsToStream", body)
    assert status == 200 and answer == {}


def test_an_engine_failure_is_a_500_internal_failure_and_the_server_keeps_serving(served, monkeypatch):
    sim = served(speed=0)

    def broken(client, params):
        raise RuntimeError("simulated engine bug")

    monkeypatch.setitem(operations("kinesis"), "DescribeLimits", broken)
    kinesis = boto_kinesis(sim.endpoint.url)
    with pytest.raises(ClientError) as excinfo:
        kinesis.describe_limits()
    assert excinfo.value.response["Error"]["Code"] == "InternalFailure"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert kinesis.list_streams()["StreamNames"] == []


def test_a_stalled_request_does_not_hold_up_other_connections(port):
    """A client that sends half a request and stops: the others are served meanwhile."""
    stalled = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        stalled.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: " + TARGET.encode() + b"ListStreams\r\n"
                        b"Content-Length: 1000\r\n\r\n{\"Stream")
        started = time.monotonic()
        results = []

        def call() -> None:
            status, body, _ = post(port, TARGET + "ListStreams", b"{}")
            results.append(status)

        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert results == [200] * 4
        assert time.monotonic() - started < 20
    finally:
        stalled.close()
    valid_call_works(port)
