"""JWTs that belong to a login session.

Every token carries the id of its ``LoginSession`` in the ``sid`` claim, so each
refresh token rotated from a sign-in, and each access token made from one,
belongs to that sign-in's family and dies with it."""

from __future__ import annotations

from typing import Any

from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from .models import LoginSession

SESSION_CLAIM = "sid"


class RefreshTokenReused(TokenError):
    """A live, correctly signed refresh token that was already blacklisted: it was
    rotated (or its family ended) and someone presents it again."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__("Token is blacklisted")
        self.payload = payload


class SessionRefreshToken(RefreshToken):
    """A refresh token of one login session's family."""

    def check_blacklist(self) -> None:
        try:
            super().check_blacklist()
        except TokenError:
            # Only a token that would otherwise still work counts as reuse;
            # an expired one is merely expired.
            self.check_exp()
            self.verify_token_type()
            raise RefreshTokenReused(self.payload) from None

    @classmethod
    def for_login_session(cls, login_session: LoginSession) -> SessionRefreshToken:
        token = cls()
        token[api_settings.USER_ID_CLAIM] = str(login_session.user_id)
        token[SESSION_CLAIM] = login_session.pk
        token.outstand()
        return token

    def rotated(self) -> SessionRefreshToken:
        """A successor with the same claims and a fresh id, issue time and expiry
        (not yet recorded as outstanding)."""
        successor = type(self)()
        for claim, value in self.payload.items():
            if claim not in self.no_copy_claims:
                successor[claim] = value
        return successor

    @property
    def jti(self) -> str:
        return self[api_settings.JTI_CLAIM]

    @property
    def login_session_id(self) -> int | None:
        return _int_or_none(self.get(SESSION_CLAIM))

    @property
    def user_id(self) -> str:
        return str(self.get(api_settings.USER_ID_CLAIM, ""))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def session_id_of(payload: dict[str, Any]) -> int | None:
    """The login session a token's claims name, if any."""
    return _int_or_none(payload.get(SESSION_CLAIM))
