"""The API against its own OpenAPI schema: schemathesis generates requests for every
operation of ``/api/schema/`` (valid and invalid ones) and sends them in-process to the
app with an HR user's token. No operation may answer 5xx, a status code the schema does
not list, or a body that does not match the schema.

Bounded for CI: a fixed number of examples per operation, derandomized (the same
requests on every run), no shrinking and no example database."""

from __future__ import annotations

import ipaddress
import socket

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chatcore.wsgi import application

EXAMPLES_PER_OPERATION = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _one_connection_per_test():
    # Django's WSGI handler closes the database connection after each request, which would
    # end the test's transaction; its test client disconnects the same signal.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _is_local(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(autouse=True)
def _no_outside_network(monkeypatch):
    """Only this machine (the database, Redis) may be reached: a provider or an embedder
    that tried to call out would fail the run instead of calling out."""
    connect = socket.socket.connect

    def local_only(sock: socket.socket, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise ConnectionRefusedError(f"the API fuzz run may not reach {address[0]}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)


@pytest.fixture
def token(settings, hr_user, company):
    settings.LLM_PROVIDER = "local"
    settings.EMBEDDING_PROVIDER = "local"
    return Token.objects.create(user=hr_user).key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_to_the_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)


def test_nothing_leaves_the_machine_during_the_run():
    # 203.0.113.0/24 is reserved for documentation: refused before any packet is sent.
    with pytest.raises(ConnectionRefusedError, match="may not reach"):
        socket.create_connection(("203.0.113.1", 443), timeout=1)
