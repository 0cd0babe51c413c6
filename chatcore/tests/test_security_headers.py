"""Security headers on every response, the API docs under the strict CSP, the schema's
auth description, and the HTTPS-only settings of production (in a subprocess, since
settings are read once per process)."""

from __future__ import annotations

import json
import re
import secrets

import pytest

from chatcore.tests.test_settings import run_manage

POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


@pytest.mark.parametrize("path", ["/login/", "/healthz", "/api/schema/", "/no-such-page/"])
def test_every_response_carries_the_security_headers(client, db, path):
    response = client.get(path)
    assert directives(response["Content-Security-Policy"]) == directives(POLICY)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_admin_gets_the_same_policy(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/admin/knowledge/document/add/")
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == directives(POLICY)


def assert_nothing_inline(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and " style=" not in html


def test_pages_hold_no_inline_script_or_style(client, alice, company):
    assert_nothing_inline(client.get("/login/").content.decode())
    client.force_login(alice)
    for path in ["/", "/documents/", "/documents/PR1/", "/api/docs/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_nothing_inline(response.content.decode())


def test_the_api_docs_load_swagger_ui_from_local_static_files(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
    assert all(src.startswith("/") for src in sources), sources
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    body = script.content.decode()
    assert "SwaggerUIBundle(" in body and '"/api/schema/"' in body
    assert '"validatorUrl": null' in body


def test_the_schema_describes_token_jwt_and_session_auth(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schemes["tokenAuth"]["description"],
    }
    assert "Token <key>" in schemes["tokenAuth"]["description"]
    assert schemes["jwtAuth"]["scheme"] == "bearer" and schemes["jwtAuth"]["bearerFormat"] == "JWT"
    assert schemes["cookieAuth"]["in"] == "cookie"
    search = schema["paths"]["/api/documents/"]["get"]
    assert {name for requirement in search["security"] for name in requirement} == {"tokenAuth", "jwtAuth", "cookieAuth"}
    token = schema["paths"]["/api/auth/token/"]["post"]
    assert token.get("security", []) in ([], [{}])


PROBE = """
import json
from django.conf import settings
from django.test import Client, override_settings
# No collectstatic here: the pages' static URLs need no manifest for this.
plain_files = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain_files}).enable()
client = Client(HTTP_HOST="chat.example.com")
plain = client.get("/login/")
secure = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
health = client.get("/healthz")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "secure": [secure.status_code, secure.get("Strict-Transport-Security"), secure.get("Content-Security-Policy"),
               {name: dict(cookie) for name, cookie in secure.cookies.items()}],
    "health": health.status_code,
}))
"""


def probe_production(**env: str) -> dict:
    result = run_manage(
        "shell",
        "-c",
        PROBE,
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="chat.example.com",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_redirects_to_https_and_sends_hsts_and_secure_cookies():
    seen = probe_production()
    assert seen["plain"] == [301, "https://chat.example.com/login/"]
    status, hsts, policy, cookies = seen["secure"]
    assert status == 200
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert directives(policy) == directives(POLICY)
    assert cookies["csrftoken"]["secure"] is True
    # The proxy's health checks speak plain HTTP.
    assert seen["health"] == 200


def test_production_trusts_no_forwarded_header_when_told_there_is_no_proxy():
    seen = probe_production(SECURE_PROXY_SSL_HEADER="")
    assert seen["secure"][0] == 301


def test_a_malformed_proxy_header_name_fails_loudly():
    result = run_manage(
        "check",
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="chat.example.com",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https",
    )
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER" in result.stderr
