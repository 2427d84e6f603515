"""Versioned event contracts, one module per event family."""

from tc_common.events.base import Event
from tc_common.events.deadletter import MessageDeadLettered
from tc_common.events.provisioning import ProvisioningAcknowledged, ProvisioningRequested
from tc_common.events.soc import StateOfChargeChanged
from tc_common.events.telemetry import TelemetrySampled

__all__ = [
    "Event",
    "MessageDeadLettered",
    "ProvisioningAcknowledged",
    "ProvisioningRequested",
    "StateOfChargeChanged",
    "TelemetrySampled",
]
