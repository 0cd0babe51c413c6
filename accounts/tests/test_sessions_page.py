from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import LoginSession
from conftest import PASSWORD

HTMX = {"HX-Request": "true"}
PROTECTED = "/api/documents/"


def sign_in(username="alice", user_agent="Firefox/140", ip="10.0.0.1") -> Client:
    """A browser signed in through the login page, so its sign-in is recorded."""
    browser = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en")
    response = browser.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return browser


def session_of(browser: Client) -> LoginSession:
    return LoginSession.objects.get(session_key=browser.session.session_key)


def jwt_sign_in(username="alice") -> dict:
    response = Client().post(
        "/api/auth/jwt/",
        {"username": username, "password": PASSWORD},
        content_type="application/json",
        HTTP_USER_AGENT="curl/8.5",
    )
    return response.json()


@pytest.fixture
def browser(alice):
    return sign_in()


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/sessions/")
    assert response.status_code == 302 and response.url == "/login/?next=/sessions/"
    assert client.post("/sessions/revoke-others/").status_code == 302
    assert client.post("/sessions/token/").status_code == 302


def test_it_lists_my_sign_ins_and_marks_this_device(browser, alice, stranger):
    sign_in("charlie", user_agent="StrangerBrowser/1")
    jwt_sign_in()
    LoginSession.objects.create(user=alice, kind="web", user_agent="Revoked/1", revoked_at=timezone.now())
    LoginSession.objects.create(user=alice, kind="jwt", user_agent="Expired/1", expires_at=timezone.now() - timedelta(days=1))
    html = browser.get("/sessions/").content.decode()
    assert "Firefox/140" in html and "10.0.0.1" in html and "curl/8.5" in html and "API (JWT)" in html
    assert html.count("This device") == 1
    assert f'id="login-session-{session_of(browser).pk}" class="current"' in html
    assert "StrangerBrowser" not in html and "Revoked/1" not in html and "Expired/1" not in html


def test_the_page_is_translated_to_turkish(alice):
    browser = sign_in()
    html = browser.get("/sessions/", headers={"accept-language": "tr"}).content.decode()
    assert "Oturum açık cihazlar" in html and "Bu cihaz" in html and "API anahtarı" in html
    assert "Signed-in devices" not in html


def test_revoking_another_browser_signs_it_out_on_its_next_request(browser, alice):
    other = sign_in(user_agent="Safari/18")
    other_session = session_of(other)
    response = browser.post(f"/sessions/{other_session.pk}/revoke/", headers=HTMX)
    assert response.status_code == 200
    assert "Safari/18" not in response.content.decode() and "Firefox/140" in response.content.decode()
    other_session.refresh_from_db()
    assert other_session.revoked_at is not None
    # Its page and its session-authenticated API calls stop working.
    assert other.get("/").status_code == 302
    assert other.get(PROTECTED).status_code in (401, 403)
    assert browser.get("/").status_code == 200


def test_a_revoked_page_session_is_signed_out_even_if_its_session_survived(browser, alice):
    # Revoked elsewhere (e.g. by an admin) without the stored session being deleted.
    LoginSession.objects.filter(pk=session_of(browser).pk).update(revoked_at=timezone.now())
    key = browser.session.session_key
    assert Session.objects.filter(session_key=key).exists()
    assert browser.get("/").status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert browser.get("/sessions/").status_code == 302


def test_revoking_a_jwt_sign_in_rejects_its_access_token_at_once(browser, alice):
    tokens = jwt_sign_in()
    jwt_session = LoginSession.objects.get(user=alice, kind="jwt")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get(PROTECTED).status_code == 200
    browser.post(f"/sessions/{jwt_session.pk}/revoke/", headers=HTMX)
    response = api.get(PROTECTED)
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_revoked"
    refreshed = Client().post("/api/auth/jwt/refresh/", {"refresh": tokens["refresh"]}, content_type="application/json")
    assert refreshed.status_code == 401


def test_revoking_this_device_signs_me_out(browser, alice):
    mine = session_of(browser)
    response = browser.post(f"/sessions/{mine.pk}/revoke/", headers=HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == "/login/"
    assert browser.get("/").status_code == 302
    without_htmx = sign_in()
    response = without_htmx.post(f"/sessions/{session_of(without_htmx).pk}/revoke/")
    assert response.status_code == 302 and response.url == "/login/"


def test_revoke_all_others_keeps_only_this_device(browser, alice, stranger):
    other = sign_in(user_agent="Safari/18")
    jwt_sign_in()
    theirs = sign_in("charlie")
    response = browser.post("/sessions/revoke-others/", headers=HTMX)
    assert response.status_code == 200
    assert "Signed out 2 other devices." in response.content.decode()
    live = LoginSession.objects.filter(user=alice, revoked_at__isnull=True)
    assert list(live) == [session_of(browser)]
    assert other.get("/").status_code == 302 and browser.get("/").status_code == 200
    assert theirs.get("/").status_code == 200


def test_a_strangers_session_is_a_404_and_untouched(browser, stranger):
    theirs = sign_in("charlie")
    their_session = session_of(theirs)
    assert browser.post(f"/sessions/{their_session.pk}/revoke/", headers=HTMX).status_code == 404
    assert browser.post("/sessions/999999/revoke/").status_code == 404
    their_session.refresh_from_db()
    assert their_session.revoked_at is None
    assert theirs.get("/").status_code == 200


def test_revoking_needs_a_post(browser):
    assert browser.get(f"/sessions/{session_of(browser).pk}/revoke/").status_code == 405
    assert browser.get("/sessions/revoke-others/").status_code == 405


def test_revoking_needs_the_csrf_token(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    target = LoginSession.objects.create(user=alice, kind="web")
    assert browser.post(f"/sessions/{target.pk}/revoke/").status_code == 403
    target.refresh_from_db()
    assert target.revoked_at is None


def test_page_activity_is_recorded_at_most_once_a_minute(browser):
    mine = session_of(browser)
    long_ago = timezone.now() - timedelta(minutes=5)
    LoginSession.objects.filter(pk=mine.pk).update(last_activity=long_ago)
    browser.get("/sessions/")
    touched = LoginSession.objects.get(pk=mine.pk).last_activity
    assert touched > long_ago
    browser.get("/sessions/")
    browser.get(PROTECTED)
    assert LoginSession.objects.get(pk=mine.pk).last_activity == touched


def test_legacy_sessions_are_listed_but_grant_nothing(browser, alice):
    legacy = LoginSession.objects.create(user=alice, kind="legacy", legacy_id="legacy-1", user_agent="OldApp/1")
    assert "OldApp/1" in browser.get("/sessions/").content.decode()
    # Sign out of it like any other; nothing else changes.
    assert browser.post(f"/sessions/{legacy.pk}/revoke/", headers=HTMX).status_code == 200
    legacy.refresh_from_db()
    assert legacy.revoked_at is not None and browser.get("/").status_code == 200


# --- API token ----------------------------------------------------------------------


def test_creating_a_token_shows_it_once(browser, alice):
    response = browser.post("/sessions/token/", headers=HTMX)
    assert response.status_code == 200
    key = Token.objects.get(user=alice).key
    html = response.content.decode()
    assert key in html and "it will not be shown again" in html
    assert Client().get(PROTECTED, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    page = browser.get("/sessions/").content.decode()
    assert key not in page and f"{key[:6]}…" in page


def test_replacing_the_token_retires_the_old_one(browser, alice):
    old = Token.objects.create(user=alice).key
    browser.post("/sessions/token/", headers=HTMX)
    new = Token.objects.get(user=alice).key
    assert new != old
    assert Client().get(PROTECTED, HTTP_AUTHORIZATION=f"Token {old}").status_code == 401
    assert Client().get(PROTECTED, HTTP_AUTHORIZATION=f"Token {new}").status_code == 200


def test_revoking_the_token_stops_it(browser, alice):
    key = Token.objects.create(user=alice).key
    response = browser.post("/sessions/token/revoke/", headers=HTMX)
    assert response.status_code == 200 and "You have no API token." in response.content.decode()
    assert not Token.objects.filter(user=alice).exists()
    assert Client().get(PROTECTED, HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_token_actions_touch_only_my_token(browser, stranger):
    theirs = Token.objects.create(user=stranger)
    browser.post("/sessions/token/revoke/", headers=HTMX)
    browser.post("/sessions/token/", headers=HTMX)
    assert Token.objects.get(user=stranger).key == theirs.key


def test_admins_manage_tokens_in_admin(client, admin_user, alice):
    Token.objects.create(user=alice)
    client.force_login(admin_user)
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 200
    assert client.get("/admin/token_blacklist/outstandingtoken/").status_code == 200


def test_a_sign_in_through_the_admin_is_a_login_session_too(hr_user):
    admin_browser = Client(HTTP_USER_AGENT="Safari/18", REMOTE_ADDR="10.0.0.9")
    response = admin_browser.post("/admin/login/?next=/admin/", {"username": hr_user.username, "password": PASSWORD})
    assert response.status_code == 302
    recorded = session_of(admin_browser)
    assert recorded.user == hr_user and recorded.kind == LoginSession.Kind.WEB
    assert recorded.ip == "10.0.0.9" and recorded.user_agent == "Safari/18"
    # and only once, though the page sign-in records through the same signal
    sign_in(hr_user.username)
    assert LoginSession.objects.filter(user=hr_user).count() == 2
