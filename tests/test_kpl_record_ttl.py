"""The KPL's RecordTtl counts from when the application added a record, retries or not."""

from kinesislab.scenario import Constant, FixedSize, KplSettings, Producer, RandomKeys, Scenario, StreamSpec, run


def test_kpl_expires_user_records_30_seconds_after_they_were_added_even_when_retried():
    # 5,000 user records/s of 1,000 bytes: about 5 MB/s for a 1 MiB/s shard. The KPL keeps
    # offering 150 % of the limit, so some of its sends are throttled every second and go back to
    # the buffer; they must keep their age, or the oldest records would never expire.
    r = run(Scenario(stream=StreamSpec(shards=1),
                     producers=[Producer(traffic=Constant(5000), record_size=FixedSize(1000), keys=RandomKeys(),
                                         kpl=KplSettings())],
                     duration=60), progress=False)
    s = r.stream
    assert s["ThrottledRecords"].iloc[5:].min() > 0          # retries happen every second
    assert s["ExpiredRecords"].iloc[:30].sum() == 0           # nothing is older than 30 s yet
    assert s["ExpiredRecords"].iloc[40:].min() > 0            # then the backlog ages out
    # Steady state: what does not fit in 1 MiB/s expires, so the buffer stops growing.
    assert s["BufferedRecords"].iloc[-1] <= 31 * 5000
    totals = r.summary()
    assert totals["offered"] == totals["accepted"] + totals["dropped"] + totals["buffered_at_end"]
