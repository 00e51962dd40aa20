"""What the citizen reads during the SKM survey: the invitation, each question with its four buttons, and
the short answers to pauses, repeats and the end. Buttons carry the payloads of bot/survey/payloads.py."""

from __future__ import annotations

from bot.gateway.rasa_client import BotReply, Button
from bot.survey.payloads import answer_payload, decline_payload, start_payload
from bot.survey.questions import ELEMENT_COUNT, MAX_SCORE, MIN_SCORE, question

INVITATION = (
    "Bapak/Ibu, kami mohon kesediaan Anda mengisi Survei Kepuasan Masyarakat (SKM) tentang pelayanan "
    'laporan {code}. Survei berisi {count} pertanyaan singkat. Tekan tombol "Isi survei" atau ketik '
    "ISI SURVEI untuk memulai."
)
START_BUTTON = "Isi survei"
LATER_BUTTON = "Nanti saja"
RESUME_BUTTON = "Lanjutkan survei"

THANKS = "Terima kasih, survei sudah selesai. Penilaian Anda membantu kami memperbaiki pelayanan publik."
DECLINED = (
    "Baik, terima kasih. Jika berubah pikiran, Anda tetap dapat mengisi survei dengan menekan tombol "
    '"Isi survei" pada pesan undangan.'
)
PAUSED = "Baik, survei kami hentikan sementara. Jawaban Anda sudah tersimpan."
ALREADY_ANSWERED = "Jawaban untuk pertanyaan {element} sudah kami catat sebelumnya; tidak ada yang diubah."
ALREADY_COMPLETED = "Survei untuk laporan ini sudah Anda isi. Terima kasih atas penilaian Anda."
NOT_FOUND = "Mohon maaf, survei tersebut tidak ditemukan untuk akun Anda."
INVALID = "Mohon maaf, jawaban survei tidak dikenali. Silakan pilih salah satu tombol jawaban."


def invitation_text(ticket_code: str) -> str:
    return INVITATION.format(code=ticket_code, count=ELEMENT_COUNT)


def invitation_buttons(survey_id: int) -> list[dict[str, str]]:
    """As `Gateway.notify` takes them."""
    return [
        {"title": START_BUTTON, "payload": start_payload(survey_id)},
        {"title": LATER_BUTTON, "payload": decline_payload(survey_id)},
    ]


def question_reply(survey_id: int, element: int) -> BotReply:
    """One question, one message: four buttons titled with the element's answer labels."""
    asked = question(element)
    scale = ", ".join(f"{score} = {asked.label(score)}" for score in range(MIN_SCORE, MAX_SCORE + 1))
    text = (
        f"Pertanyaan {element} dari {ELEMENT_COUNT} ({asked.name})\n{asked.text}\n"
        f'Pilih jawaban atau ketik angkanya ({scale}). Ketik "batal" untuk berhenti sementara.'
    )
    buttons = tuple(
        Button(title=asked.label(score), payload=answer_payload(survey_id, element, score))
        for score in range(MIN_SCORE, MAX_SCORE + 1)
    )
    return BotReply(text=text, buttons=buttons)


def text_reply(text: str) -> BotReply:
    return BotReply(text=text)


def resume_reply(survey_id: int, text: str) -> BotReply:
    return BotReply(
        text=text,
        buttons=(Button(title=RESUME_BUTTON, payload=start_payload(survey_id)),),
    )
