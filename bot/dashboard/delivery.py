"""Admin page of the messages that did not reach a citizen (failed, needs_template), with a resend.

A send is given up only after DELIVERY_GIVE_UP_SECONDS (bot/gateway/delivery.py); what is listed here is
what an admin must look at. "Kirim ulang" queues a failed message again with a fresh time budget.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.api.deps import SessionDep
from bot.conversations import repository
from bot.dashboard.deps import AdminDep, CsrfDep, DashboardError
from bot.dashboard.templating import render, set_flash
from bot.gateway.delivery import Delivery
from bot.privacy import mask_personal_data

router = APIRouter(tags=["dashboard"])
DELIVERY_PATH = "/dashboard/pengiriman"
PAGE_SIZE = 100


@router.get(DELIVERY_PATH, response_class=HTMLResponse)
def failed_sends_page(request: Request, admin: AdminDep, session: SessionDep) -> HTMLResponse:
    rows = [
        {
            "id": message.id,
            "channel": message.channel,
            "recipient": mask_personal_data(message.sender_id),
            "text": mask_personal_data(message.text)[:200],
            "status": message.status,
            "reason": message.status_reason or "",
            "attempts": message.attempts,
            "created_at": message.created_at,
        }
        for message in repository.undelivered(session, limit=PAGE_SIZE)
    ]
    counts = repository.count_undelivered(session)
    return render(
        request,
        "delivery/list.html",
        {"nav_active": "pengiriman", "rows": rows, "counts": counts},
    )


@router.post(DELIVERY_PATH + "/{message_id}/kirim-ulang", dependencies=[CsrfDep])
async def resend(request: Request, message_id: int, admin: AdminDep) -> Response:
    delivery: Delivery = request.app.state.delivery
    if not await delivery.resend(message_id):
        raise DashboardError(409, "Pesan ini tidak berstatus gagal (mungkin sudah dikirim ulang).")
    response = RedirectResponse(DELIVERY_PATH, status_code=303)
    set_flash(response, f"Pesan #{message_id} dijadwalkan untuk dikirim ulang.")
    return response
