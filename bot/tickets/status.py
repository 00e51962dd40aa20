"""Ticket statuses (LAPOR!-style) and the explicit table of allowed transitions."""

from __future__ import annotations

from enum import StrEnum


class TicketStatus(StrEnum):
    BELUM_DIVERIFIKASI = "belum_diverifikasi"
    TERVERIFIKASI = "terverifikasi"
    DIDISPOSISI = "didisposisi"
    DIPROSES = "diproses"
    MENUNGGU_PELAPOR = "menunggu_pelapor"
    SELESAI = "selesai"
    DITOLAK = "ditolak"
    DIARSIPKAN = "diarsipkan"


S = TicketStatus

STATUS_LABELS: dict[TicketStatus, str] = {
    S.BELUM_DIVERIFIKASI: "Belum diverifikasi",
    S.TERVERIFIKASI: "Terverifikasi",
    S.DIDISPOSISI: "Didisposisi ke unit terkait",
    S.DIPROSES: "Sedang diproses",
    S.MENUNGGU_PELAPOR: "Menunggu tanggapan pelapor",
    S.SELESAI: "Selesai",
    S.DITOLAK: "Ditolak",
    S.DIARSIPKAN: "Diarsipkan",
}

# One sentence per status that tells the citizen what happens next.
STATUS_EXPLANATIONS: dict[TicketStatus, str] = {
    S.BELUM_DIVERIFIKASI: "Laporan Anda sudah kami terima dan menunggu pemeriksaan petugas.",
    S.TERVERIFIKASI: "Laporan Anda sudah diperiksa dan akan diteruskan ke unit yang berwenang.",
    S.DIDISPOSISI: "Laporan Anda sudah diteruskan ke unit yang berwenang.",
    S.DIPROSES: "Unit yang berwenang sedang menindaklanjuti laporan Anda.",
    S.MENUNGGU_PELAPOR: "Petugas memerlukan keterangan tambahan dari Anda. Silakan balas pesan petugas.",
    S.SELESAI: "Laporan Anda sudah selesai ditindaklanjuti.",
    S.DITOLAK: "Laporan Anda tidak dapat ditindaklanjuti. Alasannya tercantum pada catatan petugas.",
    S.DIARSIPKAN: "Laporan Anda sudah diarsipkan.",
}

# Statuses in which the SLA clock runs and that `menunggu_pelapor` may pause and later resume into.
ACTIVE_STATUSES: frozenset[TicketStatus] = frozenset(
    {S.BELUM_DIVERIFIKASI, S.TERVERIFIKASI, S.DIDISPOSISI, S.DIPROSES}
)
CLOSED_STATUSES: frozenset[TicketStatus] = frozenset({S.SELESAI, S.DITOLAK, S.DIARSIPKAN})

# The whole lifecycle in one table, read as "from -> allowed targets". Why each edge exists:
# - belum_diverifikasi: verified, rejected at verification (e.g. bukan wewenang, not a complaint), paused
#   to ask the citizen for missing facts, or archived (spam, duplicate; LAPOR!'s "Arsipkan" at verification).
# - terverifikasi: dispatched to a unit, or handled directly by the verifying office (straight to diproses).
# - didisposisi: the unit starts work, asks the citizen, or declares it outside its authority (ditolak);
#   it cannot resolve without first recording that it is working on it.
# - diproses: resolved, paused for the citizen, rejected after examination, or re-dispatched to another unit.
# - menunggu_pelapor: resumes only into the status it paused from (see `allowed_targets`), or is closed when
#   the citizen never answers (ditolak with a note, or diarsipkan).
# - selesai: archived, or reopened into diproses when the citizen disputes the result (note required).
# - ditolak: archived. diarsipkan: final.
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.BELUM_DIVERIFIKASI: frozenset({S.TERVERIFIKASI, S.DITOLAK, S.MENUNGGU_PELAPOR, S.DIARSIPKAN}),
    S.TERVERIFIKASI: frozenset({S.DIDISPOSISI, S.DIPROSES, S.MENUNGGU_PELAPOR, S.DITOLAK}),
    S.DIDISPOSISI: frozenset({S.DIPROSES, S.MENUNGGU_PELAPOR, S.DITOLAK}),
    S.DIPROSES: frozenset({S.SELESAI, S.MENUNGGU_PELAPOR, S.DITOLAK, S.DIDISPOSISI}),
    S.MENUNGGU_PELAPOR: frozenset(ACTIVE_STATUSES | {S.DITOLAK, S.DIARSIPKAN}),
    S.SELESAI: frozenset({S.DIARSIPKAN, S.DIPROSES}),
    S.DITOLAK: frozenset({S.DIARSIPKAN}),
    S.DIARSIPKAN: frozenset(),
}

# Transitions whose reason the citizen must be told: results, rejections, what is asked of them, reopening.
NOTE_REQUIRED_TARGETS: frozenset[TicketStatus] = frozenset({S.SELESAI, S.DITOLAK, S.MENUNGGU_PELAPOR})
NOTE_REQUIRED_EDGES: frozenset[tuple[TicketStatus, TicketStatus]] = frozenset({(S.SELESAI, S.DIPROSES)})


class TransitionError(ValueError):
    """A status change that the lifecycle does not allow; the message is for officers (Indonesian)."""


def allowed_targets(
    current: TicketStatus, paused_from: TicketStatus | None = None
) -> frozenset[TicketStatus]:
    targets = TRANSITIONS[current]
    if current is S.MENUNGGU_PELAPOR:
        # Resuming goes back to where the work stopped, so no step of the lifecycle is skipped or repeated.
        resume = {paused_from} if paused_from in ACTIVE_STATUSES else set(ACTIVE_STATUSES)
        targets = frozenset(t for t in targets if t in CLOSED_STATUSES or t in resume)
    return targets


def note_required(current: TicketStatus, target: TicketStatus) -> bool:
    return target in NOTE_REQUIRED_TARGETS or (current, target) in NOTE_REQUIRED_EDGES


def check_transition(
    current: TicketStatus, target: TicketStatus, note: str | None, paused_from: TicketStatus | None = None
) -> None:
    """Raise TransitionError unless `current -> target` is allowed and has a note where one is required."""
    if target not in allowed_targets(current, paused_from):
        raise TransitionError(
            f"Status tidak dapat diubah dari '{STATUS_LABELS[current]}' ke '{STATUS_LABELS[target]}'."
        )
    if note_required(current, target) and not (note and note.strip()):
        raise TransitionError(f"Perubahan status ke '{STATUS_LABELS[target]}' wajib disertai catatan.")
