"""How every Kafka client of the project connects: TLS and SASL/SCRAM from ``KafkaSettings``.

``client_options`` is the one place the settings become aiokafka's connection arguments; the
services' broker (``broker_security``, for FastStream), ``ensure_topics``' admin client and the
test kit's clients all take theirs from it.
"""

import ssl
from typing import Any

from faststream.security import BaseSecurity, SASLScram256, SASLScram512

from tc_common.logging import register_secret
from tc_common.settings import KafkaSettings


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    """The TLS context of SSL and SASL_SSL: the broker's certificate is verified against
    ``ssl_cafile`` (or the system's trust store) and, unless told otherwise, must name the host
    connected to; TLS 1.2 at least; the client's own certificate for mutual TLS, if given.
    A missing or unreadable file fails here, when the service starts."""
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH,
        cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile is not None else None,
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = kafka.ssl_check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    if kafka.ssl_certfile is not None:
        context.load_cert_chain(
            kafka.ssl_certfile, kafka.ssl_keyfile if kafka.ssl_keyfile is not None else None
        )
    return context


def client_options(kafka: KafkaSettings) -> dict[str, Any]:
    """The keyword arguments that connect an aiokafka client (producer, consumer, admin) as the
    settings say: bootstrap servers, security protocol, TLS context, SASL mechanism and user.

    The SASL password is registered with the redacting log filter, so that no log line of the
    process carries it."""
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.uses_tls:
        options["ssl_context"] = ssl_context(kafka)
    if kafka.uses_sasl:
        assert kafka.sasl_password is not None  # KafkaSettings refuses SASL without one
        password = kafka.sasl_password.get_secret_value()
        register_secret(password)
        options |= {
            "sasl_mechanism": kafka.sasl_mechanism,
            "sasl_plain_username": kafka.sasl_username,
            "sasl_plain_password": password,
        }
    return options


def broker_security(kafka: KafkaSettings) -> BaseSecurity | None:
    """``client_options`` as FastStream's ``security`` (which it turns back into the same
    aiokafka arguments, and into the AsyncAPI document's server security)."""
    options = client_options(kafka)
    context = options.get("ssl_context")
    if not kafka.uses_sasl:
        return BaseSecurity(ssl_context=context) if kafka.uses_tls else None
    scram = SASLScram512 if options["sasl_mechanism"] == "SCRAM-SHA-512" else SASLScram256
    return scram(
        options["sasl_plain_username"],
        options["sasl_plain_password"],
        ssl_context=context,
        use_ssl=kafka.uses_tls,
    )
