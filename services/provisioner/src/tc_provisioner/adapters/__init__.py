"""I/O implementations of the provisioner's ports."""

from tc_provisioner.adapters.kafka_history import KafkaProvisioningHistory
from tc_provisioner.adapters.memory import InMemoryProvisioningStateRepo

__all__ = ["InMemoryProvisioningStateRepo", "KafkaProvisioningHistory"]
