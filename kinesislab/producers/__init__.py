"""Producer-side building blocks: the KPL's aggregated record format and its shard mapping."""
