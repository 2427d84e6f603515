"""I/O implementations of the provisioner's ports."""

from tc_provisioner.adapters.postgres import FAILURES, PostgresProvisioningDecisions

__all__ = ["FAILURES", "PostgresProvisioningDecisions"]
