"""A throwaway certificate authority for TLS tests, made with the `openssl` command.

    pki = make_pki(workdir)            # CA, a server certificate, a client certificate
    pki.ca_cert, pki.server_cert, pki.server_key, pki.client_cert, pki.client_key

The server certificate names `127.0.0.1`, `localhost` and SERVER_NAME (a name that does
not resolve, for `server_name` tests). Keys are P-256; certificates carry the extensions
strict verifiers want (basicConstraints, key identifiers, extended key usage).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.binaries import require_binary

SERVER_NAME = "prometheus.meshwatch.test"


@dataclass(frozen=True)
class PKI:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str) -> None:
    openssl = require_binary("openssl", "/usr/bin/openssl")
    result = subprocess.run([openssl, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr}")


def _issue(workdir: Path, name: str, subject: str, extensions: str) -> tuple[Path, Path]:
    key, csr, cert = (workdir / f"{name}.{ext}" for ext in ("key", "csr", "crt"))
    ext_file = workdir / f"{name}.ext"
    ext_file.write_text(extensions)
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", subject,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(workdir / "ca.crt"),
        "-CAkey", str(workdir / "ca.key"), "-CAcreateserial", "-days", "2",
        "-out", str(cert), "-extfile", str(ext_file),
    )  # fmt: skip
    return cert, key


def make_pki(workdir: Path) -> PKI:
    """A CA and a server and a client certificate signed by it, under `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(workdir / "ca.key"), "-out", str(workdir / "ca.crt"),
        "-days", "2", "-subj", "/CN=meshwatch test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
    )  # fmt: skip
    common = "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
    server_cert, server_key = _issue(
        workdir,
        "server",
        f"/CN={SERVER_NAME}",
        common + "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        f"subjectAltName=DNS:{SERVER_NAME},DNS:localhost,IP:127.0.0.1\n",
    )
    client_cert, client_key = _issue(
        workdir,
        "client",
        "/CN=meshwatch",
        common + "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=clientAuth\n",
    )
    return PKI(workdir / "ca.crt", server_cert, server_key, client_cert, client_key)
