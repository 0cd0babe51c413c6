"""Turkish and English: the pages, the language switch, the socket's own messages, and
a Turkish catalog with nothing left untranslated."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import translation

from conversations.models import Message
from conversations.routing import websocket_urlpatterns
from conversations.services import conversation_create
from knowledge.doctypes import DOC_TYPES

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "locale" / "tr" / "LC_MESSAGES"


def get(client, path, language):
    return client.get(path, headers={"accept-language": language})


# --- pages ----------------------------------------------------------------------


def test_pages_render_in_turkish_with_accept_language_tr(client, alice, company):
    assert "Giriş yap" in get(client, "/login/", "tr").content.decode()
    client.force_login(alice)
    conversation = conversation_create(user=alice, title="İzin")
    chat = get(client, f"/c/{conversation.id}/", "tr").content.decode()
    assert '<html lang="tr">' in chat
    assert "Gönder" in chat and "Sohbetlerde ara" in chat and "Yeniden adlandır" in chat and "Çıkış yap" in chat
    assert ">Send<" not in chat
    assert "Yeni sohbet" in get(client, "/", "tr").content.decode()
    assert "Şirket belgeleri" in get(client, "/documents/", "tr").content.decode()
    assert "Prosedür" in get(client, "/documents/?q=izin", "tr").content.decode()
    employee = get(client, "/documents/E1/", "tr").content.decode()
    # An employee's "Title" is a job title; a procedure's is its heading.
    assert "<dt>Unvan" in employee and "<dt>Departman" in employee and "Çalışanlar" in employee
    assert "<dt>Başlık" in get(client, "/documents/PR1/", "tr").content.decode()
    missing = get(client, "/documents/NOPE/", "tr")
    assert missing.status_code == 404 and "Bulunamadı" in missing.content.decode()


def test_pages_render_in_english_with_accept_language_en(client, alice, company):
    assert "Sign in" in get(client, "/login/", "en").content.decode()
    client.force_login(alice)
    chat = get(client, "/", "en").content.decode()
    assert '<html lang="en">' in chat
    assert "Send" in chat and "Search conversations" in chat and "New chat" in chat and "Gönder" not in chat
    assert "Company documents" in get(client, "/documents/", "en").content.decode()
    employee = get(client, "/documents/E1/", "en").content.decode()
    assert "<dt>Title" in employee and "<dt>Department" in employee
    missing = get(client, "/documents/NOPE/", "en")
    assert missing.status_code == 404 and "Not found" in missing.content.decode()


def test_a_client_that_states_no_language_gets_turkish(client, alice):
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert settings.LANGUAGE_CODE == "tr"
    assert '<html lang="tr">' in html and "Gönder" in html


def test_the_role_is_shown_in_the_page_language(client, hr_user):
    client.force_login(hr_user)
    assert '<span class="role role-hr">İK</span>' in get(client, "/", "tr").content.decode()
    assert '<span class="role role-hr">HR</span>' in get(client, "/", "en").content.decode()


# --- the switch -------------------------------------------------------------------


def test_every_page_has_the_switch_with_the_current_language_pressed(client, alice):
    login = get(client, "/login/?next=/documents/", "en").content.decode()
    assert 'action="/i18n/setlang/"' in login
    assert 'name="next" value="/login/?next=/documents/"' in login
    assert re.search(r'value="en"[^>]*aria-pressed="true"', login)
    assert re.search(r'value="tr"[^>]*aria-pressed="false"', login)
    client.force_login(alice)
    assert 'action="/i18n/setlang/"' in get(client, "/documents/", "tr").content.decode()


def test_the_switch_sets_the_language_and_it_wins_over_the_browser(client, alice):
    client.force_login(alice)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/documents/"})
    assert response.status_code == 302 and response.url == "/documents/"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en" and cookie["max-age"] == 60 * 60 * 24 * 365
    assert "Company documents" in get(client, "/documents/", "tr").content.decode()
    client.post("/i18n/setlang/", {"language": "tr", "next": "/"})
    assert "Şirket belgeleri" in get(client, "/documents/", "en").content.decode()


def test_the_switch_ignores_unknown_languages_and_foreign_next(client, alice):
    client.force_login(alice)
    response = client.post("/i18n/setlang/", {"language": "de", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/"
    # Django may store "de" (it ships a German catalog), but a page only speaks LANGUAGES.
    assert '<html lang="en">' in get(client, "/", "en").content.decode()
    assert '<html lang="tr">' in client.get("/").content.decode()


def test_the_switch_needs_the_csrf_token(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 403


# --- messages written in Python -------------------------------------------------------


def test_a_rejected_title_is_explained_in_the_page_language(client, alice):
    conversation = conversation_create(user=alice, title="İzin")
    client.force_login(alice)
    headers = {"HX-Request": "true"}
    tr = client.post(f"/c/{conversation.id}/rename/", {"title": " "}, headers={**headers, "accept-language": "tr"})
    en = client.post(f"/c/{conversation.id}/rename/", {"title": " "}, headers={**headers, "accept-language": "en"})
    assert tr.status_code == en.status_code == 400
    assert "Bir başlık yazın." in tr.content.decode() and "Write a title." in en.content.decode()


def test_the_indexed_text_does_not_depend_on_the_language(company):
    body = company["E1"].body
    with translation.override("en"):
        english = DOC_TYPES["employee"].as_text(body, hr=False)
    with translation.override("tr"):
        assert DOC_TYPES["employee"].as_text(body, hr=False) == english
    assert "Title: Engineer" in english


# --- the socket ---------------------------------------------------------------------


def communicator(user, *, cookies=None, headers=()):
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/chat/new/", headers=list(headers))
    comm.scope["user"] = user
    if cookies is not None:
        comm.scope["cookies"] = cookies
    return comm


async def error_for_an_empty_question(comm) -> str:
    connected, _ = await comm.connect()
    assert connected
    try:
        await comm.send_json_to({"message": "  "})
        return await comm.receive_from(timeout=5)
    finally:
        await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_socket_speaks_the_language_of_the_cookie_then_the_browser_then_turkish(alice):
    cookie_en = communicator(alice, cookies={settings.LANGUAGE_COOKIE_NAME: "en"}, headers=[(b"accept-language", b"tr")])
    assert "Write a question." in await error_for_an_empty_question(cookie_en)
    browser_en = communicator(alice, headers=[(b"accept-language", b"en-GB,en;q=0.9")])
    assert "Write a question." in await error_for_an_empty_question(browser_en)
    nothing = communicator(alice)
    assert "Bir soru yazın." in await error_for_an_empty_question(nothing)
    assert not await database_sync_to_async(Message.objects.exists)()


@pytest.mark.django_db(transaction=True)
async def test_the_socket_fragments_follow_the_language_but_the_answer_follows_the_question(alice, company):
    comm = communicator(alice, cookies={settings.LANGUAGE_COOKIE_NAME: "en"})
    await comm.connect()
    try:
        await comm.send_json_to({"message": "Yıllık izin talebi nereden yapılır?"})
        frames = []
        while 'id="chat-state" class=""' not in (frames[-1] if frames else ""):
            frames.append(await comm.receive_from(timeout=10))
    finally:
        await comm.disconnect()
    started, done = frames[0], frames[-1]
    # The new sidebar item and the finished answer's controls are English...
    assert "Rename" in started and "1 message" in started
    assert 'aria-label="Sources"' in done and 'title="Helpful"' in done
    # ...while the answer is Turkish, like the question.
    assert "İK Portalı" in done


# --- the catalog --------------------------------------------------------------------


def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: ``msgctxt``, ``msgid``, ``msgstr`` (joined) and flags."""
    entries = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        entry: dict = {"flags": set(), "msgstr": []}
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#~"):
                entry["obsolete"] = True
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                value = ast.literal_eval(line)
                if key.startswith("msgstr"):
                    entry["msgstr"][-1] += value
                else:
                    entry[key] += value
            else:
                key, _, rest = line.partition(" ")
                if key.startswith("msgstr"):
                    entry["msgstr"].append(ast.literal_eval(rest))
                else:
                    entry[key] = ast.literal_eval(rest)
        entries.append(entry)
    return entries


def test_the_turkish_catalog_is_complete_and_compiled():
    entries = po_entries(CATALOG / "django.po")
    header, messages = entries[0], entries[1:]
    assert header["msgid"] == "" and "fuzzy" not in header["flags"]
    assert "Language: tr" in header["msgstr"][0]
    assert len(messages) > 100
    assert not [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    assert not [e["msgid"] for e in messages if not all(e["msgstr"])]
    assert not [e["msgid"] for e in messages if e.get("obsolete")]
    # The committed .mo says what the .po says (it was compiled after the last edit).
    with open(CATALOG / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for e in messages:
        if "msgctxt" in e:
            assert compiled.pgettext(e["msgctxt"], e["msgid"]) == e["msgstr"][0], e["msgid"]
        elif "msgid_plural" in e:
            assert compiled.ngettext(e["msgid"], e["msgid_plural"], 1) == e["msgstr"][0], e["msgid"]
        else:
            assert compiled.gettext(e["msgid"]) == e["msgstr"][0], e["msgid"]


def test_every_translated_template_text_is_in_the_catalog():
    """Catches a text added to a template without running makemessages."""
    known = {e["msgid"] for e in po_entries(CATALOG / "django.po")}
    literal = re.compile(r"""\{%\s*translate\s+(?P<q>["'])(?P<text>.+?)(?P=q)""")
    missing = []
    for template in ROOT.glob("**/templates/**/*.html"):
        if ".venv" in template.parts:
            continue
        for match in literal.finditer(template.read_text(encoding="utf-8")):
            if match["text"] not in known:
                missing.append(f"{template.relative_to(ROOT)}: {match['text']}")
    assert not missing


class Failing:
    """A provider that is down: the pipeline falls back to the offline answer with a notice."""

    name, model = "failing", "f-1"

    def stream(self, messages, options):
        from retrieval.llm import ProviderError

        raise ProviderError("down", retryable=True)
        yield  # pragma: no cover


@pytest.fixture
def failing_provider(settings):
    from retrieval import llm

    llm.providers.set("failing", Failing())
    settings.LLM_PROVIDER = "failing"
    yield
    llm.reset_providers()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("cookies", "notice"),
    [
        ({settings.LANGUAGE_COOKIE_NAME: "en"}, "failing did not answer; this answer comes from the offline answerer."),
        (None, "failing yanıt veremedi; bu yanıt çevrimdışı yanıtlayıcıdan geliyor."),
    ],
)
async def test_the_fallback_notice_is_in_the_page_language(alice, company, failing_provider, cookies, notice):
    comm = communicator(alice, cookies=cookies)
    await comm.connect()
    try:
        await comm.send_json_to({"message": "Yıllık izin talebi nereden yapılır?"})
        frames = []
        while 'id="chat-state" class=""' not in (frames[-1] if frames else ""):
            frames.append(await comm.receive_from(timeout=10))
    finally:
        await comm.disconnect()
    notices = [f for f in frames if 'class="notice"' in f]
    assert len(notices) == 1 and notice in notices[0]
    assert "İK Portalı" in frames[-1]


def test_the_fallback_notice_follows_accept_language_over_server_sent_events(client, alice, company, failing_provider):
    import json

    client.force_login(alice)
    response = client.post(
        "/api/chat/",
        {"message": "Yıllık izin talebi nereden yapılır?"},
        content_type="application/json",
        headers={"accept": "text/event-stream", "accept-language": "en"},
    )
    body = b"".join(response.streaming_content).decode()
    notices = [
        json.loads(line[6:])
        for block in body.split("\n\n")
        if block.startswith("event: notice")
        for line in block.splitlines()
        if line.startswith("data: ")
    ]
    assert notices == [{"text": "failing did not answer; this answer comes from the offline answerer."}]
