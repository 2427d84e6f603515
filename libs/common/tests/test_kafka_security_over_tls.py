"""The services' Kafka clients over TLS, against a real TLS handshake in front of the local broker.

Tansu, the local broker, serves neither TLS nor working SASL (``kafka-security-notes.md`` in the
shared reference notes): a ``--cert`` broker still speaks plain TCP, and its SCRAM exchange fails.
So a TLS-terminating proxy (``tc_testkit.tls``) stands in front of a Tansu of this module's own,
which advertises the proxy's address: every connection a client opens, bootstrap and after,
is a TLS connection that verifies the proxy's certificate. What this proves: the settings
(``security_protocol``, ``ssl_cafile``, ``ssl_check_hostname``, client certificate) reach every
client (the service broker, ``ensure_topics``' admin, the test kit's), and a broker the client
must not trust is refused.

SASL/SCRAM cannot be tested end to end here. A Tansu that requires authentication takes the
client's SASL handshake and its first SCRAM message, but the exchange never completes (aiokafka
fails on the server's final message, ``KeyError: 'v'``), and users can only be created through
a broker that does not require authentication, which cannot share them: this Tansu build keeps
its data in memory, per process (its PostgreSQL storage is not compiled in). So the
SASL test proves what reaches the wire (TLS, the mechanism, the user, never the password) and
that the password shows in no log; that the broker accepts the right password and refuses a
wrong one is Apache Kafka's part, in ``compose.yaml`` (not run here: no Docker).
"""

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError
from prometheus_client import CollectorRegistry

from tc_common.kafka_security import client_options
from tc_common.messaging import build_broker, ensure_topics
from tc_common.settings import KafkaSettings
from tc_common.topics import DEAD_LETTER_V1
from tc_devstack import LocalKafka, free_port
from tc_testkit.kafka import first
from tc_testkit.tls import Authority, Issued, TcpProxy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(120),
    # FastStream leaves the producer of a broker whose start failed unclosed (it keeps no
    # reference to it): a refused connection is what some of these tests expect.
    pytest.mark.filterwarnings("ignore:Unclosed AIOKafkaProducer:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*AIOKafkaProducer.__del__"
        ":pytest.PytestUnraisableExceptionWarning"
    ),
]


@dataclass(frozen=True)
class Certificates:
    ca: Authority
    server: Issued
    """For 127.0.0.1 and localhost, by ``ca``."""
    foreign: Issued
    """For the same names, by another CA."""
    misnamed: Issued
    """By ``ca``, for broker.invalid only."""
    client: Issued
    """A client certificate by ``ca``."""


@dataclass(frozen=True)
class BehindTls:
    """A Tansu that advertises 127.0.0.1:``proxy_port``, where the tests put a TLS proxy."""

    broker: LocalKafka
    proxy_port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.proxy_port}"

    def proxy(self, server: Issued, *, client_ca: Path | None = None) -> TcpProxy:
        return TcpProxy(
            (self.broker.host, self.broker.port),
            port=self.proxy_port,
            tls=server,
            client_ca=client_ca,
        )


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    directory = tmp_path_factory.mktemp("tls")
    ca = Authority.create(directory, "tc-test-ca")
    other = Authority.create(directory, "other-ca")
    names = {"dns": ("localhost",), "ips": ("127.0.0.1",)}
    return Certificates(
        ca=ca,
        server=ca.issue("broker", **names),
        foreign=other.issue("foreign-broker", **names),
        misnamed=ca.issue("misnamed-broker", dns=("broker.invalid",)),
        client=ca.issue("tc-test-client", client=True),
    )


@pytest.fixture(scope="module")
def behind_tls() -> Iterator[BehindTls]:
    proxy_port = free_port()
    with LocalKafka(advertised_port=proxy_port) as broker:
        yield BehindTls(broker, proxy_port)


@pytest.fixture
async def tls_proxy(behind_tls: BehindTls, certificates: Certificates) -> AsyncIterator[TcpProxy]:
    async with behind_tls.proxy(certificates.server) as proxy:
        yield proxy


def ssl_settings(behind_tls: BehindTls, ca_file: Path, **more: object) -> KafkaSettings:
    return KafkaSettings.model_validate(
        {
            "bootstrap_servers": behind_tls.address,
            "security_protocol": "SSL",
            "ssl_cafile": ca_file,
            **more,
        }
    )


async def start_fails(
    kafka: KafkaSettings,
    error: type[BaseException] | tuple[type[BaseException], ...] = KafkaConnectionError,
) -> None:
    broker = build_broker(kafka, service="tls-test", registry=CollectorRegistry())
    try:
        with pytest.raises(error):
            await broker.start()
    finally:
        await broker.stop()


async def test_a_service_broker_publishes_and_a_client_reads_over_tls(
    behind_tls: BehindTls, certificates: Certificates, tls_proxy: TcpProxy
) -> None:
    kafka = ssl_settings(behind_tls, certificates.ca.ca_file)
    topic = f"test.tls.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    assert await ensure_topics(kafka, [DEAD_LETTER_V1]) == {}

    broker = build_broker(kafka, service="tls-test", registry=CollectorRegistry())
    await broker.start()
    try:
        await broker.publish(b"over tls", topic, key=b"k")
    finally:
        await broker.stop()
    record = await first(kafka, topic, lambda r: r, timeout_s=30)

    assert (record.key, record.value) == (b"k", b"over tls")
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        assert {topic, DEAD_LETTER_V1} <= set(await admin.list_topics())
    finally:
        await admin.close()
    assert tls_proxy.accepted > 0
    # The same address without TLS is no Kafka broker at all: the clients above spoke TLS.
    await start_fails(KafkaSettings(bootstrap_servers=behind_tls.address))


async def test_a_broker_certificate_from_another_ca_is_refused(
    behind_tls: BehindTls, certificates: Certificates, caplog: pytest.LogCaptureFixture
) -> None:
    kafka = ssl_settings(behind_tls, certificates.ca.ca_file)

    async with behind_tls.proxy(certificates.foreign) as proxy:
        with caplog.at_level(logging.ERROR, logger="aiokafka"):
            await start_fails(kafka)
            with pytest.raises(KafkaConnectionError):
                await ensure_topics(kafka, [DEAD_LETTER_V1])

    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    assert proxy.accepted == 0


async def test_a_broker_certificate_for_another_host_is_refused_unless_told_otherwise(
    behind_tls: BehindTls, certificates: Certificates, caplog: pytest.LogCaptureFixture
) -> None:
    checked = ssl_settings(behind_tls, certificates.ca.ca_file)
    unchecked = ssl_settings(behind_tls, certificates.ca.ca_file, ssl_check_hostname=False)

    async with behind_tls.proxy(certificates.misnamed):
        with caplog.at_level(logging.ERROR, logger="aiokafka"):
            await start_fails(checked)
        # Signed by the trusted CA: only the name was wrong.
        assert await ensure_topics(unchecked, [DEAD_LETTER_V1]) == {}

    assert "IP address mismatch" in caplog.text


async def test_a_broker_asking_for_a_client_certificate_gets_the_configured_one(
    behind_tls: BehindTls, certificates: Certificates
) -> None:
    ca = certificates.ca.ca_file
    without = ssl_settings(behind_tls, ca)
    with_certificate = ssl_settings(
        behind_tls,
        ca,
        ssl_certfile=certificates.client.cert_file,
        ssl_keyfile=certificates.client.key_file,
    )

    async with behind_tls.proxy(certificates.server, client_ca=ca):
        assert await ensure_topics(with_certificate, [DEAD_LETTER_V1]) == {}
        await start_fails(without)


def test_tls_settings_whose_files_are_missing_stop_the_service_at_start(tmp_path: Path) -> None:
    kafka = KafkaSettings(
        bootstrap_servers="127.0.0.1:9", security_protocol="SSL", ssl_cafile=tmp_path / "no.pem"
    )
    with pytest.raises(FileNotFoundError):
        build_broker(kafka, service="tls-test", registry=CollectorRegistry())


@pytest.fixture(scope="module")
def authenticating_behind_tls() -> Iterator[BehindTls]:
    proxy_port = free_port()
    with LocalKafka(advertised_port=proxy_port, authentication=True) as broker:
        yield BehindTls(broker, proxy_port)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
async def test_sasl_ssl_clients_start_scram_over_tls_and_never_send_or_log_the_password(
    authenticating_behind_tls: BehindTls,
    certificates: Certificates,
    mechanism: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    kafka = KafkaSettings.model_validate(
        {
            "bootstrap_servers": authenticating_behind_tls.address,
            "security_protocol": "SASL_SSL",
            "ssl_cafile": certificates.ca.ca_file,
            "sasl_mechanism": mechanism,
            "sasl_username": "tc-ingest",
            "sasl_password": password,
        }
    )
    # Tansu's SCRAM never completes (see the module docstring): every start fails.
    refused = (KafkaError, KeyError)

    with caplog.at_level(logging.DEBUG):
        for client in ("broker", "admin"):
            async with authenticating_behind_tls.proxy(certificates.server) as proxy:
                if client == "broker":
                    await start_fails(kafka, refused)
                else:
                    with pytest.raises(refused):
                        await ensure_topics(kafka, [DEAD_LETTER_V1])

            # Decrypted by the proxy: the client spoke TLS, asked for the mechanism and sent
            # SCRAM's client-first message with the user; SCRAM never sends the password.
            assert proxy.accepted > 0, client
            assert mechanism.encode() in proxy.sent, client
            assert b"n=tc-ingest,r=" in proxy.sent, client
            assert password.encode() not in proxy.sent, client

    assert password not in caplog.text
