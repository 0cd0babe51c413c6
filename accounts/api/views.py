"""API authentication endpoints."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from chatcore.api import error_response

from .serializers import TokenRequestSerializer, TokenResponseSerializer


@extend_schema(
    request=TokenRequestSerializer,
    responses={200: TokenResponseSerializer, 400: OpenApiResponse(description="Malformed request"),
               401: OpenApiResponse(description="Wrong username or password")},
    auth=[],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def token_obtain(request: Request) -> Response:
    """Exchange a username and password for a long-lived API token (service clients)."""
    serializer = TokenRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = authenticate(request._request, **serializer.validated_data)
    if user is None:
        return error_response(
            code="invalid_credentials",
            message="Wrong username or password.",
            status_code=status.HTTP_401_UNAUTHORIZED,
            headers={"WWW-Authenticate": "Token"},
        )
    token, _ = Token.objects.get_or_create(user=user)
    return Response({"token": token.key})
