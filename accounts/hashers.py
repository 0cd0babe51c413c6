"""Verifies the legacy system's password hashes so migrated users keep their passwords.

Legacy: ``pbkdf2_hmac("sha256", password, bytes.fromhex(salt), 100_000).hex()``,
stored here as ``legacy_pbkdf2_sha256$100000$<salt hex>$<hash hex>``. ``must_update``
is always true, so Django re-hashes with its default hasher on the first login.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.translation import gettext_noop as _


class LegacyPBKDF2SHA256Hasher(BasePasswordHasher):
    algorithm = "legacy_pbkdf2_sha256"
    iterations = 100_000

    @staticmethod
    def from_legacy(*, salt_hex: str, hash_hex: str, iterations: int = 100_000) -> str:
        """The encoded form for a legacy record's ``salt`` and ``password_hash``."""
        bytes.fromhex(salt_hex)
        bytes.fromhex(hash_hex)
        return f"legacy_pbkdf2_sha256${iterations}${salt_hex.lower()}${hash_hex.lower()}"

    def salt(self) -> str:
        return secrets.token_hex(16)

    def encode(self, password: str, salt: str, iterations: int | None = None) -> str:
        self._check_encode_args(password, salt)
        iterations = iterations or self.iterations
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt), iterations)
        return f"{self.algorithm}${iterations}${salt}${digest.hex()}"

    def decode(self, encoded: str) -> dict:
        algorithm, iterations, salt, hash_hex = encoded.split("$", 3)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "iterations": int(iterations), "salt": salt, "hash": hash_hex}

    def verify(self, password: str, encoded: str) -> bool:
        try:
            decoded = self.decode(encoded)
            candidate = self.encode(password, decoded["salt"], decoded["iterations"])
        except (ValueError, AssertionError):
            return False
        return secrets.compare_digest(candidate, encoded)

    def safe_summary(self, encoded: str) -> dict:
        decoded = self.decode(encoded)
        return {
            _("algorithm"): decoded["algorithm"],
            _("iterations"): decoded["iterations"],
            _("salt"): mask_hash(decoded["salt"]),
            _("hash"): mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded: str) -> bool:
        return True

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass
