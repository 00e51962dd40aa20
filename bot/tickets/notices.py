"""Status notices: the reporter is told in their chat when an officer moves their report along.

One notice per status change, keyed by the audit row (`status:<audit id>`), so a retried call never sends
it twice. The notice says only what the citizen may know: the report's code, its new status in the words
of the status check (`STATUS_LABELS`), the unit handling it and, where the lifecycle requires one, the
officer's note to the citizen. A walk-in (loket) report has no chat, and a pseudonymised one no longer
has a reporter to write to: neither gets a notice. A finished report also invites the SKM survey, once per
ticket (`skm:<survey id>`), even when it is finished again after a reopening.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.conversations.models import Channel
from bot.db import Database
from bot.gateway.gateway import Gateway
from bot.log_masking import sender_label
from bot.survey import messages as survey_messages
from bot.survey import service as survey_service
from bot.survey.models import SurveyStatus
from bot.tickets.models import Ticket, TicketAudit
from bot.tickets.status import STATUS_LABELS, TicketStatus

logger = logging.getLogger(__name__)

CHAT_CHANNELS = frozenset(channel.value for channel in Channel)
S = TicketStatus

# The status texts, all in one place. Placeholders: {code}, {label} (STATUS_LABELS, as the status check
# words it), {unit}, {note} (the officer's note to the citizen, only for the statuses that require one).
STATUS_NOTICES: dict[TicketStatus, str] = {
    S.TERVERIFIKASI: (
        'Status laporan {code} kini: "{label}". Laporan Anda sudah diperiksa petugas dan akan '
        "ditindaklanjuti oleh {unit}."
    ),
    S.DIDISPOSISI: (
        'Status laporan {code} kini: "{label}". Laporan Anda sudah diteruskan ke {unit} untuk '
        "ditindaklanjuti."
    ),
    S.DIPROSES: 'Status laporan {code} kini: "{label}". {unit} sedang menindaklanjuti laporan Anda.',
    S.MENUNGGU_PELAPOR: (
        'Status laporan {code} kini: "{label}". Petugas {unit} memerlukan keterangan tambahan dari Anda:\n'
        '"{note}"\n'
        "Silakan sampaikan keterangan tersebut melalui chat ini. Batas waktu penanganan dihentikan "
        "sementara sampai Anda menjawab."
    ),
    S.SELESAI: (
        'Status laporan {code} kini: "{label}". {unit} sudah selesai menindaklanjuti laporan Anda.\n'
        'Catatan petugas: "{note}"'
    ),
    S.DITOLAK: (
        'Mohon maaf, status laporan {code} kini: "{label}". Laporan Anda tidak dapat ditindaklanjuti oleh '
        '{unit}.\nAlasan: "{note}"'
    ),
    S.DIARSIPKAN: 'Status laporan {code} kini: "{label}". Laporan ini tidak ditindaklanjuti lebih lanjut.',
}
# Resuming after the citizen answered, and reopening a finished report, read differently from a first step.
RESUMED_NOTICE = (
    'Terima kasih atas keterangan Anda. Status laporan {code} kini kembali: "{label}". {unit} melanjutkan '
    "penanganan laporan Anda."
)
# A duplicate archived into another report: the citizen learns it is handled there, not which report that is.
MERGED_NOTICE = (
    "Laporan {code} kami gabungkan dengan laporan lain tentang masalah yang sama. {unit} menindaklanjuti "
    "keduanya bersama-sama; hasilnya akan kami sampaikan melalui chat ini."
)
REOPENED_NOTICE = (
    'Laporan {code} dibuka kembali. Status laporan kini: "{label}". {unit} akan menindaklanjutinya lagi.'
)

CHECK_STATUS_TITLE = "Cek status"
HUMAN_TITLE = "Bicara dengan petugas"


@dataclass(frozen=True)
class Notice:
    text: str
    buttons: list[dict[str, str]]


def _check_status_button(code: str) -> dict[str, str]:
    # Same payload as the status check's own buttons (actions/status.py `status_button`).
    return {"title": CHECK_STATUS_TITLE, "payload": f'/check_status{{"ticket_code":"{code}"}}'}


def compose_notice(
    code: str, from_status: str | None, to_status: str, unit: str, note: str | None, *, merged: bool = False
) -> Notice | None:
    """The notice of one status change, or None when the citizen is not told about it (a closed report
    being archived is bookkeeping; `belum_diverifikasi` is never a target)."""
    try:
        target = TicketStatus(to_status)
        source = TicketStatus(from_status) if from_status else None
    except ValueError:
        return None
    if target is S.DIARSIPKAN and source in (S.SELESAI, S.DITOLAK):
        return None
    if target is S.DIPROSES and source is S.SELESAI:
        template = REOPENED_NOTICE
    elif target is S.DIARSIPKAN and merged:
        template = MERGED_NOTICE
    elif source is S.MENUNGGU_PELAPOR and target not in (S.SELESAI, S.DITOLAK, S.DIARSIPKAN):
        template = RESUMED_NOTICE
    else:
        found = STATUS_NOTICES.get(target)
        if found is None:
            return None
        template = found
    text = template.format(code=code, label=STATUS_LABELS[target], unit=unit, note=(note or "").strip())
    if target is S.SELESAI:
        buttons: list[dict[str, str]] = []  # the survey invitation follows with its own buttons
    elif target is S.MENUNGGU_PELAPOR:
        buttons = [{"title": HUMAN_TITLE, "payload": "/request_human"}]
    else:
        buttons = [_check_status_button(code)]
    return Notice(text, buttons)


def notifiable(ticket: Ticket) -> bool:
    """A chat to write to, and a reporter who has not asked to be forgotten."""
    return ticket.reporter_channel in CHAT_CHANNELS and ticket.pseudonymised_at is None


@dataclass(frozen=True)
class _Plan:
    channel: str
    sender_id: str
    notice: Notice
    survey: tuple[int, str] | None  # (survey id, ticket code) when an invitation is due


def _plan(database: Database, ticket_id: int, audit_id: int) -> _Plan | None:
    with database.session() as session:
        ticket = session.get(Ticket, ticket_id)
        audit = session.get(TicketAudit, audit_id)
        if ticket is None or audit is None or audit.ticket_id != ticket.id or audit.to_status is None:
            logger.warning("status notice: no status change %s on ticket %s", audit_id, ticket_id)
            return None
        if not notifiable(ticket):
            return None
        notice = compose_notice(
            ticket.code,
            audit.from_status,
            audit.to_status,
            ticket.unit,
            audit.note,
            merged=ticket.merged_into_id is not None,
        )
        if notice is None:
            return None
        survey = None
        if audit.to_status == S.SELESAI.value:
            invited, _created = survey_service.invite(session, ticket)
            # Invited before and never answered: the same key makes the repeat a no-op in the gateway.
            if invited.status == SurveyStatus.INVITED.value:
                survey = (invited.id, ticket.code)
        return _Plan(ticket.reporter_channel, ticket.reporter_sender_id, notice, survey)


async def notify_status_change(gateway: Gateway, database: Database, ticket_id: int, audit_id: int) -> None:
    """Tell the reporter about one status change (audit row `audit_id`); safe to call again.

    Call it after the status change is committed: it reads the ticket and the audit row in its own session."""
    plan = await asyncio.to_thread(_plan, database, ticket_id, audit_id)
    if plan is None:
        return
    _message, created = await gateway.notify(
        plan.channel, plan.sender_id, plan.notice.text, key=f"status:{audit_id}", buttons=plan.notice.buttons
    )
    if created:
        logger.info("status notice %s sent to %s", audit_id, sender_label(plan.channel, plan.sender_id))
    if plan.survey is not None:
        survey_id, code = plan.survey
        await gateway.notify(
            plan.channel,
            plan.sender_id,
            survey_messages.invitation_text(code),
            key=f"skm:{survey_id}",
            buttons=survey_messages.invitation_buttons(survey_id),
        )
