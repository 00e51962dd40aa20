"""Webhook bodies -> events: every real payload shape, batched bodies, odd shapes, numbered-menu answers."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import pytest

from bot.conversations import repository
from bot.conversations.models import OutboundStatus
from bot.db import Database
from connectors.base import AttachmentKind, DeliveryState, EventKind, InboundEvent, StatusEvent
from connectors.callback_store import CallbackStore, short_id
from connectors.whatsapp import WhatsAppConnector
from connectors.whatsapp_menus import NumberedMenus, chosen_number
from tests.connectors.whatsapp.conftest import payload, payload_cases
from tests.connectors.whatsapp.fake_graph_api import PHONE_NUMBER_ID, envelope, text_message

CITIZEN = "972987654321"


def plain_connector(phone_number_id: str = PHONE_NUMBER_ID) -> WhatsAppConnector:
    """A connector without database: literal reply ids only, no numbered menus."""
    return WhatsAppConnector("token", phone_number_id)


def only(events: Any) -> InboundEvent:
    assert len(events) == 1, events
    event = events[0]
    assert isinstance(event, InboundEvent)
    return event


def counts(body: dict[str, Any]) -> tuple[int, int]:
    values = [change["value"] for entry in body["entry"] for change in entry["changes"]]
    return sum(len(v.get("messages", [])) for v in values), sum(len(v.get("statuses", [])) for v in values)


@pytest.mark.parametrize(("name", "body"), payload_cases(), ids=[name for name, _ in payload_cases()])
def test_every_payload_gives_one_event_per_message_and_status(name: str, body: dict[str, Any]) -> None:
    events = plain_connector("").parse_webhook(body)  # "" : any phone number id (one payload has none)

    messages, statuses = counts(body)
    assert len(events) == messages + statuses
    raw_messages = [m for e in body["entry"] for c in e["changes"] for m in c["value"].get("messages", [])]
    inbound = [event for event in events if isinstance(event, InboundEvent)]
    for event, raw in zip(inbound, raw_messages, strict=True):
        assert event.channel == "whatsapp"
        assert event.platform_message_id == raw["id"]  # the wamid: the deduplication key
        assert event.sender_id == raw["from"]
        assert event.received_at == datetime.fromtimestamp(int(raw["timestamp"]), timezone.utc)
        assert event.raw_type
    assert all(event.channel == "whatsapp" for event in events)


EXPECTED_MESSAGES: dict[tuple[str, str], dict[str, Any]] = {
    ("message", "text"): {"kind": EventKind.MESSAGE, "text": "Body Text", "raw_type": "text"},
    ("message", "reply"): {"kind": EventKind.MESSAGE, "text": "replied text"},
    ("message", "forwarded"): {"kind": EventKind.MESSAGE, "text": "forwarded text"},
    ("message", "referral"): {"kind": EventKind.MESSAGE, "text": "BODY"},
    ("message", "video"): {"kind": EventKind.UNSUPPORTED, "text": "caption", "raw_type": "video"},
    ("message", "audio"): {"kind": EventKind.UNSUPPORTED, "raw_type": "audio"},
    ("message", "voice"): {"kind": EventKind.UNSUPPORTED, "raw_type": "audio"},
    ("message", "static_sticker"): {"kind": EventKind.UNSUPPORTED, "raw_type": "sticker"},
    ("message", "animated_sticker"): {"kind": EventKind.UNSUPPORTED, "raw_type": "sticker"},
    ("message", "reaction"): {"kind": EventKind.UNSUPPORTED, "raw_type": "reaction"},
    ("message", "unreaction_empty"): {"kind": EventKind.UNSUPPORTED, "raw_type": "reaction"},
    ("message", "unreaction_no_emoji"): {"kind": EventKind.UNSUPPORTED, "raw_type": "reaction"},
    ("message", "order"): {"kind": EventKind.UNSUPPORTED, "raw_type": "order"},
    ("message", "unsupported"): {"kind": EventKind.UNSUPPORTED, "raw_type": "unsupported"},
    ("message", "unsupported_with_type"): {"kind": EventKind.UNSUPPORTED, "raw_type": "unsupported"},
    ("message", "interactive_message_with_err"): {"kind": EventKind.UNSUPPORTED, "raw_type": "interactive"},
    ("system", "phone_number_change"): {"kind": EventKind.UNSUPPORTED, "raw_type": "system"},
    ("system", "identity_change"): {"kind": EventKind.UNSUPPORTED, "raw_type": "system"},
    ("callback_button", "button"): {
        "kind": EventKind.MESSAGE,
        "text": "callback_data",
        "raw_type": "button_reply",
    },
    ("callback_button", "quick_reply"): {
        "kind": EventKind.MESSAGE,
        "text": "callback_data",
        "raw_type": "button",
    },
    ("callback_button", "quick_reply_without_context"): {"kind": EventKind.MESSAGE, "text": "callback_data"},
    ("callback_selection", "callback"): {
        "kind": EventKind.MESSAGE,
        "text": "callback_data",
        "raw_type": "list_reply",
    },
    ("callback_selection", "description"): {"kind": EventKind.MESSAGE, "text": "callback_data"},
}


@pytest.mark.parametrize(("file", "case"), list(EXPECTED_MESSAGES))
def test_message_types_map_to_the_expected_event(file: str, case: str) -> None:
    event = only(plain_connector().parse_webhook(payload(file, case)))
    for attribute, expected in EXPECTED_MESSAGES[(file, case)].items():
        assert getattr(event, attribute) == expected, attribute
    assert not event.attachments


def test_a_photo_becomes_an_attachment_with_the_announced_checksum() -> None:
    event = only(plain_connector().parse_webhook(payload("message", "image")))
    assert event.kind is EventKind.MESSAGE and event.text == "[foto]" and event.raw_type == "image"
    (photo,) = event.attachments
    assert (photo.kind, photo.platform_file_id, photo.mime_type, photo.sha256) == (
        AttachmentKind.IMAGE,
        "65463453",
        "image/jpeg",
        "4654+8g=",
    )


def test_a_document_keeps_its_caption_and_filename() -> None:
    event = only(plain_connector().parse_webhook(payload("message", "document")))
    assert event.text == "caption"
    (document,) = event.attachments
    assert document.kind is AttachmentKind.DOCUMENT
    assert document.filename == "filename.pdf" and document.mime_type == "application/pdf"
    assert document.platform_file_id == "1234567890987654321"
    assert event.metadata["forwarded"] is True


def test_a_photo_sent_as_a_document_is_a_photo() -> None:
    body = payload("message", "document")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["document"].update(
        mime_type="image/png", filename="jalan.png", caption=""
    )
    event = only(plain_connector().parse_webhook(body))
    assert event.attachments[0].kind is AttachmentKind.IMAGE
    assert event.text == "[foto]"


@pytest.mark.parametrize(
    ("case", "latitude", "longitude", "name"),
    [
        ("current_location", 12.25089, 43.90539, None),
        ("chosen_location", 37.4611978, -122.2164385, "Facebook HQ"),
    ],
)
def test_a_location_carries_its_coordinates(
    case: str, latitude: float, longitude: float, name: str | None
) -> None:
    event = only(plain_connector().parse_webhook(payload("message", case)))
    assert event.kind is EventKind.MESSAGE and event.text == "[lokasi]" and event.raw_type == "location"
    assert (event.latitude, event.longitude) == (latitude, longitude)
    assert event.metadata.get("location_name") == name


def test_shared_contacts_give_the_first_contacts_phone_and_name() -> None:
    event = only(plain_connector().parse_webhook(payload("message", "contacts")))
    assert event.kind is EventKind.MESSAGE and event.text == "[kontak]"
    assert event.contact_phone == "+1 555-555-5555"
    assert event.contact_name == "Chandler Bing"


def test_a_reply_remembers_which_message_it_answers() -> None:
    event = only(plain_connector().parse_webhook(payload("message", "reply")))
    assert event.metadata["reply_to"] == "wamid.xyzxyz=="


@pytest.mark.parametrize(
    ("case", "state", "code"),
    [
        ("sent", DeliveryState.SENT, None),
        ("delivered", DeliveryState.DELIVERED, None),
        ("read", DeliveryState.READ, None),
        ("played", DeliveryState.READ, None),
        ("failed", DeliveryState.FAILED, 130472),
        ("with_tracker", DeliveryState.SENT, None),
        ("group", DeliveryState.READ, None),
    ],
)
def test_statuses_become_status_events(case: str, state: DeliveryState, code: int | None) -> None:
    (event,) = plain_connector("").parse_webhook(payload("message_status", case))
    assert isinstance(event, StatusEvent)
    assert event.channel == "whatsapp" and event.state is state and event.error_code == code
    assert event.timestamp is not None
    if code is not None:
        assert event.error_title == "User's number is part of an experiment"


def test_a_batched_body_gives_every_message_and_status_of_every_entry_and_change_in_order() -> None:
    text = payload("message", "text")["entry"][0]
    location = payload("message", "current_location")["entry"][0]
    failed = payload("message_status", "failed")["entry"][0]
    read = payload("message_status", "read")["entry"][0]
    first = copy.deepcopy(text)
    first["changes"].append(copy.deepcopy(failed["changes"][0]))
    second = copy.deepcopy(location)
    second["changes"][0]["value"]["messages"].append(
        {
            "from": "6281200002222",
            "id": "wamid.second",
            "timestamp": "1697044560",
            "type": "text",
            "text": {"body": "dua"},
        }
    )
    second["changes"].append(copy.deepcopy(read["changes"][0]))
    body = {"object": "whatsapp_business_account", "entry": [first, second], "unknown_key": {"x": 1}}

    events = plain_connector("1122334455667").parse_webhook(body)

    assert [type(event).__name__ for event in events] == [
        "InboundEvent",
        "StatusEvent",
        "InboundEvent",
        "InboundEvent",
        "StatusEvent",
    ]
    assert [getattr(event, "text", getattr(event, "state", None)) for event in events] == [
        "Body Text",
        DeliveryState.FAILED,
        "[lokasi]",
        "dua",
        DeliveryState.READ,
    ]


ODD_BODIES: list[Any] = [
    {},
    {"object": "whatsapp_business_account"},
    {"entry": "not a list"},
    {
        "entry": [
            None,
            1,
            "x",
            {"changes": None},
            {"changes": [None, 7, {"value": []}, {"value": {"messages": {}}}]},
        ]
    },
    {
        "entry": [
            {"changes": [{"field": "messages", "value": {"messages": [None, 3, {}, {"id": "wamid.a"}]}}]}
        ]
    },
    {"entry": [{"changes": [{"value": {"messages": [{"id": 5, "from": CITIZEN, "type": "text"}]}}]}]},
    {
        "entry": [
            {
                "changes": [
                    {
                        "value": {
                            "statuses": [None, {}, {"id": "wamid.s"}, {"id": "wamid.s", "status": "deleted"}]
                        }
                    }
                ]
            }
        ]
    },
    [],
    "text",
]


@pytest.mark.parametrize("body", ODD_BODIES)
def test_odd_shapes_never_raise_and_give_nothing(body: Any) -> None:
    assert plain_connector().parse_webhook(body) == []


ODD_MESSAGES: list[tuple[dict[str, Any], EventKind, str]] = [
    ({"type": "text", "text": "not an object"}, EventKind.MESSAGE, ""),
    ({"type": "text"}, EventKind.MESSAGE, ""),
    (
        {"type": "location", "location": {"latitude": "abc", "longitude": 1}},
        EventKind.UNSUPPORTED,
        "[lokasi]",
    ),
    ({"type": "location", "location": {"latitude": 91.0, "longitude": 1}}, EventKind.UNSUPPORTED, "[lokasi]"),
    (
        {"type": "location", "location": {"latitude": "-6.2", "longitude": "106.8"}},
        EventKind.MESSAGE,
        "[lokasi]",
    ),
    ({"type": "image", "image": {"mime_type": "image/jpeg"}}, EventKind.UNSUPPORTED, "[image]"),
    (
        {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {}}},
        EventKind.UNSUPPORTED,
        "",
    ),
    (
        {"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {}}},
        EventKind.UNSUPPORTED,
        "",
    ),
    ({"type": "contacts", "contacts": []}, EventKind.UNSUPPORTED, "[kontak]"),
    ({"type": "contacts", "contacts": [{"name": {"first_name": "Siti"}}]}, EventKind.MESSAGE, "[kontak]"),
    ({"type": "button", "button": {}}, EventKind.UNSUPPORTED, ""),
    ({"type": "poll_update_2030", "poll_update_2030": {"x": 1}}, EventKind.UNSUPPORTED, "[poll_update_2030]"),
    ({}, EventKind.UNSUPPORTED, "[unknown]"),
]


@pytest.mark.parametrize(("fields", "kind", "text"), ODD_MESSAGES)
def test_odd_message_contents_are_read_leniently(fields: dict[str, Any], kind: EventKind, text: str) -> None:
    raw = {"from": CITIZEN, "id": "wamid.odd", "timestamp": "soon", **fields}
    event = only(plain_connector().parse_webhook(envelope([raw])))
    assert (event.kind, event.text) == (kind, text)
    assert event.received_at is None  # an unreadable timestamp is left out, not guessed


def test_changes_for_another_phone_number_or_field_are_ignored() -> None:
    mine = envelope([text_message(CITIZEN, "wamid.mine", "halo")])
    other_number = envelope([text_message(CITIZEN, "wamid.other", "halo")], phone_number_id="999")
    other_field = envelope([text_message(CITIZEN, "wamid.field", "halo")])
    other_field["entry"][0]["changes"][0]["field"] = "message_template_status_update"
    body = {"entry": mine["entry"] + other_number["entry"] + other_field["entry"]}

    events = plain_connector().parse_webhook(body)

    assert [event.platform_message_id for event in events] == ["wamid.mine"]


def test_an_oversized_wamid_is_skipped_rather_than_failing_the_whole_body() -> None:
    body = envelope(
        [text_message(CITIZEN, "wamid." + "x" * 300, "a"), text_message(CITIZEN, "wamid.ok", "b")]
    )
    assert only(plain_connector().parse_webhook(body)).text == "b"


# --- reply ids stored server-side ---


def test_a_reply_with_a_short_id_gives_the_stored_payload(sqlite_database: Database) -> None:
    callbacks = CallbackStore(sqlite_database)
    long_payload = '/inform{"detail":"' + "x" * 300 + '"}'
    (reply_id,) = callbacks.register([long_payload])
    connector = WhatsAppConnector("token", PHONE_NUMBER_ID, callbacks=callbacks)
    body = envelope(
        [
            {
                "from": CITIZEN,
                "id": "wamid.r",
                "timestamp": "1700000000",
                "type": "interactive",
                "interactive": {"type": "button_reply", "button_reply": {"id": reply_id, "title": "Pilih"}},
            }
        ]
    )
    event = only(connector.parse_webhook(body))
    assert event.kind is EventKind.MESSAGE and event.text == long_payload
    assert event.metadata["reply_title"] == "Pilih"


def test_a_reply_with_an_unknown_short_id_is_not_passed_on(sqlite_database: Database) -> None:
    connector = WhatsAppConnector("token", PHONE_NUMBER_ID, callbacks=CallbackStore(sqlite_database))
    made_up = short_id("/request_human never stored")
    body = envelope(
        [
            {
                "from": CITIZEN,
                "id": "wamid.u",
                "timestamp": "1700000000",
                "type": "interactive",
                "interactive": {"type": "list_reply", "list_reply": {"id": made_up, "title": "x"}},
            }
        ]
    )
    event = only(connector.parse_webhook(body))
    assert event.kind is EventKind.UNSUPPORTED and event.text == ""


# --- numbered menus ---


@pytest.mark.parametrize(
    ("text", "number"),
    [("3", 3), (" 12 ", 12), ("3.", 3), ("7)", 7), ("3 ya", None), ("", None), ("1,5", None)],
)
def test_chosen_number(text: str, number: int | None) -> None:
    assert chosen_number(text) == number


CATEGORIES = [f"kategori_{n}" for n in range(1, 13)]


def store_turn(
    database: Database,
    sender: str,
    replies: list[list[str]],
    status: OutboundStatus = OutboundStatus.SENT,
) -> None:
    """A citizen's message and the bot's replies to it (each reply: its button payloads)."""
    with database.session() as session:
        conversation = repository.find_conversation(
            session, "whatsapp", sender
        ) or repository.add_conversation(session, "whatsapp", sender)
        inbound = repository.add_inbound(session, conversation, "pesan", None, None)
        for buttons in replies:
            payload = {"buttons": [{"title": b.title(), "payload": b} for b in buttons]} if buttons else None
            repository.add_outbound(session, inbound, "Pilih kategori:", payload, status=status)


def menu_connector(database: Database) -> WhatsAppConnector:
    return WhatsAppConnector("token", PHONE_NUMBER_ID, menus=NumberedMenus(database))


def parse_text(connector: WhatsAppConnector, text: str, sender: str = CITIZEN) -> InboundEvent:
    return only(connector.parse_webhook(envelope([text_message(sender, f"wamid.{text}", text)])))


def test_a_number_answering_a_numbered_menu_becomes_that_options_payload(database: Database) -> None:
    store_turn(database, CITIZEN, [CATEGORIES])
    connector = menu_connector(database)

    third = parse_text(connector, "3")
    assert third.text == "kategori_3"
    assert third.metadata["typed_text"] == "3" and third.metadata["menu_option"] == 3
    assert parse_text(connector, "12").text == "kategori_12"
    assert parse_text(connector, "13").text == "13"  # not an option
    assert parse_text(connector, "0").text == "0"
    assert parse_text(connector, "3", sender="6281300003333").text == "3"  # another citizen had no menu


def test_a_question_after_the_menu_in_the_same_turn_does_not_hide_it(database: Database) -> None:
    # The complaint form sends the full category menu, then asks its question again with a few buttons.
    store_turn(database, CITIZEN, [CATEGORIES, ["infrastruktur", "lingkungan", "kategori lain"]])
    assert parse_text(menu_connector(database), "2").text == "kategori_2"


def test_a_number_is_just_text_once_the_citizen_wrote_something_else(database: Database) -> None:
    store_turn(database, CITIZEN, [CATEGORIES])
    store_turn(database, CITIZEN, [[]])  # the citizen typed something; the bot answered without a menu
    assert parse_text(menu_connector(database), "3").text == "3"
    store_turn(database, CITIZEN, [])  # ... or has not answered yet
    assert parse_text(menu_connector(database), "3").text == "3"


def test_a_menu_not_sent_yet_or_short_enough_for_buttons_does_not_map(database: Database) -> None:
    store_turn(database, CITIZEN, [["ya", "tidak", "lewati"]])  # shown as buttons, not numbers
    assert parse_text(menu_connector(database), "2").text == "2"
    store_turn(database, CITIZEN, [CATEGORIES], status=OutboundStatus.QUEUED)  # not on screen yet
    assert parse_text(menu_connector(database), "2").text == "2"
