"""The sidebar of conversations: rename in place, delete, search."""

from __future__ import annotations

import pytest
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.services import conversation_create


def add_message(conversation, role, content):
    return Message.objects.create(conversation=conversation, role=role, content=content, created_at=timezone.now())


def htmx(page: str = "/") -> dict:
    """Headers htmx sends from a page showing ``page``."""
    return {"HX-Request": "true", "HX-Current-URL": f"http://testserver{page}"}


@pytest.fixture
def conversation(alice):
    return conversation_create(user=alice, title="İzin sorusu")


def test_the_sidebar_has_the_hooks_the_page_relies_on(client, alice, conversation):
    client.force_login(alice)
    html = client.get(f"/c/{conversation.id}/").content.decode()
    assert '<ul id="conversation-list"' in html
    assert f'<li class="conversation-item" id="conversation-{conversation.id}" data-conversation-id="{conversation.id}"' in html
    assert 'class="conversation-link"' in html and 'aria-current="page"' in html
    assert 'data-action="rename"' in html and 'data-action="delete"' in html
    assert 'id="conversation-search"' in html and 'name="q"' in html
    assert "hx-confirm=" in html


# --- rename -------------------------------------------------------------------


def test_the_rename_button_swaps_in_a_form_with_the_title(client, alice, conversation):
    client.force_login(alice)
    response = client.get(f"/c/{conversation.id}/rename/", headers=htmx())
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="conversation-item renaming"' in html
    assert 'name="title" value="İzin sorusu"' in html and "autofocus" in html


def test_it_renames_a_conversation_with_the_title_stripped(client, alice, conversation):
    before = Conversation.objects.get(pk=conversation.pk).updated_at
    client.force_login(alice)
    response = client.post(f"/c/{conversation.id}/rename/", {"title": "  Yıllık izin  "}, headers=htmx())
    assert response.status_code == 200
    html = response.content.decode()
    assert "Yıllık izin" in html and "renaming" not in html and 'name="title"' not in html
    conversation.refresh_from_db()
    assert conversation.title == "Yıllık izin"
    # Renaming does not move the conversation to the top of the list.
    assert conversation.updated_at == before


def test_renaming_the_open_conversation_also_updates_its_heading(client, alice, conversation):
    client.force_login(alice)
    open_page = client.post(f"/c/{conversation.id}/rename/", {"title": "Yeni"}, headers=htmx(f"/c/{conversation.id}/"))
    other_page = client.post(f"/c/{conversation.id}/rename/", {"title": "Yeni"}, headers=htmx("/"))
    assert 'id="conversation-title" hx-swap-oob="true">Yeni</h1>' in open_page.content.decode()
    assert "conversation-title" not in other_page.content.decode()


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_a_bad_title_is_400_with_the_form_and_changes_nothing(client, alice, conversation, title):
    client.force_login(alice)
    response = client.post(f"/c/{conversation.id}/rename/", {"title": title}, headers=htmx())
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="conversation-item renaming"' in html and 'role="alert"' in html and 'aria-invalid="true"' in html
    # The list still shows the saved title; the form keeps what was typed.
    assert '<span class="c-title">İzin sorusu</span>' in html
    conversation.refresh_from_db()
    assert conversation.title == "İzin sorusu"


def test_a_title_of_exactly_200_characters_is_fine(client, alice, conversation):
    client.force_login(alice)
    response = client.post(f"/c/{conversation.id}/rename/", {"title": "x" * 200}, headers=htmx())
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.title == "x" * 200


def test_a_stranger_cannot_rename_or_even_see_the_form(client, stranger, conversation):
    client.force_login(stranger)
    assert client.get(f"/c/{conversation.id}/rename/", headers=htmx()).status_code == 404
    assert client.post(f"/c/{conversation.id}/rename/", {"title": "Mine now"}, headers=htmx()).status_code == 404
    conversation.refresh_from_db()
    assert conversation.title == "İzin sorusu"


# --- delete -------------------------------------------------------------------


def test_it_deletes_a_conversation_and_its_messages(client, alice, conversation):
    add_message(conversation, "user", "Yıllık izin nasıl alınır?")
    other = conversation_create(user=alice, title="Other")
    client.force_login(alice)
    response = client.post(f"/c/{conversation.id}/delete/", headers=htmx(f"/c/{other.id}/"))
    # Another conversation is open: its item just goes away.
    assert response.status_code == 200 and response.content == b"" and "HX-Redirect" not in response.headers
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.exists()
    assert Conversation.objects.filter(pk=other.pk).exists()


def test_deleting_the_open_conversation_sends_the_page_home(client, alice, conversation):
    client.force_login(alice)
    response = client.post(f"/c/{conversation.id}/delete/", headers=htmx(f"/c/{conversation.id}/"))
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/"
    assert not Conversation.objects.exists()


def test_deleting_without_htmx_redirects_home(client, alice, conversation):
    client.force_login(alice)
    response = client.post(f"/c/{conversation.id}/delete/")
    assert response.status_code == 302 and response.url == "/"
    assert not Conversation.objects.exists()


def test_a_stranger_cannot_delete(client, stranger, conversation):
    client.force_login(stranger)
    assert client.post(f"/c/{conversation.id}/delete/", headers=htmx()).status_code == 404
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_delete_is_post_only(client, alice, conversation):
    client.force_login(alice)
    assert client.get(f"/c/{conversation.id}/delete/").status_code == 405
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_unknown_conversations_are_404(client, alice):
    client.force_login(alice)
    assert client.post("/c/doesnotexist/delete/", headers=htmx()).status_code == 404
    assert client.post("/c/doesnotexist/rename/", {"title": "x"}, headers=htmx()).status_code == 404


def test_anonymous_is_sent_to_login(client, conversation):
    for response in (
        client.post(f"/c/{conversation.id}/delete/"),
        client.post(f"/c/{conversation.id}/rename/", {"title": "x"}),
        client.get(f"/c/{conversation.id}/rename/"),
        client.get("/conversations/?q=izin"),
    ):
        assert response.status_code == 302 and response.url.startswith("/login/")
    assert Conversation.objects.get(pk=conversation.pk).title == "İzin sorusu"


def test_writes_need_the_csrf_token(alice, conversation):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(f"/c/{conversation.id}/delete/", headers=htmx()).status_code == 403
    assert Conversation.objects.filter(pk=conversation.pk).exists()


# --- search -------------------------------------------------------------------


@pytest.fixture
def three(alice, stranger):
    leave = conversation_create(user=alice, title="İzin sorusu")
    kafka = conversation_create(user=alice, title="Mühendisler")
    add_message(kafka, "user", "Kafka bilen mühendisler kim?")
    add_message(kafka, "assistant", "Ayşe Yılmaz Kafka biliyor [1].")
    lunch = conversation_create(user=alice, title="Yemek kartı")
    conversation_create(user=stranger, title="İzin planı")
    return leave, kafka, lunch


def ids_in(html: str) -> set[str]:
    import re

    return set(re.findall(r'data-conversation-id="([^"]+)"', html))


def test_search_filters_by_title_and_returns_the_list_partial(client, alice, three):
    leave, kafka, lunch = three
    client.force_login(alice)
    html = client.get("/conversations/", {"q": "izin"}, headers=htmx()).content.decode()
    assert html.lstrip().startswith('<ul id="conversation-list"') and "<html" not in html
    # Turkish-aware: "izin" finds "İzin"; the stranger's "İzin planı" is not alice's.
    assert ids_in(html) == {leave.id}


def test_search_filters_by_message_text(client, alice, three):
    leave, kafka, lunch = three
    client.force_login(alice)
    html = client.get("/conversations/", {"q": "KAFKA"}, headers=htmx()).content.decode()
    assert ids_in(html) == {kafka.id}


def test_every_word_of_the_search_must_match(client, alice, three):
    leave, kafka, lunch = three
    client.force_login(alice)
    assert ids_in(client.get("/conversations/", {"q": "kafka ayşe"}, headers=htmx()).content.decode()) == {kafka.id}
    assert ids_in(client.get("/conversations/", {"q": "kafka izin"}, headers=htmx()).content.decode()) == set()


def test_an_empty_search_lists_everything_and_no_match_says_so(client, alice, three):
    client.force_login(alice)
    assert len(ids_in(client.get("/conversations/", {"q": ""}, headers=htmx()).content.decode())) == 3
    html = client.get("/conversations/", {"q": "zzz"}, headers=htmx()).content.decode()
    assert ids_in(html) == set() and "zzz" in html and "conversation-empty" in html


def test_search_results_keep_the_open_conversation_marked(client, alice, three):
    leave, kafka, lunch = three
    client.force_login(alice)
    html = client.get("/conversations/", {"q": "kafka"}, headers=htmx(f"/c/{kafka.id}/")).content.decode()
    assert 'aria-current="page"' in html


def test_search_works_without_htmx_as_a_normal_page(client, alice, three):
    leave, kafka, lunch = three
    client.force_login(alice)
    response = client.get("/conversations/", {"q": "kafka"})
    assert response.status_code == 302 and response.url == "/?q=kafka"
    html = client.get("/", {"q": "kafka"}).content.decode()
    assert "<html" in html and ids_in(html) == {kafka.id} and 'value="kafka"' in html
    html = client.get(f"/c/{leave.id}/", {"q": "yemek"}).content.decode()
    assert ids_in(html) == {lunch.id}
