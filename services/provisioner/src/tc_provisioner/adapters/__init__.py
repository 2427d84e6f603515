"""I/O implementations of the provisioner's ports."""

from tc_provisioner.adapters.postgres import FAILURES, PostgresProvisioningDecisions
from tc_provisioner.adapters.smtp import (
    DeliveryError,
    MailerConfigurationError,
    PermanentDeliveryError,
    SmtpMailer,
    SmtpSettings,
    TransientDeliveryError,
)

__all__ = [
    "FAILURES",
    "DeliveryError",
    "MailerConfigurationError",
    "PermanentDeliveryError",
    "PostgresProvisioningDecisions",
    "SmtpMailer",
    "SmtpSettings",
    "TransientDeliveryError",
]
