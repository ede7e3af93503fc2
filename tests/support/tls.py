"""A throw-away certificate authority for tests (cryptography): a self-signed CA, server
certificates for 127.0.0.1 and client certificates, written as PEM files.

    ca = TestCA.create(tmp_path)
    server = ca.issue("fake-kube", server=True)     # Issued(cert=..., key=...)
    client = ca.issue("alice", groups=("devs",))    # CN=alice, O=devs (Kubernetes user, groups)

    pki = make_pki(workdir)    # CA + server (127.0.0.1, localhost, SERVER_NAME) + client
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@dataclass(frozen=True)
class TestCA:
    directory: Path
    cert: Path
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    __test__ = False  # not a pytest class

    @staticmethod
    def create(directory: Path, name: str = "meshwatch test CA") -> TestCA:
        directory.mkdir(parents=True, exist_ok=True)
        key = _key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        cert = directory / "ca.crt"
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return TestCA(directory, cert, key, certificate)

    def issue(
        self,
        common_name: str,
        *,
        server: bool = False,
        groups: tuple[str, ...] = (),
        dns_names: tuple[str, ...] = (),
    ) -> Issued:
        """A leaf certificate signed by this CA: for 127.0.0.1/localhost when `server`,
        else a client certificate (CN = user name, O = groups, as Kubernetes reads them)."""
        key = _key()
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        attributes += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
        now = datetime.now(UTC)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if server:
            names: list[x509.GeneralName] = [
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.DNSName("localhost"),
                *(x509.DNSName(name) for name in dns_names),
            ]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        stem = self.directory / common_name.replace(":", "_")
        cert, key_path = stem.with_suffix(".crt"), stem.with_suffix(".key")
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
        return Issued(cert, key_path)


SERVER_NAME = "prometheus.meshwatch.test"  # a name that does not resolve, for server_name tests


@dataclass(frozen=True)
class PKI:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_pki(workdir: Path) -> PKI:
    """A CA, a server certificate (127.0.0.1, localhost, SERVER_NAME) and a client one."""
    ca = TestCA.create(workdir)
    server = ca.issue(SERVER_NAME, server=True, dns_names=(SERVER_NAME,))
    client = ca.issue("meshwatch")
    return PKI(ca.cert, server.cert, server.key, client.cert, client.key)
