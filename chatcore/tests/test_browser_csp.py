"""Every kind of page under the strict Content-Security-Policy in a real browser: the
chat pages' fixtures (daphne on the test database, Debian's chromium) fail a test on any
CSP violation or console error, so each test here only has to walk the pages."""

from __future__ import annotations

import re

import pytest

from conftest import PASSWORD
from conversations.tests import test_browser as live
from conversations.tests.test_browser import ANSWER_MS, expect

# The chat tests' fixtures: a daphne per test process, a chromium, and a tab that records
# every CSP violation and console error.
browser_available = live.browser_available
asgi_server = live.asgi_server
browser = live.browser
ui = live.ui

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_pages_send_the_strict_policy(ui):
    response = ui.page.goto("/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe" not in policy
    assert response.headers["x-frame-options"] == "DENY"


def test_documents_search_and_a_document_page_break_no_rule(ui, alice, company):
    ui.sign_in_as(alice)
    ui.page.goto("/documents/")
    expect(ui.page.locator("a[href='/documents/PR1/']")).to_be_visible()
    # Typing searches through htmx (no eval: hx-trigger has no filter expression).
    ui.page.fill("#q", "Yıllık izin")
    expect(ui.page.locator("#results ol.search-results a.r-title").first).to_be_visible(timeout=ANSWER_MS)
    expect(ui.page).to_have_url(re.compile(r"/documents/\?q="))
    ui.shot("search")
    ui.page.locator("#results a[href='/documents/PR1/']").click()
    expect(ui.page.locator("article.document h1")).to_have_text(company["PR1"].title)
    ui.shot("document")


def test_the_sessions_page_creates_and_revokes_a_token_through_htmx(ui, alice):
    ui.sign_in_as(alice)
    page = ui.page
    page.goto("/sessions/")
    expect(page.locator("#session-list")).to_be_visible()
    page.locator("#api-token button.primary").click()
    expect(page.locator("#api-token code.secret")).to_be_visible()
    ui.shot("token-created")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#api-token form[action='/sessions/token/revoke/'] button").click()
    expect(page.locator("#api-token button.primary")).to_be_visible()
    ui.shot("token-revoked")


def test_the_admin_works_without_relaxing_the_policy(ui, admin_user, company):
    page = ui.page
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.fill("input[name=username]", admin_user.username)
    page.fill("input[name=password]", PASSWORD)
    ui.shot("admin-login")
    page.locator("#login-form [type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
    ui.shot("admin-index")

    page.goto("/admin/knowledge/document/")
    expect(page.locator("#result_list")).to_be_visible()
    # The actions bar's script (select all, counter) runs.
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("8")
    ui.shot("documents")

    page.goto(f"/admin/knowledge/document/{company['E1'].pk}/change/")
    expect(page.locator("#document_form")).to_be_visible()
    ui.shot("document-change")
    page.locator("#document_form [name=_continue]").click()
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    ui.shot("document-saved")

    page.goto("/admin/knowledge/document/add/")
    page.locator("#content-main a").first.click()
    expect(page.locator("#document_form")).to_be_visible()
    ui.shot("document-add")

    page.goto(f"/admin/accounts/user/{admin_user.pk}/change/")
    expect(page.locator("#user_form")).to_be_visible()
    ui.shot("user-change")

    # Change lists whose ModelAdmin has no actions (DRF's tokens) must not need the admin's inline style either.
    for path in ["/admin/authtoken/tokenproxy/", "/admin/accounts/loginsession/"]:
        page.goto(path)
        expect(page.locator("#changelist")).to_be_visible()


def test_the_api_docs_render_from_local_files_and_call_the_api(ui, alice, company):
    ui.sign_in_as(alice)
    requested: list[str] = []
    ui.page.on("request", lambda r: requested.append(r.url))
    ui.page.goto("/api/docs/")
    operation = ui.page.locator(".opblock-get:has(.opblock-summary-path[data-path='/api/documents/'])")
    expect(operation).to_be_visible()
    ui.shot("docs")
    # "Try it out" sends a real request with the page's session.
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator(".execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    ui.shot("docs-try-it-out")
    elsewhere = [url for url in requested if not url.startswith((ui.server.url, "data:"))]
    assert not elsewhere
