"""Key storage: private keys only as encrypted PKCS#8 under a key-encryption key (KEK).

The KEK comes from the environment (`EGOV_PKI_KEK`, at least 32 characters). In the embedded
default (development settings, no KEK set) one is generated once into `var/pki-kek` (mode
0600) and the log says so; with `EGOV_PKI_REQUIRE_KEK` (production) a missing KEK is an error.
`KeyStore` is the interface; `DatabaseKeyStore` is the implementation here, and a PKCS#11/HSM
store can implement the same three methods later.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
MIN_KEK_LENGTH = 32
_kek_lock = threading.Lock()
_cache_lock = threading.Lock()


class KeyStore(Protocol):
    """Where private keys live. `key_ref` is an opaque string the caller keeps."""

    def store(self, private_key: PrivateKey) -> str: ...

    def load(self, key_ref: str) -> PrivateKey: ...

    def delete(self, key_ref: str) -> None: ...


def kek_file_path() -> Path:
    return Path(getattr(settings, "EGOV_PKI_KEK_FILE", "") or settings.VAR_DIR / "pki-kek")


def load_kek() -> bytes:
    """The key-encryption key as bytes; generates the development one on first use."""
    value = os.environ.get("EGOV_PKI_KEK") or getattr(settings, "EGOV_PKI_KEK", "")
    if value:
        if len(value) < MIN_KEK_LENGTH:
            raise ImproperlyConfigured(
                f"EGOV_PKI_KEK must be at least {MIN_KEK_LENGTH} characters of random text."
            )
        return value.encode()
    if getattr(settings, "EGOV_PKI_REQUIRE_KEK", False):
        raise ImproperlyConfigured(
            "Set EGOV_PKI_KEK (the key-encryption key for the CA's private keys), e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'."
        )
    path = kek_file_path()
    with _kek_lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            logger.warning(
                "pki: no EGOV_PKI_KEK set; generated a development key-encryption key in %s "
                "(mode 0600). Set EGOV_PKI_KEK in production.",
                path,
            )
        value = path.read_text().strip()
    if len(value) < MIN_KEK_LENGTH:
        raise ImproperlyConfigured(f"{path} holds a key-encryption key that is too short.")
    return value.encode()


def key_algorithm(key: PrivateKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"ec-{key.curve.name}"
    return f"rsa-{key.key_size}"


def public_key_digests(key: PrivateKey) -> tuple[str, str]:
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SM3())
    digest.update(spki)
    return hashlib.sha256(spki).hexdigest(), digest.finalize().hex()


class DatabaseKeyStore:
    """Encrypted PKCS#8 (PBES2, AES-256-CBC) in `pki.StoredKey` rows.

    Loaded keys are kept in this process's memory (never written anywhere in clear) so that
    signing does not decrypt the key every time.
    """

    def __init__(self) -> None:
        self._cache: dict[str, PrivateKey] = {}

    def store(self, private_key: PrivateKey) -> str:
        from egov.pki.models import StoredKey

        sha256, sm3 = public_key_digests(private_key)
        blob = private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(load_kek()),
        )
        row = StoredKey.objects.create(
            algorithm=key_algorithm(private_key),
            encrypted_pkcs8=blob,
            public_key_sha256=sha256,
            public_key_sm3=sm3,
        )
        return str(row.key_ref)

    def load(self, key_ref: str) -> PrivateKey:
        from egov.pki.models import StoredKey

        cached = self._cache.get(key_ref)
        if cached is not None:
            return cached
        row = StoredKey.objects.filter(key_ref=key_ref).first()
        if row is None:
            raise KeyError(f"no stored key {key_ref}")
        key = serialization.load_der_private_key(bytes(row.encrypted_pkcs8), load_kek())
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise TypeError("unsupported stored key type")
        with _cache_lock:
            self._cache[key_ref] = key
        return key

    def delete(self, key_ref: str) -> None:
        from egov.pki.models import StoredKey

        with _cache_lock:
            self._cache.pop(key_ref, None)
        StoredKey.objects.filter(key_ref=key_ref).delete()

    def forget_cache(self) -> None:
        with _cache_lock:
            self._cache.clear()


# PBKDF2-HMAC-SHA256 rounds for a key exported under a person's passphrase (the offline root
# key): OWASP's figure for PBKDF2-SHA256. cryptography's BestAvailableEncryption uses 2,048
# for PKCS#8 and offers no way to raise it, so the structure is built here.
EXPORT_KDF_ITERATIONS = 600_000
_OID_PBES2 = "1.2.840.113549.1.5.13"
_OID_PBKDF2 = "1.2.840.113549.1.5.12"
_OID_HMAC_SHA256 = "1.2.840.113549.2.9"
_OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"


def export_encrypted_pem(
    private_key: PrivateKey, passphrase: bytes, *, iterations: int = EXPORT_KDF_ITERATIONS
) -> bytes:
    """PEM "ENCRYPTED PRIVATE KEY" (PKCS#8, RFC 5958): PBES2 with PBKDF2-HMAC-SHA256 over
    `iterations` rounds and AES-256-CBC, which OpenSSL and `load_pem_private_key` read."""
    import base64

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    from cryptography.hazmat.primitives.padding import PKCS7

    from egov.pki import cms

    plain = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    kek = PBKDF2HMAC(hashes.SHA256(), length=32, salt=salt, iterations=iterations).derive(
        passphrase
    )
    padder = PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    pbkdf2_params = cms.seq(
        cms.tlv(0x04, salt), cms.integer(iterations), cms.algorithm(_OID_HMAC_SHA256, True)
    )
    algorithm = cms.seq(
        cms.oid(_OID_PBES2),
        cms.seq(
            cms.seq(cms.oid(_OID_PBKDF2), pbkdf2_params),
            cms.seq(cms.oid(_OID_AES256_CBC), cms.tlv(0x04, iv)),
        ),
    )
    der = cms.seq(algorithm, cms.tlv(0x04, encrypted))
    text = base64.encodebytes(der).decode().replace("\n", "")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return (
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
        + "\n".join(lines)
        + "\n-----END ENCRYPTED PRIVATE KEY-----\n"
    ).encode()


_store: KeyStore | None = None


def get_keystore() -> KeyStore:
    """The configured key store (`EGOV_PKI_KEYSTORE`, default the database one)."""
    global _store
    if _store is None:
        _store = DatabaseKeyStore()
    return _store
