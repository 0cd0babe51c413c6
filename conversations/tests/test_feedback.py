from __future__ import annotations

import json

from django.utils import timezone

from conversations.models import Message
from conversations.services import conversation_create


def answer_for(user):
    conversation = conversation_create(user=user, title="t")
    return Message.objects.create(conversation=conversation, role="assistant", content="Yanıt [1]", created_at=timezone.now())


def test_thumbs_up_is_saved_and_pressing_again_clears_it(client, alice):
    message = answer_for(alice)
    client.force_login(alice)
    response = client.post(f"/m/{message.id}/feedback/", {"value": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'aria-pressed="true"' in response.content.decode()
    message.refresh_from_db()
    assert message.feedback == 1
    client.post(f"/m/{message.id}/feedback/", {"value": "1"})
    message.refresh_from_db()
    assert message.feedback is None


def test_feedback_through_the_api(client, alice):
    message = answer_for(alice)
    client.force_login(alice)
    response = client.post(f"/api/messages/{message.id}/feedback/", json.dumps({"value": -1}), content_type="application/json")
    assert response.status_code == 200 and response.json() == {"value": -1}
    bad = client.post(f"/api/messages/{message.id}/feedback/", json.dumps({"value": 7}), content_type="application/json")
    assert bad.status_code == 400


def test_a_strangers_answer_is_404(client, alice, stranger):
    message = answer_for(alice)
    client.force_login(stranger)
    assert client.post(f"/m/{message.id}/feedback/", {"value": "1"}).status_code == 404
    assert (
        client.post(
            f"/api/messages/{message.id}/feedback/", json.dumps({"value": 1}), content_type="application/json"
        ).status_code
        == 404
    )
    message.refresh_from_db()
    assert message.feedback is None
