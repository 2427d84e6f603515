"""The VPN agent's settings: environment variables prefixed ``VPN_AGENT_``."""

import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tc_common.settings import HttpSettings, ServiceSettings


class VpnAgentSettings(ServiceSettings):
    """Read from ``VPN_AGENT_DIRECTORY``, ``VPN_AGENT_MANAGEMENT_SOCKET``, etc."""

    model_config = SettingsConfigDict(
        env_prefix="VPN_AGENT_",
        env_nested_delimiter="__",
        extra="ignore",
        env_ignore_empty=True,
        hide_input_in_errors=True,
    )

    http: HttpSettings = HttpSettings(port=8106)
    directory: Path = Field(
        description="Where the server reads crl.pem and the verify hook's deny list "
        "(revoked-serials.txt): the server configuration's directory."
    )
    management_socket: Path = Field(
        description="The server's management socket (its `management PATH unix` line)."
    )
    agent_id: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        max_length=100,
        description="This agent's consumer group suffix: every server's agent reads every "
        "revocation, so each needs its own group. The host name by default.",
    )
    crl_wait_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="How long a revocation waits for the CRL that lists it before the "
        "device's session is ended (ended earlier, it could reconnect before the CRL is in).",
    )
    management_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="How long a management command may take."
    )
