"""Messages that met Rasa down: one apology, then an answer once Rasa is back, in order, never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.conversations.models import Channel, Direction, InboundStatus, Message
from bot.conversations.repository import SUPERSEDED_REASON
from bot.db import utcnow
from bot.gateway.gateway import RASA_UNAVAILABLE, SERVICE_UNAVAILABLE_REPLY, MessageIdConflictError
from tests.channels.helpers import Pipeline, event
from tests.service.fake_rasa import CANNED, KTP_QUESTION

KTP_REPLIES = [reply["text"] for reply in CANNED[KTP_QUESTION].replies]
GREETING = [reply.get("text", "") for reply in CANNED["halo"].replies]


async def fail_while_rasa_is_down(pipeline: Pipeline, *texts: str) -> None:
    pipeline.rasa.mode = "error"
    for number, text in enumerate(texts):
        await pipeline.inbox.accept(event(text, message_id=f"5550001:{number + 1}"))
    await pipeline.settle()


def inbound_states(pipeline: Pipeline) -> list[tuple[str, str, str | None]]:
    return [(m.text, m.status, m.status_reason) for m in pipeline.rows(Direction.IN)]


async def test_answered_in_order_once_rasa_is_back_after_one_apology_each(pipeline: Pipeline) -> None:
    await fail_while_rasa_is_down(pipeline, "halo", KTP_QUESTION)
    assert pipeline.connector.texts() == [SERVICE_UNAVAILABLE_REPLY] * 2
    assert inbound_states(pipeline) == [
        ("halo", InboundStatus.FAILED, RASA_UNAVAILABLE),
        (KTP_QUESTION, InboundStatus.FAILED, RASA_UNAVAILABLE),
    ]

    await pipeline.inbox.recover()  # a sweep while Rasa is still down: nothing sent, no attempt spent
    await pipeline.settle()
    assert pipeline.connector.texts() == [SERVICE_UNAVAILABLE_REPLY] * 2
    assert [m.attempts for m in pipeline.rows(Direction.IN)] == [1, 1]

    pipeline.rasa.mode = "ok"
    pipeline.rasa.webhook_calls.clear()
    await pipeline.inbox.recover()
    await pipeline.settle()

    assert [call["message"] for call in pipeline.rasa.webhook_calls] == ["halo", KTP_QUESTION]
    assert pipeline.connector.texts() == [SERVICE_UNAVAILABLE_REPLY] * 2 + GREETING + KTP_REPLIES
    assert inbound_states(pipeline) == [
        ("halo", InboundStatus.PROCESSED, None),
        (KTP_QUESTION, InboundStatus.PROCESSED, None),
    ]

    await pipeline.inbox.recover()  # and never a second time
    await pipeline.settle()
    assert len(pipeline.rasa.webhook_calls) == 2


async def test_a_retry_that_meets_rasa_down_again_sends_no_second_apology(pipeline: Pipeline) -> None:
    await fail_while_rasa_is_down(pipeline, KTP_QUESTION)
    with pipeline.database.session() as session:  # requeued, as a sweep does when /status answered
        session.execute(update(Message).where(Message.direction == Direction.IN).values(status="received"))
    await pipeline.inbox.recover()
    await pipeline.settle()

    assert len(pipeline.rasa.webhook_calls) == 2
    assert pipeline.connector.texts() == [SERVICE_UNAVAILABLE_REPLY]
    assert inbound_states(pipeline) == [(KTP_QUESTION, InboundStatus.FAILED, RASA_UNAVAILABLE)]


async def test_a_quick_follow_up_is_answered_after_the_failed_one_not_instead(pipeline: Pipeline) -> None:
    await fail_while_rasa_is_down(pipeline, KTP_QUESTION)
    pipeline.rasa.mode = "ok"
    await pipeline.inbox.accept(event("halo", message_id="5550001:2"))  # written before any sweep ran
    await pipeline.settle()

    assert [call["message"] for call in pipeline.rasa.webhook_calls] == [KTP_QUESTION, KTP_QUESTION, "halo"]
    assert pipeline.connector.texts() == [SERVICE_UNAVAILABLE_REPLY, *KTP_REPLIES, *GREETING]
    assert inbound_states(pipeline) == [
        (KTP_QUESTION, InboundStatus.PROCESSED, None),
        ("halo", InboundStatus.PROCESSED, None),
    ]


async def test_the_retry_starts_as_soon_as_rasa_answers_another_citizen(pipeline: Pipeline) -> None:
    await fail_while_rasa_is_down(pipeline, KTP_QUESTION)
    pipeline.rasa.mode = "ok"
    # Another citizen's turn is the first to reach Rasa again; no sweep runs (the test never calls recover).
    await pipeline.inbox.accept(event("halo", sender_id="777", message_id="777:1"))
    await pipeline.settle()

    assert sorted(call["message"] for call in pipeline.rasa.webhook_calls) == sorted(
        [KTP_QUESTION, KTP_QUESTION, "halo"]
    )
    assert inbound_states(pipeline)[0] == (KTP_QUESTION, InboundStatus.PROCESSED, None)
    assert pipeline.connector.texts("5550001") == [SERVICE_UNAVAILABLE_REPLY, *KTP_REPLIES]


async def test_a_message_answered_later_supersedes_the_failed_one(pipeline: Pipeline) -> None:
    await fail_while_rasa_is_down(pipeline, KTP_QUESTION)
    pipeline.rasa.mode = "ok"
    await pipeline.inbox.accept(event("halo", message_id="5550001:2"))
    await pipeline.settle()
    with pipeline.database.session() as session:  # the retry met Rasa down; the follow-up did not
        session.execute(
            update(Message)
            .where(Message.text == KTP_QUESTION, Message.direction == Direction.IN)
            .values(status=InboundStatus.FAILED, status_reason=RASA_UNAVAILABLE)
        )
    pipeline.rasa.webhook_calls.clear()
    await pipeline.inbox.recover()
    await pipeline.settle()

    assert pipeline.rasa.webhook_calls == []
    assert inbound_states(pipeline) == [
        (KTP_QUESTION, InboundStatus.FAILED, SUPERSEDED_REASON),
        ("halo", InboundStatus.PROCESSED, None),
    ]


async def test_old_or_much_tried_messages_are_left_failed(pipeline: Pipeline) -> None:
    await fail_while_rasa_is_down(pipeline, "halo", KTP_QUESTION)
    max_age = pipeline.inbox.config.retry_failed_max_age_seconds
    with pipeline.database.session() as session:
        session.execute(
            update(Message)
            .where(Message.text == "halo", Message.direction == Direction.IN)
            .values(created_at=utcnow() - timedelta(seconds=max_age + 60))
        )
        session.execute(
            update(Message)
            .where(Message.text == KTP_QUESTION, Message.direction == Direction.IN)
            .values(attempts=pipeline.inbox.config.retry_failed_max_attempts)
        )
    pipeline.rasa.mode = "ok"
    pipeline.rasa.webhook_calls.clear()
    await pipeline.inbox.recover()
    await pipeline.settle()

    assert pipeline.rasa.webhook_calls == []
    assert [status for _, status, _ in inbound_states(pipeline)] == [InboundStatus.FAILED] * 2


# --- the web chat: no inbox queue; a client retry (same message_id) or the inbox sweep answers it ---


async def web_turn_while_rasa_is_down(pipeline: Pipeline, text: str, message_id: str) -> None:
    pipeline.rasa.mode = "error"
    replies = await pipeline.gateway.handle_inbound(Channel.WEB, "web-1", text, message_id)
    assert [reply.text for reply in replies] == [SERVICE_UNAVAILABLE_REPLY]
    pipeline.rasa.webhook_calls.clear()


async def test_web_client_retry_is_answered_once_rasa_is_back(pipeline: Pipeline) -> None:
    await web_turn_while_rasa_is_down(pipeline, KTP_QUESTION, "c-1")

    still_down = await pipeline.gateway.handle_inbound(Channel.WEB, "web-1", KTP_QUESTION, "c-1")
    assert [reply.text for reply in still_down] == [
        SERVICE_UNAVAILABLE_REPLY
    ]  # the stored one, not a new one
    assert pipeline.rasa.webhook_calls == []  # /status said no: no try spent

    pipeline.rasa.mode = "ok"
    answered = await pipeline.gateway.handle_inbound(Channel.WEB, "web-1", KTP_QUESTION, "c-1")
    again = await pipeline.gateway.handle_inbound(Channel.WEB, "web-1", KTP_QUESTION, "c-1")

    assert [reply.text for reply in answered] == KTP_REPLIES
    assert [reply.text for reply in again] == KTP_REPLIES  # a later duplicate: the answer, not the apology
    assert [call["message"] for call in pipeline.rasa.webhook_calls] == [KTP_QUESTION]
    assert inbound_states(pipeline) == [(KTP_QUESTION, InboundStatus.PROCESSED, None)]
    apologies = [m for m in pipeline.rows(Direction.OUT) if m.text == SERVICE_UNAVAILABLE_REPLY]
    assert len(apologies) == 1


async def test_web_turn_is_answered_by_the_sweep_and_shown_by_updates(pipeline: Pipeline) -> None:
    await web_turn_while_rasa_is_down(pipeline, KTP_QUESTION, "c-1")
    await pipeline.inbox.recover()  # Rasa still down: nothing happens
    assert pipeline.rasa.webhook_calls == []

    pipeline.rasa.mode = "ok"
    await pipeline.inbox.recover()
    await pipeline.settle()  # web turns are answered by a background task of the inbox
    await pipeline.inbox.recover()  # and only once
    await pipeline.settle()

    assert [call["message"] for call in pipeline.rasa.webhook_calls] == [KTP_QUESTION]
    updates = await pipeline.gateway.updates_for(Channel.WEB, "web-1", after_id=0)
    assert [reply.text for reply in updates] == [SERVICE_UNAVAILABLE_REPLY, *KTP_REPLIES]
    assert inbound_states(pipeline) == [(KTP_QUESTION, InboundStatus.PROCESSED, None)]
    assert pipeline.connector.texts() == []  # web replies are not handed to a messaging connector


async def test_web_turn_overtaken_by_an_answered_one_is_not_answered_late(pipeline: Pipeline) -> None:
    await web_turn_while_rasa_is_down(pipeline, KTP_QUESTION, "c-1")
    pipeline.rasa.mode = "ok"
    await pipeline.gateway.handle_inbound(Channel.WEB, "web-1", "halo", "c-2")

    retried = await pipeline.gateway.handle_inbound(Channel.WEB, "web-1", KTP_QUESTION, "c-1")
    await pipeline.inbox.recover()
    await pipeline.settle()

    assert [reply.text for reply in retried] == [SERVICE_UNAVAILABLE_REPLY]
    assert [call["message"] for call in pipeline.rasa.webhook_calls] == ["halo"]
    assert inbound_states(pipeline) == [
        (KTP_QUESTION, InboundStatus.FAILED, SUPERSEDED_REASON),
        ("halo", InboundStatus.PROCESSED, None),
    ]


async def test_web_turn_out_of_tries_is_left_failed(pipeline: Pipeline) -> None:
    await web_turn_while_rasa_is_down(pipeline, KTP_QUESTION, "c-1")
    with pipeline.database.session() as session:
        session.execute(
            update(Message)
            .where(Message.direction == Direction.IN)
            .values(attempts=pipeline.gateway.retry_failed_max_attempts)
        )
    pipeline.rasa.mode = "ok"

    retried = await pipeline.gateway.handle_inbound(Channel.WEB, "web-1", KTP_QUESTION, "c-1")
    await pipeline.inbox.recover()
    await pipeline.settle()

    assert [reply.text for reply in retried] == [SERVICE_UNAVAILABLE_REPLY]
    assert pipeline.rasa.webhook_calls == []
    assert inbound_states(pipeline) == [(KTP_QUESTION, InboundStatus.FAILED, RASA_UNAVAILABLE)]


async def test_web_retry_of_another_senders_message_id_is_a_conflict(pipeline: Pipeline) -> None:
    await web_turn_while_rasa_is_down(pipeline, KTP_QUESTION, "c-1")
    pipeline.rasa.mode = "ok"

    with pytest.raises(MessageIdConflictError):
        await pipeline.gateway.handle_inbound(Channel.WEB, "web-2", KTP_QUESTION, "c-1")
    assert pipeline.rasa.webhook_calls == []
