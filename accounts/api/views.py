"""API authentication endpoints."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from chatcore.api import error_response

from ..lockout import LoginThrottle
from ..services import TokenRefused, jwt_login, jwt_logout, jwt_rotate
from .serializers import JWTPairSerializer, RefreshRequestSerializer, TokenRequestSerializer, TokenResponseSerializer

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}
LOGIN_REFUSED = OpenApiResponse(
    description="Too many sign-ins from this address (`throttled`) or failed ones "
    "for this username (`login_locked`); see `Retry-After`"
)


def _sign_in(answer):
    """A public, throttled POST endpoint that takes a username and password and answers
    with ``answer``."""

    def decorate(view):
        view = throttle_classes([LoginThrottle])(view)
        view = permission_classes([AllowAny])(view)
        view = authentication_classes([])(view)
        view = api_view(["POST"])(view)
        return extend_schema(
            request=TokenRequestSerializer,
            responses={
                200: answer,
                400: OpenApiResponse(description="Malformed request"),
                401: OpenApiResponse(description="Wrong username or password"),
                429: LOGIN_REFUSED,
            },
            auth=[],
        )(view)

    return decorate


def _authenticate(request: Request):
    """The user named by a valid username and password in the body, or None; a malformed
    body is a 400."""
    serializer = TokenRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return authenticate(request._request, **serializer.validated_data)


def _wrong_credentials(challenge: dict[str, str]) -> Response:
    return error_response(
        code="invalid_credentials",
        message=_("Wrong username or password."),
        status_code=status.HTTP_401_UNAUTHORIZED,
        headers=challenge,
    )


@_sign_in(answer=TokenResponseSerializer)
def token_obtain(request: Request) -> Response:
    """Exchange a username and password for a long-lived API token (service clients)."""
    user = _authenticate(request)
    if user is None:
        return _wrong_credentials({"WWW-Authenticate": "Token"})
    token, _ = Token.objects.get_or_create(user=user)
    return Response({"token": token.key})


def _refused(exc: TokenRefused) -> Response:
    return error_response(code=exc.code, message=exc.message, status_code=status.HTTP_401_UNAUTHORIZED, headers=BEARER_CHALLENGE)


@_sign_in(answer=JWTPairSerializer)
def jwt_obtain(request: Request) -> Response:
    """Sign in: a username and password for an access token (24 h) and a refresh token
    (30 days). The sign-in is listed on /sessions/ until it is revoked or signs out."""
    user = _authenticate(request)
    if user is None:
        return _wrong_credentials(BEARER_CHALLENGE)
    return Response(jwt_login(user=user, request=request._request))


@extend_schema(
    request=RefreshRequestSerializer,
    responses={
        200: JWTPairSerializer,
        400: OpenApiResponse(description="Malformed request"),
        401: OpenApiResponse(
            description="Invalid, expired, revoked or reused refresh token (`token_not_valid`, `token_revoked`, `token_reused`)"
        ),
    },
    auth=[],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def jwt_refresh(request: Request) -> Response:
    """Exchange a refresh token for a new access and refresh token. The old refresh token
    is used up: presenting it again revokes the whole sign-in."""
    serializer = RefreshRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        return Response(jwt_rotate(refresh=serializer.validated_data["refresh"], request=request._request))
    except TokenRefused as exc:
        return _refused(exc)


@extend_schema(
    request=RefreshRequestSerializer,
    responses={
        204: OpenApiResponse(description="Signed out"),
        400: OpenApiResponse(description="Malformed request"),
        401: OpenApiResponse(description="Not authenticated, or not a refresh token of yours"),
    },
)
@api_view(["POST"])
def api_logout(request: Request) -> Response:
    """Sign out the JWT sign-in of the given refresh token: its refresh and access tokens
    stop working at once."""
    serializer = RefreshRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        jwt_logout(user=request.user, refresh=serializer.validated_data["refresh"])
    except TokenRefused as exc:
        return _refused(exc)
    return Response(status=status.HTTP_204_NO_CONTENT)
