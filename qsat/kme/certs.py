"""Test certificates for the key manager: a local CA, the KME's server certificate and one
client certificate per SAE (its common name is the SAE ID), with the ``cryptography`` package.

For testing on one machine only: the CA's private key is written next to the
certificates, unencrypted. Keys are ECDSA P-256; certificates are valid for
``days`` days from now. The server certificate names ``localhost``, 127.0.0.1 and
::1 (and any ``hosts`` given) so clients that check the host name accept it.

Files in ``out_dir``: ``ca.pem`` (+ ``ca.key``), ``kme.pem`` + ``kme.key``, and
``<sae_id>.pem`` + ``<sae_id>.key`` for each SAE.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "qsat test KME"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: Path, key, cert) -> None:
    from cryptography.hazmat.primitives import serialization

    path.with_suffix(".key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    path.with_suffix(".key").chmod(0o600)
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _issue(subject: str, ca_key, ca_name, *, days: int, server_hosts=None, client: bool = False):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(ca_name or _name(subject))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days)))
    if ca_key is None:  # the CA itself
        builder = (builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
        return key, builder.sign(key, hashes.SHA256())
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                    critical=False)
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server_hosts:
        names = []
        for host in server_hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def make_certificates(out_dir, sae_ids, *, hosts=DEFAULT_HOSTS, days: int = 30, ca_name: str = "qsat test CA") -> dict:
    """Write a CA, the KME's certificate and one client certificate per SAE; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _issue(ca_name, None, None, days=days)
    _write(out / "ca.pem", ca_key, ca_cert)
    key, cert = _issue("qsat-kme", ca_key, ca_cert.subject, days=days, server_hosts=list(hosts))
    _write(out / "kme.pem", key, cert)
    paths = {"ca": out / "ca.pem", "kme": (out / "kme.pem", out / "kme.key"), "saes": {}}
    for sae in sae_ids:
        key, cert = _issue(sae, ca_key, ca_cert.subject, days=days, client=True)
        _write(out / f"{sae}.pem", key, cert)
        paths["saes"][sae] = (out / f"{sae}.pem", out / f"{sae}.key")
    return paths
