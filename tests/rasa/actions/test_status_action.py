"""Status checks of the web chat: wrong codes are counted per client address as well as per sender, so a
citizen (or a prober) cannot reset the limit by opening new web-chat sessions."""

from __future__ import annotations

import secrets
import uuid

from actions.status import ActionCheckStatus, client_key_of
from tests.rasa.actions.conftest import Service
from tests.rasa.actions.test_complaint_actions import run, tracker

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def unknown_code() -> str:
    return "ADU-" + "".join(secrets.choice(CROCKFORD) for _ in range(8))


async def check(code: str, key: str | None) -> str:
    metadata = {"client_key": key} if key else {}
    messages, _ = await run(
        ActionCheckStatus(), tracker(f"cek status {code}", "check_status", metadata=metadata)
    )
    return str(messages[0]["text"])


async def test_fresh_senders_with_one_client_key_reach_the_wrong_code_limit(service_env: Service) -> None:
    key = f"kunci-{uuid.uuid4().hex[:12]}"
    # The service allows 3 wrong codes per client key (TICKET_LOOKUP_MAX_MISSES_PER_ADDRESS): each lookup
    # below comes from a brand-new sender, as from a new web-chat session.
    for _ in range(3):
        assert "tidak ditemukan" in await check(unknown_code(), key)

    assert "Terlalu banyak percobaan" in await check(unknown_code(), key)
    assert "tidak ditemukan" in await check(unknown_code(), f"kunci-{uuid.uuid4().hex[:12]}")
    assert "tidak ditemukan" in await check(unknown_code(), None)  # messaging channels carry no key


def test_the_client_key_is_read_from_the_latest_message_only_when_sane() -> None:
    assert client_key_of(tracker("x", metadata={"client_key": "abc123"})) == "abc123"
    assert client_key_of(tracker("x", metadata={"client_key": 7})) is None
    assert client_key_of(tracker("x", metadata={"client_key": "k" * 65})) is None
    assert client_key_of(tracker("x")) is None
