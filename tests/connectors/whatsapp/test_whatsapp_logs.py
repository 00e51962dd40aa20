"""A WhatsApp message through the whole pipeline (webhook, inbox, gateway, Rasa, delivery) leaves no phone
number, NIK or sender id in clear in any log line; the citizen is named by the keyed hash of the sender id."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from bot.log_masking import sender_label
from tests.connectors.whatsapp.fake_graph_api import envelope, text_message

# The WhatsApp webhook tests' service (the real app with its workers, fake Rasa and fake Graph API).
from tests.connectors.whatsapp.test_whatsapp_webhook import CITIZEN, make_service  # noqa: F401
from tests.service.conftest import fresh_log_masking  # noqa: F401

NIK = "3201010101900001"
CONTACT = "081298765432"


async def test_a_whatsapp_message_leaves_no_personal_data_in_the_logs(
    fresh_log_masking: None,  # noqa: F811
    make_service: Callable[..., Any],  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="httpx")  # request lines, whatever another test set
    caplog.set_level(logging.DEBUG, logger="bot")  # the gateway logs the (masked) text at DEBUG
    text = f"KTP saya hilang, NIK {NIK}, hubungi {CONTACT}"
    async with make_service() as service:
        response = await service.post(
            envelope([text_message(CITIZEN, "wamid.HBgMlog1", text)], sender=CITIZEN)
        )
        assert response.status_code == 200
        await service.settle()
        await service.wait_for(lambda fake: fake.sent_to(CITIZEN))

    # The data path still carries the real identity (the NIK reaches Rasa masked, bot/nik.py); only the logs
    # name the citizen by a keyed hash.
    assert service.rasa.webhook_calls[0]["sender"] == f"whatsapp:{CITIZEN}"
    assert service.rasa.webhook_calls[0]["message"] == text.replace(NIK, "3201********0001")
    lines = [record.getMessage() for record in caplog.records]
    everything = caplog.text + "\n".join(lines)
    for clear in (CITIZEN, NIK, CONTACT):
        assert clear not in everything
    label = sender_label("whatsapp", CITIZEN)
    assert any(line.startswith("inbound #") and line.endswith(f"from {label}") for line in lines), lines
    assert any(f"/conversations/{label}/tracker" in line for line in lines if "HTTP Request" in line), lines
    assert any("3201********0001" in line and "0812*****432" in line for line in lines), lines
