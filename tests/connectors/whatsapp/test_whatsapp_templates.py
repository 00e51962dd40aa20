"""Outside WhatsApp's 24-hour window a message goes as the approved template (WHATSAPP_NOTIFICATION_TEMPLATE),
its text in the one body variable; without a template it is kept as needs_template, as before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.conversations.models import Direction, Message, OutboundStatus
from bot.gateway.delivery import DeliveryConfig
from bot.gateway.gateway import OutboundMessage
from bot.gateway.rasa_client import Button
from bot.settings import Settings
from connectors.whatsapp import WhatsAppConnector
from connectors.whatsapp_render import units
from connectors.whatsapp_templates import (
    EMPTY_TEXT,
    MAX_PARAMETER,
    Template,
    template_parameter,
    template_part,
)
from tests.connectors.whatsapp import test_whatsapp_webhook as webhook_tests
from tests.connectors.whatsapp.fake_graph_api import FakeGraphApi, envelope, status, text_message
from tests.connectors.whatsapp.test_whatsapp_webhook import CITIZEN, DEFAULT_REPLY, WhatsAppService

make_service = webhook_tests.make_service  # the real app on the fake Graph API and fake Rasa

TEMPLATE = "pemberitahuan_layanan"
NOTICE = 'Status laporan ADU-7K3M9QXZ kini: "Selesai".\nCatatan petugas: "Lubang sudah ditambal."'
FLAT_NOTICE = 'Status laporan ADU-7K3M9QXZ kini: "Selesai". Catatan petugas: "Lubang sudah ditambal."'


async def notify(
    service: WhatsAppService, text: str, key: str, buttons: list[dict[str, str]] | None = None
) -> None:
    """A notice to a citizen who has not written in 24 hours (never, here), then wait for delivery."""
    await service.app.state.gateway.notify("whatsapp", CITIZEN, text, key, buttons)
    service.app.state.delivery.kick("whatsapp", CITIZEN)
    await service.settle()


def only_outbound(service: WhatsAppService) -> Message:
    [row] = service.rows(Direction.OUT)
    return row


# --- the message body ----------------------------------------------------------------------------------


def test_the_template_part_has_the_graph_api_shape() -> None:
    assert template_part(Template(TEMPLATE, "id"), NOTICE) == {
        "type": "template",
        "template": {
            "name": TEMPLATE,
            "language": {"code": "id"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": FLAT_NOTICE}]}],
        },
    }


def test_the_parameter_is_one_line_within_the_limit_and_never_empty() -> None:
    assert template_parameter("a\n\nb\tc      d") == "a b c d"
    long = "Laporan 😀 " * 300  # emoji count twice in the Cloud API's limit
    trimmed = template_parameter(long)
    assert units(trimmed) <= MAX_PARAMETER and trimmed.endswith("…")
    assert long.startswith(trimmed[:-1].rstrip())
    assert template_parameter("") == EMPTY_TEXT
    assert template_parameter(" \n ") == EMPTY_TEXT


def test_settings_default_keeps_todays_behaviour() -> None:
    settings = Settings(_env_file=None)
    assert (settings.whatsapp_notification_template, settings.whatsapp_template_language) == ("", "id")
    assert DeliveryConfig.from_settings(settings).template is None
    configured = Settings(
        _env_file=None, whatsapp_notification_template=f" {TEMPLATE} ", whatsapp_template_language="en_US"
    )
    assert DeliveryConfig.from_settings(configured).template == Template(TEMPLATE, "en_US")


# --- the connector --------------------------------------------------------------------------------------


async def test_the_connector_sends_a_template_without_the_buttons(
    connector: WhatsAppConnector, fake_graph_api: FakeGraphApi
) -> None:
    message = OutboundMessage(
        id=7, text=NOTICE, buttons=(Button("Cek status", '/check_status{"ticket_code":"ADU-7K3M9QXZ"}'),)
    )
    [wamid] = await connector.send_template(CITIZEN, message, Template(TEMPLATE))
    [sent] = fake_graph_api.sent
    assert sent.wamid == wamid and sent.to == CITIZEN and sent.type == "template"
    assert sent.template_parameters == [FLAT_NOTICE]
    assert "interactive" not in sent.body and "check_status" not in str(sent.body)


# --- through the delivery worker ------------------------------------------------------------------------


async def test_outside_the_window_the_notice_goes_as_the_template(
    make_service: Callable[..., Any], fake_graph_api: FakeGraphApi
) -> None:
    async with make_service(whatsapp_notification_template=TEMPLATE) as service:
        await notify(service, NOTICE, "status:1", [{"title": "Cek status", "payload": "/check_status"}])
        [sent] = fake_graph_api.sent_to(CITIZEN)
        assert sent.type == "template" and sent.body["template"]["name"] == TEMPLATE
        assert sent.body["template"]["language"] == {"code": "id"}
        assert sent.template_parameters == [FLAT_NOTICE]
        row = only_outbound(service)
        assert (row.status, row.status_reason, row.attempts) == (
            OutboundStatus.SENT,
            f"template:{TEMPLATE}",
            1,
        )

        # Delivery reports move the status on and keep how it went.
        for state, expected in (("delivered", OutboundStatus.DELIVERED), ("read", OutboundStatus.READ)):
            await service.post(envelope(statuses=[status(sent.wamid, state, CITIZEN)]))
            row = only_outbound(service)
            assert (row.status, row.status_reason) == (expected, f"template:{TEMPLATE}")

        # The same notification again (a retried call) is not sent twice.
        await notify(service, NOTICE, "status:1")
        assert len(fake_graph_api.sent_to(CITIZEN)) == 1


async def test_without_a_template_the_notice_is_kept_as_needs_template(
    make_service: Callable[..., Any], fake_graph_api: FakeGraphApi
) -> None:
    async with make_service() as service:
        await notify(service, NOTICE, "status:2")
        assert fake_graph_api.sent == [] and fake_graph_api.refused == []
        assert only_outbound(service).status == OutboundStatus.NEEDS_TEMPLATE


async def test_refused_by_the_window_rule_it_is_sent_again_as_the_template(
    make_service: Callable[..., Any], fake_graph_api: FakeGraphApi
) -> None:
    async with make_service(whatsapp_notification_template=TEMPLATE) as service:
        fake_graph_api.fail(131047)  # the platform's clock says the window closed; ours did not
        await service.post(envelope([text_message(CITIZEN, "wamid.late", "halo lagi")]))
        await service.settle()
        [refused] = fake_graph_api.refused
        assert refused["type"] == "text"
        [sent] = fake_graph_api.sent_to(CITIZEN)
        assert sent.type == "template" and sent.template_parameters == [DEFAULT_REPLY]
        row = only_outbound(service)
        assert (row.status, row.status_reason, row.attempts) == (
            OutboundStatus.SENT,
            f"template:{TEMPLATE}",
            1,
        )


async def test_inside_the_window_messages_are_not_templates(
    make_service: Callable[..., Any], fake_graph_api: FakeGraphApi
) -> None:
    async with make_service(whatsapp_notification_template=TEMPLATE) as service:
        await service.post(envelope([text_message(CITIZEN, "wamid.fresh", "halo")]))
        await service.settle()
        await notify(service, NOTICE, "status:3")
        assert [sent.type for sent in fake_graph_api.sent_to(CITIZEN)] == ["text", "text"]
        assert all(row.status_reason is None for row in service.rows(Direction.OUT))


async def test_a_template_the_platform_does_not_know_fails_visibly(
    make_service: Callable[..., Any], fake_graph_api: FakeGraphApi
) -> None:
    async with make_service(whatsapp_notification_template="belum_disetujui") as service:
        await notify(service, NOTICE, "status:4")
        assert fake_graph_api.sent == []
        row = only_outbound(service)
        assert row.status == OutboundStatus.FAILED and row.attempts == 1
        assert row.status_reason is not None and row.status_reason.startswith("permanent: 132001")
