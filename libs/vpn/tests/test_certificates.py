"""The CA, server and device certificates carry what OpenVPN's checks need, and nothing reads a
clock: validity follows the ``now`` passed in."""

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tc_vpn import pki

from .support import ACCOUNT_ID, NOW, SERVER_NAME, device


def _cert(issued: pki.Issued) -> x509.Certificate:
    return x509.load_pem_x509_certificate(issued.cert_pem)


def _ext(
    cert: x509.Certificate, kind: type[x509.ExtensionType]
) -> x509.Extension[x509.ExtensionType]:
    return cert.extensions.get_extension_for_class(kind)


class TestCertificateAuthority:
    def test_ca_is_a_critical_ca_that_signs_certificates_and_crls_only(
        self, ca: pki.Issued
    ) -> None:
        cert = _cert(ca)
        constraints = _ext(cert, x509.BasicConstraints)
        assert constraints.critical
        assert constraints.value == x509.BasicConstraints(ca=True, path_length=0)
        usage = _ext(cert, x509.KeyUsage).value
        assert isinstance(usage, x509.KeyUsage)
        assert usage.key_cert_sign
        assert usage.crl_sign
        assert not usage.digital_signature
        assert cert.issuer == cert.subject

    def test_default_key_is_ec_p256(self, ca: pki.Issued) -> None:
        key = pki.load_private_key(ca.key_pem)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert key.curve.name == "secp256r1"

    def test_naive_time_is_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            pki.create_ca("ca", NOW.replace(tzinfo=None))


class TestServerCertificate:
    def test_server_certificate_is_for_server_auth_with_its_name_in_cn_and_san(
        self, server: pki.Issued
    ) -> None:
        cert = _cert(server)
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == SERVER_NAME
        san = _ext(cert, x509.SubjectAlternativeName).value
        assert isinstance(san, x509.SubjectAlternativeName)
        assert san.get_values_for_type(x509.DNSName) == [SERVER_NAME]
        assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]  # type: ignore[call-overload]
        usage = _ext(cert, x509.KeyUsage).value
        assert isinstance(usage, x509.KeyUsage)
        assert usage.digital_signature
        assert usage.key_agreement
        assert not usage.key_cert_sign

    @pytest.mark.parametrize("name", ["vpn example", "vpn\nexample", "-vpn", ""])
    def test_server_name_that_is_not_a_dns_name_is_refused(self, ca: pki.Issued, name: str) -> None:
        with pytest.raises(ValueError, match="DNS name"):
            pki.issue_server_certificate(ca, name, NOW)


class TestDeviceCertificate:
    def test_device_certificate_is_for_client_auth_only_with_the_device_in_the_cn(
        self, ca: pki.Issued
    ) -> None:
        issued = device(ca)
        cert = _cert(issued)
        assert issued.common_name == f"{ACCOUNT_ID}.kitchen-tablet"
        assert (
            cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == issued.common_name
        )
        assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]  # type: ignore[call-overload]
        usage = _ext(cert, x509.KeyUsage).value
        assert isinstance(usage, x509.KeyUsage)
        assert usage.digital_signature
        assert not usage.key_cert_sign
        assert not usage.crl_sign
        assert not usage.key_agreement
        assert _ext(cert, x509.BasicConstraints).value == x509.BasicConstraints(
            ca=False, path_length=None
        )

    def test_device_is_signed_by_the_ca_and_not_by_another(self, ca: pki.Issued) -> None:
        _cert(device(ca)).verify_directly_issued_by(_cert(ca))
        # Same CA name, another key: only the signature tells them apart.
        other = pki.create_ca("teslaconnectivity VPN CA", NOW)
        with pytest.raises(InvalidSignature):
            _cert(device(other)).verify_directly_issued_by(_cert(ca))

    def test_serials_are_random_positive_and_fit_in_128_bits(self, ca: pki.Issued) -> None:
        serials = [device(ca).serial for _ in range(16)]
        assert len(set(serials)) == 16
        assert all(0 < s < 2**128 for s in serials)
        # 16 draws all below 2**120 would happen once in 2**128 runs: the serials are not short.
        assert max(serials) >= 2**120

    def test_validity_starts_a_little_before_now_and_lasts_the_lifetime_given(
        self, ca: pki.Issued
    ) -> None:
        issued = pki.issue_device_certificate(ca, "a.b", NOW, lifetime=timedelta(days=90))
        # Backdated for a device whose clock lags a little: valid at once there too.
        assert issued.not_before == NOW - pki.CLOCK_SKEW_ALLOWANCE
        assert issued.not_after == NOW + timedelta(days=90)
        assert _cert(issued).not_valid_after_utc == issued.not_after

    def test_validity_never_outlasts_the_ca(self, ca: pki.Issued) -> None:
        issued = pki.issue_device_certificate(ca, "a.b", NOW, lifetime=timedelta(days=100_000))
        assert issued.not_after == _cert(ca).not_valid_after_utc

    def test_private_key_is_unencrypted_pkcs8_that_loads_back_and_matches(
        self, ca: pki.Issued
    ) -> None:
        issued = device(ca)
        assert issued.key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
        key = pki.load_private_key(issued.key_pem)
        assert key.public_key() == _cert(issued).public_key()
        assert "key_pem" not in repr(issued)

    @pytest.mark.parametrize(
        ("key_type", "key_class"),
        [("ed25519", ed25519.Ed25519PrivateKey), ("rsa", rsa.RSAPrivateKey)],
    )
    def test_other_key_types_issue_chains_that_verify(
        self, key_type: pki.KeyType, key_class: type
    ) -> None:
        ca = pki.create_ca("ca", NOW, key_type=key_type)
        issued = pki.issue_device_certificate(ca, "a.b", NOW, key_type=key_type)
        assert isinstance(pki.load_private_key(issued.key_pem), key_class)
        _cert(issued).verify_directly_issued_by(_cert(ca))


class TestDeviceCommonName:
    def test_device_name_is_folded_into_a_slug_after_the_account(self) -> None:
        assert pki.device_common_name(ACCOUNT_ID, "  Kitchen Tablet (2)! ") == (
            f"{ACCOUNT_ID}.kitchen-tablet-2"
        )

    def test_long_device_name_is_cut_to_fit_64_characters(self) -> None:
        cn = pki.device_common_name(ACCOUNT_ID, "x" * 100)
        assert len(cn) == 64
        assert cn.startswith(f"{ACCOUNT_ID}.xxx")

    @pytest.mark.parametrize(
        ("account", "name"),
        [
            ("acct/1", "phone"),
            ("acct;serial=1", "phone"),
            ("acct\n", "phone"),
            (ACCOUNT_ID, "!!!"),
            ("a" * 64, "phone"),
        ],
        ids=["slash-in-account", "metadata-syntax", "newline", "no-letters", "no-room"],
    )
    def test_unsafe_or_empty_names_are_refused(self, account: str, name: str) -> None:
        with pytest.raises(ValueError, match=r"letters|letter or digit|no room"):
            pki.device_common_name(account, name)


class TestCrl:
    def test_crl_lists_revoked_serials_with_date_and_reason(self, ca: pki.Issued) -> None:
        revoked, kept = device(ca, "old phone"), device(ca, "new phone")
        entry = pki.RevokedCertificate(revoked.serial, NOW, x509.ReasonFlags.key_compromise)
        crl = pki.create_crl(ca, [entry], NOW)
        loaded = x509.load_pem_x509_crl(crl.crl_pem)
        assert loaded.is_signature_valid(_cert(ca).public_key())  # type: ignore[arg-type]
        listed = loaded.get_revoked_certificate_by_serial_number(revoked.serial)
        assert listed is not None
        assert listed.revocation_date_utc == NOW
        assert listed.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
            x509.ReasonFlags.key_compromise
        )
        assert loaded.get_revoked_certificate_by_serial_number(kept.serial) is None
        assert crl.revoked_serials == {revoked.serial}

    def test_crl_is_valid_from_5_minutes_before_now_for_30_days_by_default(
        self, ca: pki.Issued
    ) -> None:
        crl = x509.load_pem_x509_crl(pki.create_crl(ca, [], NOW).crl_pem)
        assert crl.last_update_utc == NOW - timedelta(minutes=5)
        assert crl.next_update_utc == NOW + timedelta(days=30)
        assert crl.issuer == _cert(ca).subject

    def test_crl_lifetime_is_configurable(self, ca: pki.Issued) -> None:
        crl = pki.create_crl(ca, [], NOW, lifetime=timedelta(days=2))
        assert crl.next_update == NOW + timedelta(days=2)


class TestOpensslAgrees:
    """OpenVPN checks certificates with OpenSSL: so does this, with the CRL."""

    def _verify(self, tmp_path: Path, ca: pki.Issued, crl: pki.Crl, cert: pki.Issued) -> str:
        directory = tmp_path
        (directory / "ca.pem").write_bytes(ca.cert_pem)
        (directory / "crl.pem").write_bytes(crl.crl_pem)
        (directory / "cert.pem").write_bytes(cert.cert_pem)
        done = subprocess.run(
            [
                "openssl", "verify", "-crl_check", "-purpose", "sslclient",
                "-attime", str(int(NOW.timestamp())),
                "-CAfile", str(directory / "ca.pem"),
                "-CRLfile", str(directory / "crl.pem"),
                str(directory / "cert.pem"),
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return done.stdout + done.stderr

    def test_device_verifies_against_the_ca_and_an_empty_crl(
        self, tmp_path: Path, ca: pki.Issued
    ) -> None:
        output = self._verify(tmp_path, ca, pki.create_crl(ca, [], NOW), device(ca))
        assert output.strip().endswith(": OK"), output

    def test_device_of_another_ca_fails(self, tmp_path: Path, ca: pki.Issued) -> None:
        other = device(pki.create_ca("another CA", NOW))
        output = self._verify(tmp_path, ca, pki.create_crl(ca, [], NOW), other)
        assert "unable to get local issuer certificate" in output

    def test_expired_crl_fails_every_device(self, tmp_path: Path, ca: pki.Issued) -> None:
        crl = pki.create_crl(ca, [], NOW - timedelta(days=31))
        assert "CRL has expired" in self._verify(tmp_path, ca, crl, device(ca))

    def test_revoked_device_fails_the_crl_check(self, tmp_path: Path, ca: pki.Issued) -> None:
        issued = device(ca)
        crl = pki.create_crl(ca, [pki.RevokedCertificate(issued.serial, NOW)], NOW)
        assert "certificate revoked" in self._verify(tmp_path, ca, crl, issued)
