"""The chat pages in a real browser (Debian's chromium through Playwright) against
daphne serving the ASGI app on the test database: sign in, streamed answers with
sources, citations, reloads, and the conversation sidebar.

Each step leaves a screenshot in ``$TEST_ARTIFACTS_DIR/browser/`` (default
``test-artifacts/browser/``), with the server's log beside them.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings
from django.test import Client

from chatcore.databases import database_url
from conftest import PASSWORD, _require, stop_process
from conversations.models import Conversation, Message
from conversations.services import conversation_create

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the browser fixture skips, or fails under CI
    expect = sync_playwright = None

if TYPE_CHECKING:
    from playwright.sync_api import Locator

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR") or ROOT / "test-artifacts") / "browser"
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
STARTUP_SECONDS = 90
STEP_MS = 15_000
# The first answer of a run also loads the embedding model and builds the index in the server.
ANSWER_MS = 60_000

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs in the server process before daphne: if this test run dies without
# cleaning up (killed by a CI timeout), the kernel stops the server too.
LAUNCH = (
    "import ctypes, signal; ctypes.CDLL(None).prctl(1, signal.SIGTERM); "
    "from daphne.cli import CommandLineInterface; CommandLineInterface.entrypoint()"
)

# Installed in every page before its own scripts run.
WATCH = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__reportCsp(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
});
// An attribute, not a variable: waiting on it needs no page.wait_for_function, whose
// predicate is compiled with new Function, which the CSP (no 'unsafe-eval') refuses.
document.addEventListener("htmx:wsOpen", () => { document.documentElement.dataset.socket = "open"; });
document.addEventListener("htmx:wsClose", () => { document.documentElement.dataset.socket = "closed"; });
"""

# Records the streaming answer's text at every change of the message list.
OBSERVE_ANSWER = """
() => {
  if (window.__answerObserver) { window.__answerObserver.disconnect(); }
  window.__answerStates = [];
  const list = document.getElementById("messages");
  window.__answerObserver = new MutationObserver(() => {
    const text = list.querySelector("li.message.assistant.streaming .answer-text");
    if (text) { window.__answerStates.push(text.textContent); }
  });
  window.__answerObserver.observe(list, {childList: true, subtree: true, characterData: true});
}
"""


class AsgiServer:
    """daphne serving ``chatcore.asgi:application`` on a port this process already holds."""

    def __init__(self, *, index_dir: Path, log_path: Path) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        self.log_path = log_path
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "chatcore.settings.test",
            "DATABASE_URL": database_url(),
            "INDEX_DIR": str(index_dir),
            # Every test starts from an emptied database: look at its index version on every question.
            "RETRIEVAL_VERSION_CHECK_SECONDS": "0",
            # A cached answer arrives in one piece; these tests watch answers stream.
            "ANSWER_CACHE_SECONDS": "0",
        }
        for name in ("REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"):
            env.pop(name, None)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "wb") as log:
            # Handing over a bound socket leaves no window for another process to take the port.
            self.process = subprocess.Popen(
                [sys.executable, "-c", LAUNCH, "--fd", str(listener.fileno()), "chatcore.asgi:application"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=[listener.fileno()],
            )
        listener.close()

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"daphne did not answer /healthz within {STARTUP_SECONDS}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture(scope="session")
def browser_available():
    """Checked before anything starts: a skip locally, a failure under CI."""
    _require(f"Debian's chromium ({CHROMIUM}, installed by make test)", os.access(CHROMIUM, os.X_OK))
    _require("Playwright (requirements-dev.txt)", sync_playwright is not None)


@pytest.fixture(scope="session")
def asgi_server(browser_available, django_db_setup, tmp_path_factory):
    """One server per test process; each test's data reaches it through the shared database."""
    server = AsgiServer(index_dir=tmp_path_factory.mktemp("server-index"), log_path=ARTIFACTS / f"server-{WORKER}.log")
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(browser_available):
    # Playwright's sync API keeps an event loop running in this thread, which makes Django
    # refuse ORM calls from the tests and from the database flush between them.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        expect.set_options(timeout=STEP_MS)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Ui:
    """One browser tab on the live server, with screenshots and the problems it saw."""

    def __init__(self, page, server: AsgiServer, shots: Path) -> None:
        self.page = page
        self.server = server
        self.shots = shots
        self.problems: list[str] = []
        self._shot = 0

    def shot(self, step: str) -> None:
        self._shot += 1
        self.page.screenshot(path=self.shots / f"{self._shot:02d}-{step}.png", full_page=True)

    def sign_in_as(self, user) -> None:
        """A session made on the server side, for tests whose point is not the login form."""
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        self.page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": self.server.url}])

    def wait_for_socket(self) -> None:
        expect(self.page.locator("html[data-socket='open']")).to_have_count(1)

    def open_chat(self, path: str = "/") -> None:
        self.page.goto(path)
        self.wait_for_socket()

    def ask(self, question: str) -> tuple[Locator, list[str]]:
        """Send a question and wait for the finished answer; returns it and the texts seen while it streamed."""
        finished = self.page.locator("#messages li.message.assistant:not(.streaming)")
        before = finished.count()
        self.page.evaluate(OBSERVE_ANSWER)
        self.page.fill("#message", question)
        self.page.press("#message", "Enter")
        answer = finished.nth(before)
        expect(answer).to_be_visible(timeout=ANSWER_MS)
        expect(self.page.locator("#chat-state")).not_to_have_class(re.compile(r"\bbusy\b"))
        return answer, self.page.evaluate("window.__answerStates")


@pytest.fixture
def ui(browser, asgi_server, request):
    shots = ARTIFACTS / request.node.name
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    context = browser.new_context(base_url=asgi_server.url, locale="en-US", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(STEP_MS)
    page = context.new_page()
    ui = Ui(page, asgi_server, shots)
    context.expose_function("__reportCsp", lambda text: ui.problems.append(f"CSP: {text}"))
    context.add_init_script(WATCH)
    page.on("console", lambda m: m.type == "error" and ui.problems.append(f"console: {m.text} ({m.location})"))
    page.on("pageerror", lambda e: ui.problems.append(f"page error: {e}"))
    try:
        yield ui
    finally:
        try:
            page.screenshot(path=shots / "99-last.png", full_page=True)
        finally:
            # Closing the tab ends its WebSocket before the database is emptied.
            context.close()
    assert not ui.problems, "\n".join(ui.problems)


def assert_streamed(states: list[str]) -> None:
    """The bubble grew piece by piece before the finished answer replaced it."""
    seen = [s for i, s in enumerate(states) if s and (i == 0 or s != states[i - 1])]
    assert len(seen) >= 3, f"the answer did not stream: {seen!r}"
    assert all(len(a) < len(b) and b.startswith(a) for a, b in zip(seen, seen[1:], strict=False)), seen


def assert_cited(answer) -> None:
    links = answer.locator("ol.sources a[href^='/documents/']")
    assert links.count() >= 1
    assert re.search(r"\[\d+\]", answer.locator(".prose").inner_text())


def test_signing_in_through_the_login_page_lands_on_the_chat_page(ui, alice):
    page = ui.page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    ui.shot("login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    ui.shot("login-filled")
    page.locator("form[action='/login/'] [type=submit]").click()
    expect(page).to_have_url(f"{ui.server.url}/")
    expect(page.locator("#ask-form textarea[name=message]")).to_be_visible()
    ui.wait_for_socket()
    ui.shot("chat")


def test_answers_stream_in_turkish_and_english_with_sources(ui, alice, company):
    ui.sign_in_as(alice)
    ui.open_chat()
    answer, states = ui.ask("Yıllık izin talebi nereden yapılır?")
    ui.shot("turkish-answer")
    assert_streamed(states)
    assert_cited(answer)
    assert answer.locator("ol.sources a[href='/documents/PR1/']").count() == 1

    answer, states = ui.ask("Who leads the Kervan project?")
    ui.shot("english-answer")
    assert_streamed(states)
    assert_cited(answer)
    assert answer.locator("ol.sources a[href='/documents/P1/']").count() == 1


def test_a_citation_opens_its_document(ui, alice, company):
    ui.sign_in_as(alice)
    ui.open_chat()
    answer, _ = ui.ask("Yıllık izin talebi nereden yapılır?")
    ui.shot("answer")
    answer.locator("ol.sources a[href^='/documents/']").first.click()
    expect(ui.page).to_have_url(f"{ui.server.url}/documents/PR1/")
    expect(ui.page.locator("article.document h1")).to_have_text(company["PR1"].title)
    expect(ui.page.locator("article.document code").first).to_have_text("PR1")
    ui.shot("document")


def test_a_conversation_is_still_there_after_a_reload(ui, alice, company):
    ui.sign_in_as(alice)
    ui.open_chat()
    ui.ask("Yıllık izin talebi nereden yapılır?")
    conversation = Conversation.objects.get(owner=alice)
    expect(ui.page).to_have_url(f"{ui.server.url}{conversation.get_absolute_url()}")
    ui.page.reload()
    ui.wait_for_socket()
    messages = ui.page.locator("#messages li.message")
    expect(messages).to_have_count(2)
    expect(messages.nth(0)).to_contain_text("Yıllık izin talebi nereden yapılır?")
    assert_cited(messages.nth(1))
    ui.shot("reloaded")


def sidebar_item(ui, conversation):
    return ui.page.locator(f"#conversation-list li.conversation-item[data-conversation-id='{conversation.id}']")


def test_the_sidebar_item_follows_the_answers(ui, alice, company):
    older = conversation_create(user=alice, title="Eski soru")
    conversation_create(user=alice, title="Yeni soru")
    ui.sign_in_as(alice)
    ui.open_chat(older.get_absolute_url())
    items = ui.page.locator("#conversation-list li.conversation-item")
    expect(items.first).not_to_have_attribute("data-conversation-id", older.id)
    ui.ask("Yıllık izin talebi nereden yapılır?")
    # Counted and moved to the top without a reload.
    expect(sidebar_item(ui, older).locator(".c-meta")).to_have_text(re.compile(r"· 2 (mesaj|messages)$"))
    expect(items.first).to_have_attribute("data-conversation-id", older.id)
    ui.shot("sidebar-after-answer")


def test_a_conversation_is_renamed_from_the_sidebar(ui, alice):
    conversation = conversation_create(user=alice, title="İzin sorusu")
    ui.sign_in_as(alice)
    ui.open_chat(conversation.get_absolute_url())
    item = sidebar_item(ui, conversation)
    ui.shot("before")
    item.locator("[data-action=rename]").click()
    title = item.locator("input[name=title]")
    expect(title).to_be_visible()
    title.fill("Yıllık izin planı")
    ui.shot("renaming")
    title.press("Enter")
    expect(item.locator("a.conversation-link")).to_contain_text("Yıllık izin planı")
    # The open conversation's heading and the tab's title follow.
    expect(ui.page.locator("#conversation-title")).to_have_text("Yıllık izin planı")
    expect(ui.page).to_have_title("Yıllık izin planı · ChatCore.AI")
    ui.shot("renamed")
    conversation.refresh_from_db()
    assert conversation.title == "Yıllık izin planı"
    ui.page.reload()
    expect(sidebar_item(ui, conversation).locator("a.conversation-link")).to_contain_text("Yıllık izin planı")


def test_a_conversation_is_deleted_from_the_sidebar_after_confirming(ui, alice):
    kept = conversation_create(user=alice, title="Kervan")
    doomed = conversation_create(user=alice, title="Eski soru")
    ui.sign_in_as(alice)
    ui.open_chat()
    ui.shot("before")
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.type)
        dialog.accept()

    ui.page.once("dialog", accept)
    sidebar_item(ui, doomed).locator("[data-action=delete]").click()
    expect(sidebar_item(ui, doomed)).to_have_count(0)
    expect(sidebar_item(ui, kept)).to_have_count(1)
    ui.shot("deleted")
    assert dialogs == ["confirm"]
    assert list(Conversation.objects.filter(owner=alice).values_list("id", flat=True)) == [kept.id]


def test_declining_the_confirmation_keeps_the_conversation(ui, alice):
    conversation = conversation_create(user=alice, title="Kervan")
    ui.sign_in_as(alice)
    ui.open_chat()
    ui.page.once("dialog", lambda dialog: dialog.dismiss())
    sidebar_item(ui, conversation).locator("[data-action=delete]").click()
    # The dismissed dialog sends nothing; a round trip to the server proves nothing is on its way.
    ui.page.reload()
    expect(sidebar_item(ui, conversation)).to_have_count(1)
    assert Conversation.objects.filter(id=conversation.id).exists()


def test_the_sidebar_search_finds_my_conversations_by_title_in_any_turkish_case(ui, alice, stranger):
    leave = conversation_create(user=alice, title="Yıllık İzin")
    project = conversation_create(user=alice, title="Kervan projesi")
    conversation_create(user=stranger, title="İzin planı of someone else")
    ui.sign_in_as(alice)
    ui.open_chat()
    items = ui.page.locator("#conversation-list li.conversation-item")
    expect(items).to_have_count(2)
    ui.page.fill("#conversation-search input[name=q]", "izin")
    expect(items).to_have_count(1)
    expect(sidebar_item(ui, leave)).to_have_count(1)
    expect(sidebar_item(ui, project)).to_have_count(0)
    ui.shot("searched")


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])


def long_conversation(user, turns: int = 8) -> Conversation:
    from django.utils import timezone

    conversation = conversation_create(user=user, title="Uzun bir sohbet")
    now = timezone.now()
    for n in range(turns):
        Message.objects.create(
            conversation=conversation, role="user", content=f"Soru {n + 1}: yıllık izin nasıl alınır?", created_at=now
        )
        Message.objects.create(
            conversation=conversation,
            role="assistant",
            created_at=now,
            content=f"Yanıt {n + 1}. " + "İzin talebi İK Portalı üzerinden yapılır. " * 12,
        )
    Conversation.objects.filter(pk=conversation.pk).update(message_count=2 * turns)
    return conversation


def assert_in_view_above_the_composer(ui, message) -> None:
    """The message's last line is on screen and not under the composer."""
    box = message.bounding_box()
    composer = ui.page.locator(".composer").bounding_box()
    viewport = ui.page.viewport_size
    assert box is not None and composer is not None
    assert box["y"] + box["height"] <= composer["y"] + 1, (box, composer)
    assert box["y"] + box["height"] > 0 and composer["y"] + composer["height"] <= viewport["height"] + 1


@SIZES
def test_a_long_conversation_opens_at_its_last_message_and_keeps_the_newest_answer_in_view(ui, alice, company, size):
    ui.page.set_viewport_size(size)
    conversation = long_conversation(alice)
    ui.sign_in_as(alice)
    ui.open_chat(conversation.get_absolute_url())
    messages = ui.page.locator("#messages li.message")
    expect(messages).to_have_count(16)
    assert_in_view_above_the_composer(ui, messages.last)
    ui.shot("opened-at-the-end")
    for question in ("Yıllık izin talebi nereden yapılır?", "Kafka bilen mühendisler kimler?"):
        answer, _ = ui.ask(question)
        assert_in_view_above_the_composer(ui, answer)
    ui.shot("newest-answer-in-view")


@SIZES
def test_a_reader_who_scrolled_up_is_not_pulled_down_by_the_stream(ui, alice, size):
    ui.page.set_viewport_size(size)
    conversation = long_conversation(alice)
    ui.sign_in_as(alice)
    ui.open_chat(conversation.get_absolute_url())
    first = ui.page.locator("#messages li.message").first
    first.scroll_into_view_if_needed()
    ui.page.mouse.wheel(0, -5000)
    ui.page.wait_for_timeout(200)
    before = first.bounding_box()["y"]
    # What every streamed piece of an answer does once it is in the page.
    ui.page.evaluate("document.dispatchEvent(new CustomEvent('htmx:wsAfterMessage'))")
    assert abs(first.bounding_box()["y"] - before) < 2
    ui.shot("still-reading-above")


def page_width(ui) -> int:
    return ui.page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("width", [360, 390, 1366])
def test_every_page_fits_its_width_without_sideways_scrolling(ui, hr_user, company, width):
    from accounts.models import LoginSession

    ui.page.set_viewport_size({"width": width, "height": 844})
    conversation_create(user=hr_user, title="Yıllık izin politikası ve uzaktan çalışma kuralları hakkında çok uzun bir başlık")
    agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/130.0.0.0 Safari/537.36"
    for n in range(6):  # devices with long browser names make the widest table
        LoginSession.objects.create(
            user=hr_user, kind=LoginSession.Kind.WEB, session_key=f"other-{n}", user_agent=f"{agent} #{n}", ip="10.0.0.1"
        )
    ui.sign_in_as(hr_user)
    for path in ("/", "/documents/", "/documents/?q=izin", "/documents/E1/", "/sessions/"):
        ui.page.goto(path)
        assert page_width(ui) <= width, (path, page_width(ui))
        ui.shot(f"fits{path.replace('/', '-').replace('?', '-')}")
    ui.page.goto("/")
    toggle = ui.page.locator(".sidebar-toggle")
    if toggle.is_visible():
        toggle.click()
        expect(ui.page.locator("#sidebar.open")).to_have_count(1)
    assert page_width(ui) <= width, ("/ with the sidebar open", page_width(ui))
    ui.shot("sidebar-open")


def choose_language(ui, language: str) -> None:
    """As the TR/EN switch does: the language cookie."""
    ui.page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": ui.server.url}])


def expected_status(ui, status: int) -> None:
    """The browser logs the error status of a page the test meant to open: not a problem."""
    ui.problems = [p for p in ui.problems if f"status of {status}" not in p]


@SIZES
@pytest.mark.parametrize(("language", "heading"), [("tr", "Bulunamadı"), ("en", "Not found")])
def test_an_unknown_page_is_our_404_in_the_sites_layout_and_language(ui, alice, size, language, heading):
    ui.page.set_viewport_size(size)
    ui.sign_in_as(alice)
    choose_language(ui, language)
    response = ui.page.goto("/no-such-page/")
    assert response.status == 404
    expect(ui.page.locator("h1")).to_have_text(heading)
    expect(ui.page.locator("header.topbar")).to_have_count(1)  # the site's own layout, signed in
    assert "URLconf" not in ui.page.content() and page_width(ui) <= size["width"]
    ui.shot("404")
    expected_status(ui, 404)


@SIZES
@pytest.mark.parametrize(("language", "heading"), [("tr", "İzin verilmiyor"), ("en", "Not allowed")])
def test_a_form_sent_without_its_csrf_cookie_gets_our_403_page(ui, alice, size, language, heading):
    ui.page.set_viewport_size(size)
    ui.page.goto("/login/")
    ui.page.context.clear_cookies()  # an old tab, or a browser that dropped the cookie
    choose_language(ui, language)
    ui.page.fill("#id_username", alice.username)
    ui.page.fill("#id_password", PASSWORD)
    with ui.page.expect_response(lambda r: r.url.endswith("/login/") and r.request.method == "POST") as sent:
        ui.page.press("#id_password", "Enter")
    assert sent.value.status == 403
    expect(ui.page.locator("h1")).to_have_text(heading)
    expect(ui.page.locator("header.topbar")).to_have_count(1)
    assert "CSRF verification failed" not in ui.page.content() and page_width(ui) <= size["width"]
    ui.shot("403")
    expected_status(ui, 403)


@SIZES
def test_an_empty_search_shows_a_hint_above_the_documents(ui, alice, company, size):
    ui.page.set_viewport_size(size)
    ui.sign_in_as(alice)
    ui.page.goto("/documents/")
    expect(ui.page.locator("#search-hint")).to_have_count(0)
    ui.page.locator("form.filters button[type=submit]").click()
    expect(ui.page).to_have_url(re.compile(r"[?&]q=(&|$)"))
    expect(ui.page.locator("#search-hint")).to_be_visible()
    expect(ui.page.locator("table.list tbody tr").first).to_be_visible()
    assert page_width(ui) <= size["width"]
    ui.shot("empty-search-hint")


TURKISH_ORDER = ["Cem Ak", "Çağla Ak", "Irmak Ak", "İpek Ak", "Oya Ak", "Özge Ak", "Selin Ak", "Şule Ak"]
ENGLISH_ORDER = ["Çağla Ak", "Cem Ak", "İpek Ak", "Irmak Ak", "Oya Ak", "Özge Ak", "Selin Ak", "Şule Ak"]


@SIZES
@pytest.mark.parametrize(("language", "expected"), [("tr", TURKISH_ORDER), ("en", ENGLISH_ORDER)])
def test_people_are_listed_in_the_interface_languages_alphabet(ui, alice, size, language, expected):
    from knowledge.models import Document

    for n, name in enumerate(reversed(expected)):
        first, last = name.split()
        Document.objects.create(
            key=f"EA{n}", doc_type="employee", title=name, body={"first_name": first, "last_name": last, "title": "Engineer"}
        )
    ui.page.set_viewport_size(size)
    ui.sign_in_as(alice)
    choose_language(ui, language)
    ui.page.goto("/documents/?type=employee")
    titles = ui.page.locator("table.list tbody td:nth-child(2) a").all_inner_texts()
    assert [t for t in titles if t.endswith(" Ak")] == expected
    ui.shot("people-in-order")


@SIZES
def test_search_lists_the_relevant_hits_and_keeps_the_rest_behind_show_more(ui, alice, company, size):
    ui.page.set_viewport_size(size)
    ui.sign_in_as(alice)
    ui.page.goto("/documents/?q=yıllık+izin+talebi")
    shown = ui.page.locator("#results > ol.search-results > li")
    expect(shown.first.locator("a.r-title")).to_have_text("Yıllık İzin")
    more = ui.page.locator("details.more-results")
    expect(more).to_have_count(1)
    hidden = more.locator("li")
    assert shown.count() >= 1 and hidden.count() >= 1 and not hidden.first.is_visible()
    scores = [float(s) for s in ui.page.locator("span.score").all_text_contents()]
    assert min(scores[: shown.count()]) > max(scores[shown.count() :])  # the cut is by score
    ui.shot("relevant-first")
    more.locator("summary").click()
    expect(hidden.first).to_be_visible()
    assert page_width(ui) <= size["width"]
    ui.shot("show-more")


@SIZES
def test_an_answers_citations_start_at_1_and_the_source_list_matches(ui, hr_user, company, size):
    ui.page.set_viewport_size(size)
    ui.sign_in_as(hr_user)
    ui.open_chat()
    # The writer cites the second source it was given first: the reader sees [1].
    answer, _ = ui.ask("What does the HR department do?")
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.locator(".prose").inner_text())]
    assert numbers and numbers[0] == 1 and sorted(set(numbers)) == list(range(1, max(numbers) + 1)), numbers
    items = answer.locator("ol.sources li")
    assert [items.nth(i).get_attribute("value") for i in range(items.count())] == [str(n) for n in range(1, items.count() + 1)]
    assert items.count() == max(numbers)
    ui.page.reload()
    ui.wait_for_socket()
    stored = ui.page.locator("#messages li.message.assistant").last
    assert re.findall(r"\[(\d+)\]", stored.locator(".prose").inner_text())[0] == "1"
    ui.shot("citations-from-1")
