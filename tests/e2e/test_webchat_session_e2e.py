"""The public web chat end to end with server-issued sessions: the trained model, the action server and the
API. A complaint filed in one session is visible only through that session; another session can neither see
it nor act as its sender, and fresh sessions from one address do not reset the wrong-code limit."""

from __future__ import annotations

import re
import secrets

from tests.e2e.conftest import Stack, WebChat

CODE = re.compile(r"ADU-[0-9A-Z]{8}")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NARRATION = "lampu jalan di gang mawar mati semua sejak minggu lalu, gelap banget"
ANSWERS = (
    # (what the bot's latest turn contains, what a cooperative citizen answers)
    ("ringkasan", "kirim"),
    ("dengan melanjutkan", "setuju"),
    ("nomor hp", "0812-3456-7890"),
    ("anonim", "tidak"),
    ("foto", "lewati"),
    ("kategori", "infrastruktur"),
    ("kapan kejadiannya", "minggu lalu"),
    ("di mana lokasinya", "Gang Mawar RT 03 RW 05"),
    ("apa yang terjadi", "Lampu jalan mati semua sejak minggu lalu, jalan jadi gelap"),
)


def texts(messages: list[dict[str, object]]) -> str:
    return "\n".join(str(message.get("text", "")) for message in messages)


def answer_for(messages: list[dict[str, object]]) -> str:
    said = texts(messages).lower()
    titles = " ".join(
        str(button.get("title", ""))  # type: ignore[union-attr]
        for message in messages
        for button in message.get("buttons", []) or []  # type: ignore[union-attr]
    ).lower()
    if "setuju" in titles:
        return "setuju"
    for cue, answer in ANSWERS:
        if cue in said:
            return answer
    raise AssertionError(f"unexpected bot turn: {said}")


def file_complaint(citizen: WebChat) -> str:
    messages = citizen.chat(NARRATION)
    for _ in range(12):
        found = CODE.search(texts(messages))
        if found:
            return found.group(0)
        messages = citizen.chat(answer_for(messages))
    raise AssertionError("no tracking code after 12 turns")


def all_updates(citizen: WebChat) -> str:
    shown: list[str] = []
    after = 0
    while True:
        response = citizen.updates(after)
        assert response.status_code == 200, response.text
        body = response.json()
        if not body["messages"]:
            return "\n".join(shown)
        shown.extend(str(message["text"]) for message in body["messages"])
        after = body["last_id"]


def unknown_code() -> str:
    return "ADU-" + "".join(secrets.choice(CROCKFORD) for _ in range(8))


def test_a_complaint_filed_in_a_session_is_visible_only_through_that_session(stack: Stack) -> None:
    owner, other = stack.session(), stack.session()

    code = file_complaint(owner)

    assert code in all_updates(owner)
    assert code in texts(owner.chat("laporan saya gimana"))
    assert code not in all_updates(other)
    assert code not in texts(other.chat("laporan saya gimana"))
    assert "tidak ditemukan" in texts(other.chat(f"cek status {code}"))
    # The other session cannot speak as the owner either: a sender in the body is refused, nothing is stored.
    impersonation = other.post("batalkan laporan saya", sender="anything")
    assert impersonation.status_code == 422 and impersonation.json()["error"] == "sender_not_allowed"

    assert owner.end().status_code == 204
    for response in (owner.post("halo"), owner.updates()):
        assert response.status_code == 401 and response.json()["error"] == "invalid_session"


def test_fresh_sessions_do_not_reset_the_wrong_code_limit(stack: Stack) -> None:
    # The stack allows 3 wrong codes per address (TICKET_LOOKUP_MAX_MISSES_PER_ADDRESS): one per new session.
    for _ in range(3):
        answer = texts(stack.session().chat(f"cek status {unknown_code()}"))
        assert "tidak ditemukan" in answer, answer

    blocked = texts(stack.session().chat(f"cek status {unknown_code()}"))

    assert "Terlalu banyak percobaan" in blocked
    # A named sender relayed by an integration (no client address) is not held by this address's limit.
    assert "tidak ditemukan" in texts(
        stack.chat(f"relay-{secrets.token_hex(4)}", f"cek status {unknown_code()}")
    )
