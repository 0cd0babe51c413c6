"""Verifies the legacy system's password hashes so migrated users keep their passwords.

Legacy: ``pbkdf2_hmac("sha256", password, bytes.fromhex(salt), 100_000).hex()``,
stored here as ``legacy_pbkdf2_sha256$100000$<salt hex>$<hash hex>``. ``must_update``
is always true, so Django re-hashes with its default hasher on the first login.

A wrong password costs what it costs against the default hasher (``harden_runtime``),
so a sign-in cannot tell a migrated user from any other, or from an unknown username.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.hashers import BasePasswordHasher, PBKDF2PasswordHasher, get_hasher, mask_hash
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
            candidate = ""
        if candidate and secrets.compare_digest(candidate, encoded):
            return True
        # Django hardens a wrong password only when the stored hash is the default
        # hasher's own, which a legacy hash never is.
        self.harden_runtime(password, encoded)
        return False

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
        """Spend the rest of what checking against the default hasher would have cost
        (about 10 times our 100,000 iterations with Django's PBKDF2)."""
        default = get_hasher("default")
        if default.algorithm == self.algorithm:
            return
        try:
            done = self.decode(encoded)["iterations"]
        except (ValueError, AssertionError):
            done = 0
        if isinstance(default, PBKDF2PasswordHasher) and default.digest is hashlib.sha256:
            # The same function as ours: the missing iterations are exactly the difference.
            extra = default.iterations - done
            if extra > 0:
                hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), b"harden-runtime", extra)
        else:
            default.encode(password, default.salt())
