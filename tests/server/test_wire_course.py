"""A slice of the course's record-level tests, re-run through real boto3 against the endpoint.

The test functions are imported from tests/test_client_*.py unchanged; this module overrides
their ``sim``, ``kinesis`` and ``lab`` fixtures so that every call they make goes over HTTP:
``kinesis`` (and ``lab.k``) is ``boto3.client("kinesis", endpoint_url=sim.serve(speed=0))``
with botocore's retries off, while ``sim.advance`` still moves the (frozen) clock. Same
assertions, same numbers: the wire changes nothing. The slice covers write throttling, read
limits, iterator expiry, resharding and enhanced fan-out.
"""

from __future__ import annotations

import pytest

from conftest import Lab
from test_client_consumers import (  # noqa: F401  (collected here with the fixtures below)
    test_closed_shard_subscription_ends_with_child_shards,
    test_register_describe_list_deregister,
    test_subscribe_needs_an_active_consumer_and_an_existing_shard,
    test_subscribe_starting_positions,
)
from test_client_records import (  # noqa: F401
    test_10_mib_read_then_exactly_5_seconds_of_throttling,
    test_1500_records_in_one_second_on_one_key,
    test_five_get_records_calls_per_second_per_shard,
    test_iterator_expires_after_300_seconds_with_the_service_message,
    test_millis_behind_latest,
    test_one_mib_per_second_byte_limit,
    test_put_record_over_the_limit_raises_and_next_second_refills,
    test_put_records_fails_exactly_the_excess_entries_in_order,
    test_the_five_iterator_types,
    test_two_mib_per_second_shared_by_all_polling_readers,
)
from test_client_resharding import (  # noqa: F401
    test_drained_parent_ends_with_no_next_iterator_and_child_shards,
    test_merged_child_lists_both_parents,
    test_per_key_order_across_a_split_for_a_parent_first_reader,
    test_split_closes_the_parent_and_opens_two_children,
    test_update_shard_count_doubles_halves_and_evens_out,
)

from .conftest import boto_kinesis


@pytest.fixture
def sim(served):
    return served(seed=0, speed=0)


@pytest.fixture
def kinesis(sim):
    return boto_kinesis(sim.endpoint.url)


@pytest.fixture
def lab(sim, kinesis):
    wired = Lab(sim)
    wired.k = kinesis
    return wired
