from __future__ import annotations

import pytest

from conversations import services
from conversations.models import ID_LENGTH, Conversation, Message
from conversations.services import conversation_create


def test_new_conversations_get_short_url_safe_ids(alice):
    ids = {conversation_create(user=alice).id for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == ID_LENGTH and i.isalnum() for i in ids)


def test_an_id_collision_is_retried_and_never_overwrites(alice, stranger, monkeypatch):
    first = conversation_create(user=alice, title="Mine")
    generated = iter([first.id, first.id, "FreshId123"])
    monkeypatch.setattr(services, "new_conversation_id", lambda: next(generated))
    second = conversation_create(user=stranger, title="Theirs")
    assert second.id == "FreshId123"
    first.refresh_from_db()
    assert (first.owner, first.title) == (alice, "Mine")


def test_a_broken_id_generator_fails_loudly(alice, monkeypatch):
    taken = conversation_create(user=alice).id
    monkeypatch.setattr(services, "new_conversation_id", lambda: taken)
    with pytest.raises(RuntimeError):
        conversation_create(user=alice)


def test_deleting_a_user_deletes_their_conversations_and_messages(alice, stranger):
    mine = conversation_create(user=alice)
    theirs = conversation_create(user=stranger)
    for conversation in (mine, theirs):
        Message.objects.create(conversation=conversation, role="user", content="Merhaba", created_at=conversation.created_at)
    alice.delete()
    assert list(Conversation.objects.all()) == [theirs]
    assert Message.objects.count() == 1 and Message.objects.get().conversation == theirs
