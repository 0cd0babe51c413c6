"""Bearer JWTs for the API, valid only while their login session is."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed as JWTAuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from .jwt import session_id_of
from .models import LoginSession, User
from .services import login_session_touch


class LoginSessionJWTAuthentication(JWTAuthentication):
    """simplejwt's Bearer authentication, plus: the token's login session must be a
    live JWT sign-in of the same user. Checked on every request (one indexed query
    that also loads the user), so a revocation takes effect at once."""

    def authenticate(self, request: Request) -> tuple[User, Token] | None:
        try:
            return super().authenticate(request)
        except JWTAuthenticationFailed as exc:
            # simplejwt's errors carry a dict; ours are a message and a code.
            code = str(exc.detail.get("code", "token_not_valid")) if isinstance(exc.detail, dict) else "token_not_valid"
            if isinstance(exc, InvalidToken):
                message = "The access token is invalid or expired."
            else:
                message = str(exc.detail.get("detail", "")) if isinstance(exc.detail, dict) else str(exc.detail)
            raise exceptions.AuthenticationFailed(message, code=code) from None

    def get_user(self, validated_token: Token) -> User:
        login_session = (
            LoginSession.objects.select_related("user")
            .filter(pk=session_id_of(validated_token.payload), kind=LoginSession.Kind.JWT)
            .first()
        )
        user_id = str(validated_token.get(api_settings.USER_ID_CLAIM, ""))
        if login_session is None or str(login_session.user_id) != user_id:
            raise exceptions.AuthenticationFailed("The access token is invalid or expired.", code="token_not_valid")
        if not login_session.is_active:
            raise exceptions.AuthenticationFailed("This sign-in has ended or was revoked; sign in again.", code="token_revoked")
        if not login_session.user.is_active:
            raise exceptions.AuthenticationFailed("This account is disabled.", code="user_inactive")
        login_session_touch(login_session=login_session)
        return login_session.user


class LoginSessionJWTScheme(SimpleJWTScheme):
    """Describes the class above in the OpenAPI schema as simplejwt's Bearer scheme."""

    target_class = "accounts.authentication.LoginSessionJWTAuthentication"
