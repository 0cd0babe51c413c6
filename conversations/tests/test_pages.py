from __future__ import annotations

from django.utils import timezone

from conversations.models import Message
from conversations.services import conversation_create


def add_message(conversation, role, content, **extra):
    return Message.objects.create(conversation=conversation, role=role, content=content, created_at=timezone.now(), **extra)


def test_the_chat_page_lists_my_conversations_only(client, alice, stranger):
    conversation_create(user=alice, title="İzin sorusu")
    conversation_create(user=stranger, title="Secret plans")
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert "İzin sorusu" in html and "Secret plans" not in html


def test_a_conversation_shows_its_messages_and_sources(client, alice, company):
    conversation = conversation_create(user=alice, title="İzin")
    add_message(conversation, "user", "Yıllık izin nasıl alınır?")
    add_message(
        conversation,
        "assistant",
        "İK Portalı üzerinden **talep** açılır [1].",
        used_documents=[{"key": "PR1", "score": 0.9}, {"key": "PR9", "score": 0.2}],
    )
    client.force_login(alice)
    html = client.get(f"/c/{conversation.id}/").content.decode()
    assert "Yıllık izin nasıl alınır?" in html
    assert "<strong>talep</strong>" in html
    assert 'href="/documents/PR1/"' in html
    # A cited document the viewer may not open is shown as a plain key, not a link or title.
    assert 'href="/documents/PR9/"' not in html and "Bordro" not in html


def test_citations_in_an_answer_link_to_the_documents_the_viewer_may_open(client, alice, company):
    conversation = conversation_create(user=alice, title="İzin")
    add_message(
        conversation,
        "assistant",
        "Talep portaldan açılır [1]. Bordro ayrıdır [2].",
        used_documents=[{"n": 1, "key": "PR1", "score": 0.9}, {"n": 2, "key": "PR9", "score": 0.2}],
    )
    client.force_login(alice)
    html = client.get(f"/c/{conversation.id}/").content.decode()
    prose = html.split('class="prose"')[1].split("</div>")[0]
    assert '<a href="/documents/PR1/" rel="noopener noreferrer nofollow">[1]</a>' in prose
    assert "[2]" in prose and "/documents/PR9/" not in prose


def test_a_strangers_conversation_is_404(client, alice, stranger):
    conversation = conversation_create(user=alice, title="Mine")
    client.force_login(stranger)
    assert client.get(f"/c/{conversation.id}/").status_code == 404


def test_an_unknown_or_malformed_conversation_id_is_404(client, alice):
    client.force_login(alice)
    assert client.get("/c/doesnotexist/").status_code == 404
    assert client.get("/c/bad%20id!/").status_code == 404


def test_pages_need_a_login(client, alice):
    conversation = conversation_create(user=alice)
    for path in ("/", f"/c/{conversation.id}/"):
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith("/login/")
