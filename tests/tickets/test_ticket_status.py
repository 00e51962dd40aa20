from __future__ import annotations

import itertools

import pytest

from bot.tickets.status import (
    STATUS_LABELS,
    TRANSITIONS,
    TicketStatus,
    TransitionError,
    allowed_targets,
    check_transition,
    note_required,
)

S = TicketStatus


def test_every_status_has_a_label_and_a_row() -> None:
    assert set(STATUS_LABELS) == set(S) == set(TRANSITIONS)
    assert STATUS_LABELS[S.BELUM_DIVERIFIKASI] == "Belum diverifikasi"


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.BELUM_DIVERIFIKASI, S.TERVERIFIKASI),
        (S.TERVERIFIKASI, S.DIDISPOSISI),
        (S.DIDISPOSISI, S.DIPROSES),
        (S.DIPROSES, S.DIDISPOSISI),
        (S.TERVERIFIKASI, S.DIPROSES),
        (S.SELESAI, S.DIARSIPKAN),
        (S.DITOLAK, S.DIARSIPKAN),
    ],
)
def test_allowed_transitions_without_note(current: S, target: S) -> None:
    check_transition(current, target, None)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.BELUM_DIVERIFIKASI, S.SELESAI),  # cannot resolve what nobody verified
        (S.BELUM_DIVERIFIKASI, S.DIPROSES),
        (S.DIDISPOSISI, S.SELESAI),  # the unit must take it up first
        (S.DIARSIPKAN, S.DIPROSES),  # archive is final
        (S.DITOLAK, S.DIPROSES),
        (S.SELESAI, S.DITOLAK),
        (S.DIPROSES, S.BELUM_DIVERIFIKASI),
        (S.DIPROSES, S.DIPROSES),
    ],
)
def test_forbidden_transitions(current: S, target: S) -> None:
    with pytest.raises(TransitionError, match="tidak dapat diubah"):
        check_transition(current, target, "catatan")


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.DIPROSES, S.SELESAI),
        (S.DIDISPOSISI, S.DITOLAK),
        (S.DIPROSES, S.MENUNGGU_PELAPOR),
        (S.SELESAI, S.DIPROSES),
    ],
)
def test_note_required(current: S, target: S) -> None:
    assert note_required(current, target)
    for empty in (None, "", "   "):
        with pytest.raises(TransitionError, match="wajib disertai catatan"):
            check_transition(current, target, empty)
    check_transition(current, target, "Jalan sudah diperbaiki pada 3 Maret.")


def test_resume_only_into_the_paused_status() -> None:
    assert allowed_targets(S.MENUNGGU_PELAPOR, S.DIDISPOSISI) == {S.DIDISPOSISI, S.DITOLAK, S.DIARSIPKAN}
    check_transition(S.MENUNGGU_PELAPOR, S.DIDISPOSISI, None, paused_from=S.DIDISPOSISI)
    with pytest.raises(TransitionError):
        check_transition(S.MENUNGGU_PELAPOR, S.DIPROSES, None, paused_from=S.DIDISPOSISI)


def test_table_has_no_edges_into_belum_diverifikasi_except_resume() -> None:
    sources = {s for s, targets in TRANSITIONS.items() if S.BELUM_DIVERIFIKASI in targets}
    assert sources == {S.MENUNGGU_PELAPOR}


def test_closed_statuses_only_lead_to_archive_or_reopen() -> None:
    for current, target in itertools.product([S.DITOLAK, S.DIARSIPKAN], S):
        if target not in TRANSITIONS[current]:
            with pytest.raises(TransitionError):
                check_transition(current, target, "x")
