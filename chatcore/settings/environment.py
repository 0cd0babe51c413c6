"""How the settings read the environment: django-environ's ``Env`` (``env.db``, ``env.url``,
``env.str``…), stricter where a mistyped value would otherwise pass quietly. A value that does not
parse fails at start with ``ImproperlyConfigured`` naming the variable: ``DEBUG=ture`` is not False,
and ``HTTP_THREADS=four`` is not a crash deep inside a request. Values are taken as written (no
``$VAR`` expansion: a secret may start with ``$``)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
NOTSET = environ.Env.NOTSET


class Env(environ.Env):
    def _raw(self, var: str) -> str | None:
        return self.ENVIRON.get(var)

    def _default(self, var: str, default):
        if default is NOTSET:
            raise ImproperlyConfigured(f"Set the {var} environment variable")
        return default

    def str(self, var: str, default=NOTSET, multiline: bool = False) -> str:
        raw = self._raw(var)
        return self._default(var, default) if raw is None else raw

    def bool(self, var: str, default=NOTSET) -> bool:
        """A strict boolean: a typo such as ``DEBUG=ture`` fails instead of meaning False."""
        raw = self._raw(var)
        if raw is None:
            return self._default(var, default)
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ImproperlyConfigured(f"{var}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")

    def int(self, var: str, default=NOTSET, *, minimum: int | None = None) -> int:
        raw = self._raw(var)
        if raw is None or raw.strip() == "":
            return self._default(var, default)
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{var}={raw!r} is not an integer") from None
        if minimum is not None and value < minimum:
            raise ImproperlyConfigured(f"{var}={value} must be at least {minimum}")
        return value

    def float(self, var: str, default=NOTSET) -> float | None:
        raw = self._raw(var)
        if raw is None or raw.strip() == "":
            return self._default(var, default)
        try:
            return float(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{var}={raw!r} is not a number") from None

    def list(self, var: str, cast=None, default=NOTSET) -> list:
        """A comma list; spaces around items and empty items are dropped."""
        raw = self._raw(var)
        if raw is None:
            return self._default(var, default)
        return [item.strip() for item in raw.split(",") if item.strip()]

    def secret(self, var: str, default: str = "") -> str:
        """``var``, or for container secrets the contents of the file named by ``<var>_FILE``."""
        path = self._raw(f"{var}_FILE")
        if path:
            try:
                return Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ImproperlyConfigured(f"{var}_FILE={path!r} cannot be read: {exc}") from None
        return self.str(var, default)

    def choice(self, var: str, default: str, choices: set[str]) -> str:
        value = (self._raw(var) or default).strip().lower() or default
        if value not in choices:
            raise ImproperlyConfigured(f"{var}={value!r} is not one of: {', '.join(sorted(choices))}")
        return value

    def rate(self, var: str, default: str) -> str:
        """A django-ratelimit rate such as ``60/m`` (count per s, m, h or d; ``100/5m`` for five minutes)."""
        value = (self._raw(var) or "").strip() or default
        if not re.fullmatch(r"[1-9]\d*/\d*[smhd]", value):
            raise ImproperlyConfigured(f"{var}={value!r} is not a rate such as 60/m (count/s|m|h|d)")
        return value

    def networks(self, var: str, default: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """A comma list of addresses or networks (``127.0.0.1,10.0.0.0/8,::1``)."""
        raw = self._raw(var)
        networks = []
        for item in (part.strip() for part in (default if raw is None else raw).split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ImproperlyConfigured(f"{var}: {item!r} is not an IP address or network") from None
        return networks


env = Env()
