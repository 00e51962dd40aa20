"""Messages that met Rasa down: one apology, then an answer once Rasa is back, in order, never twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.conversations.models import Direction, InboundStatus, Message
from bot.conversations.repository import SUPERSEDED_REASON
from bot.db import utcnow
from bot.gateway.gateway import RASA_UNAVAILABLE, SERVICE_UNAVAILABLE_REPLY
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


async def test_a_message_answered_later_supersedes_the_failed_one(pipeline: Pipeline) -> None:
    await fail_while_rasa_is_down(pipeline, KTP_QUESTION)
    pipeline.rasa.mode = "ok"
    await pipeline.inbox.accept(event("halo", message_id="5550001:2"))  # the citizen wrote again first
    await pipeline.settle()
    await pipeline.inbox.recover()
    await pipeline.settle()

    assert [call["message"] for call in pipeline.rasa.webhook_calls] == [KTP_QUESTION, "halo"]
    assert pipeline.connector.texts() == [SERVICE_UNAVAILABLE_REPLY, *GREETING]
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
