"""The shard engine: streams, shards, hash keys, throughput budgets and capacity, in virtual time.

Both the record-level client (``kinesislab.api``) and the count-level scenario runner
(``kinesislab.scenario``) drive these same objects, so there is one set of rules.
"""
