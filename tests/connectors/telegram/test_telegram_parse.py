"""Telegram updates (real payload shapes) → platform-neutral InboundEvents."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import pytest

from connectors.base import AttachmentKind, EventKind, InboundEvent
from connectors.callback_store import CallbackStore, short_id
from connectors.telegram import TelegramConnector
from tests.connectors.telegram.conftest import load_payload

CHAT = "1760450482"


def only_event(connector: TelegramConnector, body: dict[str, Any]) -> InboundEvent:
    events = connector.parse_webhook(body)
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, InboundEvent)
    assert event.channel == "telegram"
    assert event.sender_id == CHAT
    return event


def test_text_message(connector: TelegramConnector) -> None:
    event = only_event(connector, load_payload("message_text.json"))
    assert event.kind is EventKind.MESSAGE
    assert event.text == "Saya mau lapor, listrik mati sejak pagi"
    assert event.platform_message_id == f"{CHAT}:600"
    assert event.received_at == datetime.fromtimestamp(1700000000, timezone.utc)
    assert event.metadata["update_id"] == 280069300
    assert event.attachments == () and event.callback_id is None


def test_start_command_greets(connector: TelegramConnector) -> None:
    event = only_event(connector, load_payload("message_command_start.json"))
    assert (event.kind, event.text, event.platform_message_id) == (EventKind.MESSAGE, "/greet", f"{CHAT}:601")


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("/help", "/greet"),
        ("/start@pengaduan_bot", "/greet"),
        ("/start kampanye-rt05", "/greet"),
        ("/STATUS", "/check_status"),
        ("/petugas", "/request_human"),
        ("/batal", "/cancel"),
        ("/unknown hello", "/unknown hello"),
        ("/", "/"),
    ],
)
def test_commands(connector: TelegramConnector, typed: str, sent: str) -> None:
    body = load_payload("message_command_start.json")
    body["message"]["text"] = typed
    assert only_event(connector, body).text == sent


def test_callback_query_with_literal_data(connector: TelegramConnector) -> None:
    # The shared payload carries the payload itself ("/affirm"), as buttons did before short ids.
    event = only_event(connector, load_payload("callback_query.json"))
    assert event.kind is EventKind.MESSAGE
    assert event.text == "/affirm"
    assert event.callback_id == "4382bfdwdsb323b2d9"
    assert event.platform_message_id == "cb:4382bfdwdsb323b2d9"
    assert event.metadata["callback_message_id"] == f"{CHAT}:602"
    assert event.raw_type == "callback_query"


def test_callback_query_with_short_id(connector: TelegramConnector, callbacks: CallbackStore) -> None:
    payload = '/inform{"category":"infrastruktur","detail":"jalan berlubang di depan sekolah dasar"}'
    [data] = callbacks.register([payload])
    body = load_payload("callback_query.json")
    body["callback_query"]["data"] = data
    event = only_event(connector, body)
    assert (event.kind, event.text) == (EventKind.MESSAGE, payload)


def test_callback_query_with_unknown_short_id(connector: TelegramConnector) -> None:
    body = load_payload("callback_query.json")
    body["callback_query"]["data"] = short_id("never registered")
    event = only_event(connector, body)
    assert event.kind is EventKind.UNSUPPORTED
    assert event.callback_id == "4382bfdwdsb323b2d9"  # still answered, so the spinner stops


def test_callback_query_on_an_inaccessible_message(connector: TelegramConnector) -> None:
    body = load_payload("callback_query.json")
    body["callback_query"]["message"] = {
        "chat": {"id": int(CHAT), "type": "private"},
        "message_id": 1,
        "date": 0,
    }
    assert only_event(connector, body).text == "/affirm"
    del body["callback_query"]["message"]
    assert only_event(connector, body).sender_id == CHAT  # from the user, in a private chat the same id


def test_shared_contact(connector: TelegramConnector) -> None:
    event = only_event(connector, load_payload("contact.json"))
    assert event.kind is EventKind.MESSAGE
    assert event.text == "[kontak]"
    assert event.contact_phone == "6281234567890"
    assert event.contact_name == "Budi Santoso"
    assert event.metadata["own_contact"] is True
    assert event.platform_message_id == f"{CHAT}:603"


def test_someone_elses_contact_is_marked(connector: TelegramConnector) -> None:
    body = load_payload("contact.json")
    body["message"]["contact"]["user_id"] = 42
    assert only_event(connector, body).metadata["own_contact"] is False


def test_location(connector: TelegramConnector) -> None:
    event = only_event(connector, load_payload("location.json"))
    assert event.kind is EventKind.MESSAGE
    assert event.text == "[lokasi]"
    assert (event.latitude, event.longitude) == (-6.2, 106.816666)
    assert event.raw_type == "location"


def test_venue_counts_as_location(connector: TelegramConnector) -> None:
    body = load_payload("location.json")
    body["message"]["venue"] = {
        "location": body["message"]["location"],
        "title": "Kantor Kelurahan",
        "address": "Jl. Merdeka 1",
    }
    event = only_event(connector, body)
    assert (event.text, event.latitude, event.raw_type) == ("[lokasi]", -6.2, "venue")


def test_photo_takes_the_largest_size_and_the_caption(connector: TelegramConnector) -> None:
    event = only_event(connector, load_payload("photo.json"))
    assert event.kind is EventKind.MESSAGE
    assert event.text == "Foto tiang listrik roboh"
    [photo] = event.attachments
    assert photo.kind is AttachmentKind.IMAGE
    assert photo.platform_file_id == "AgACAgUAAxkBAAIBW2VfakeLarge"
    assert (photo.mime_type, photo.size_bytes) == ("image/jpeg", 84512)


def test_photo_without_caption(connector: TelegramConnector) -> None:
    body = load_payload("photo.json")
    del body["message"]["caption"]
    body["message"]["photo"].reverse()  # the order must not matter
    event = only_event(connector, body)
    assert event.text == "[foto]"
    assert event.attachments[0].platform_file_id == "AgACAgUAAxkBAAIBW2VfakeLarge"


def test_document(connector: TelegramConnector) -> None:
    event = only_event(connector, load_payload("document.json"))
    assert event.text == "[dokumen]"
    [document] = event.attachments
    assert document.kind is AttachmentKind.DOCUMENT
    assert document.platform_file_id == "BQACAgUAAxkBAAIBXGVfakeDoc"
    assert (document.mime_type, document.filename, document.size_bytes) == (
        "application/pdf",
        "bukti_tagihan.pdf",
        20480,
    )


def test_image_sent_as_a_file_is_an_image(connector: TelegramConnector) -> None:
    body = load_payload("document.json")
    body["message"]["document"].update(mime_type="image/png", file_name="jalan.png")
    body["message"]["caption"] = "jalan rusak"
    event = only_event(connector, body)
    assert (event.text, event.attachments[0].kind) == ("jalan rusak", AttachmentKind.IMAGE)


def test_edited_message_has_its_own_id_and_names_the_original(connector: TelegramConnector) -> None:
    # This payload has "is_bot": "False" (a string), as Rasa's own test data does: it must still parse.
    event = only_event(connector, load_payload("rasa_test_edited_message.json"))
    assert event.kind is EventKind.EDITED
    assert event.text == "Hello!"
    assert event.original_message_id == f"{CHAT}:591"
    assert event.platform_message_id == f"{CHAT}:591:edit:1621580124"
    assert event.raw_type == "edited_message"


def _message_with(content: dict[str, Any]) -> dict[str, Any]:
    body = load_payload("message_text.json")
    del body["message"]["text"]
    body["message"].update(content)
    return body


FILE = {"file_id": "f", "file_unique_id": "u"}


@pytest.mark.parametrize(
    ("content", "raw_type"),
    [
        (
            {
                "sticker": {
                    **FILE,
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                }
            },
            "sticker",
        ),
        ({"voice": {**FILE, "duration": 3}}, "voice"),
        ({"video_note": {**FILE, "length": 240, "duration": 5}}, "video_note"),
        ({"audio": {**FILE, "duration": 30}}, "audio"),
        ({"video": {**FILE, "width": 1, "height": 1, "duration": 4}}, "video"),
        # An animation (GIF) also carries a `document`: it must not pass for a document.
        ({"animation": {**FILE, "width": 1, "height": 1, "duration": 1}, "document": FILE}, "animation"),
        ({"dice": {"emoji": "🎲", "value": 4}}, "dice"),
        (
            {
                "poll": {
                    "id": "1",
                    "question": "?",
                    "options": [{"text": "a", "voter_count": 0}],
                    "total_voter_count": 0,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                }
            },
            "poll",
        ),
    ],
)
def test_unsupported_content(connector: TelegramConnector, content: dict[str, Any], raw_type: str) -> None:
    event = only_event(connector, _message_with(content))
    assert event.kind is EventKind.UNSUPPORTED
    assert event.raw_type == raw_type
    assert event.attachments == ()
    assert event.platform_message_id == f"{CHAT}:600"


def test_content_newer_than_ptb_is_unsupported_not_lost(connector: TelegramConnector) -> None:
    event = only_event(connector, _message_with({"hologram": {"file_id": "h"}}))
    assert (event.kind, event.raw_type, event.text) == (EventKind.UNSUPPORTED, "hologram", "[hologram]")
    # Known content whose required fields changed (PTB refuses the whole update): the caption survives.
    body = _message_with({"photo": [{"file_id": "f"}], "caption": "jalan rusak"})
    event = only_event(connector, body)
    assert (event.kind, event.raw_type, event.text) == (EventKind.UNSUPPORTED, "photo", "jalan rusak")


def test_ignored_updates(connector: TelegramConnector) -> None:
    service_message = _message_with(
        {"pinned_message": copy.deepcopy(load_payload("message_text.json")["message"])}
    )
    chat_member = {
        "update_id": 1,
        "my_chat_member": {
            "chat": {"id": 1, "type": "private"},
            "from": {"id": 1, "is_bot": False, "first_name": "A"},
            "date": 0,
            "old_chat_member": {"status": "member", "user": {"id": 2, "is_bot": True, "first_name": "B"}},
            "new_chat_member": {
                "status": "kicked",
                "until_date": 0,
                "user": {"id": 2, "is_bot": True, "first_name": "B"},
            },
        },
    }
    assert connector.parse_webhook(service_message) == []
    assert connector.parse_webhook(chat_member) == []
    assert connector.parse_webhook({"update_id": 5}) == []


def test_group_chats_are_ignored(connector: TelegramConnector) -> None:
    group = {"id": -100123, "type": "supergroup", "title": "Warga RT 05"}
    message = load_payload("message_text.json")
    message["message"]["chat"] = group
    press = load_payload("callback_query.json")
    press["callback_query"]["message"]["chat"] = group
    assert connector.parse_webhook(message) == []
    assert connector.parse_webhook(press) == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": "not an object"},
        {"update_id": 1, "message": {"message_id": "x"}},
        {"update_id": 1, "callback_query": {"id": "1"}},
    ],
)
def test_malformed_updates_never_raise(connector: TelegramConnector, body: dict[str, Any]) -> None:
    assert connector.parse_webhook(body) == []


def test_every_shared_update_payload_parses(connector: TelegramConnector) -> None:
    from tests.connectors.telegram.conftest import PAYLOADS

    updates = [p for p in sorted(PAYLOADS.glob("*.json")) if "update_id" in p.read_text()[:40]]
    assert len(updates) == 8
    for path in updates:
        assert len(connector.parse_webhook(load_payload(path.name))) == 1, path.name
