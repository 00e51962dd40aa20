"""Admin pages of the retraining loop (/dashboard/nlu): the NLU inbox, training examples and FAQ answers,
training runs with live progress, evaluation reports and the gated deploy. Plus the service endpoint the
action server reads FAQ answers from, and the "flag for training" action of conversation pages."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response

from bot import csv_safety
from bot.api.deps import SessionDep, require_service_token
from bot.dashboard.deps import AdminDep, CsrfDep, DashboardError, StaffDep, client_ip
from bot.dashboard.templating import render, set_flash
from bot.db import Database
from bot.ids import INT64_MAX, DbBigId, DbId, parse_db_id
from bot.modelops import evaluation, inbox, jobs, registry, trainingdata
from bot.modelops.deployer import DeployBusy, Deployer
from bot.modelops.registry import RegistryError
from bot.modelops.training_models import Evaluation, TrainingRun
from bot.settings import Settings
from bot.staff.audit_log import AccessAction, log_access

router = APIRouter(tags=["dashboard"])
BASE = "/dashboard/nlu"
RUN_STATUS_LABELS = {
    "queued": "Menunggu",
    "running": "Berjalan",
    "succeeded": "Berhasil",
    "failed": "Gagal",
    "cancelled": "Dibatalkan",
}
Text = Annotated[str, Form(max_length=4000)]


def _back(url: str, message: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    set_flash(response, message)
    return response


def _ids(raw: str) -> list[int]:
    parts = [p for p in raw.replace(",", " ").split() if p]
    ids = [parse_db_id(p, INT64_MAX) for p in parts]
    if not ids or len(ids) > 500 or None in ids:
        raise inbox.InboxError("Pilihan pesan tidak valid.")
    return [i for i in ids if i is not None]


def _worker(request: Request) -> jobs.TrainingWorker:
    settings: Settings = request.app.state.settings
    database: Database = request.app.state.database
    return jobs.worker_for(database, settings.rasa_models_dir)


# --------------------------------------------------------------------------------------------- inbox


@router.get(BASE, response_class=HTMLResponse)
def inbox_page(
    request: Request, admin: AdminDep, session: SessionDep, urut: str = "terbanyak"
) -> HTMLResponse:
    order = "terbaru" if urut == "terbaru" else "terbanyak"
    groups = inbox.inbox(session, order=order)
    context = {
        "nav_active": "nlu",
        "groups": groups,
        "order": order,
        "reason_labels": inbox.REASON_LABELS,
        "labels": trainingdata.catalog().labels(),
    }
    return render(request, "nlu/inbox.html", context)


@router.get(BASE + "/inbox.csv")
def inbox_csv(request: Request, admin: AdminDep, session: SessionDep) -> Response:
    rows = inbox.export_rows(inbox.inbox(session))
    columns = ["text", "count", "newest_at", "reasons", "model_guess", "message_ids"]
    body = csv_safety.to_csv([columns, *([row.get(c) for c in columns] for row in rows)])
    log_access(
        session,
        admin,
        AccessAction.EXPORT,
        target_type="nlu_inbox",
        detail=f"{len(rows)} kelompok",
        ip=client_ip(request),
    )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="nlu-inbox.csv"'},
    )


@router.post(BASE + "/label", dependencies=[CsrfDep])
def label_group(
    admin: AdminDep,
    session: SessionDep,
    message_ids: Annotated[str, Form(max_length=8000)],
    label: Annotated[str, Form(max_length=130)] = "",
    new_label: Annotated[str, Form(max_length=130)] = "",
    action: Annotated[str, Form(max_length=20)] = "label",
) -> Response:
    try:
        ids = _ids(message_ids)
        if action == "abaikan":
            count = inbox.dismiss(session, ids, admin.actor)
            return _back(BASE, f"{count} pesan diabaikan.")
        chosen = new_label.strip() or label.strip()
        if not chosen:
            raise inbox.InboxError("Pilih label yang ada atau tulis label baru.")
        examples = inbox.label(session, ids, chosen, admin.actor, new_label=bool(new_label.strip()))
    except (inbox.InboxError, trainingdata.TrainingDataError) as refused:
        session.rollback()
        return _back(BASE, f"Tidak disimpan: {refused}")
    return _back(BASE, f"{len(ids)} pesan diberi label {examples[0].label}.")


@router.post("/dashboard/percakapan/pesan/{message_id}/tandai-nlu", dependencies=[CsrfDep])
def flag_message(
    request: Request,
    message_id: DbBigId,
    staff: StaffDep,
    session: SessionDep,
    note: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=300)] = "/dashboard/percakapan",
) -> Response:
    """Any officer may flag a citizen message the bot misunderstood; it joins the NLU inbox."""
    try:
        inbox.flag(session, message_id, staff.actor, note)
    except inbox.InboxError as error:
        raise DashboardError(404, str(error)) from error
    target = back if back.startswith("/dashboard/") else "/dashboard/percakapan"
    return _back(target, "Pesan ditandai untuk dipelajari bot.")


# --------------------------------------------------------------------------------------------- data


@router.get(BASE + "/data", response_class=HTMLResponse)
def data_page(request: Request, admin: AdminDep, session: SessionDep) -> HTMLResponse:
    context = {
        "nav_active": "nlu",
        "examples": trainingdata.db_examples(session),
        "labels": trainingdata.catalog().labels(),
        "overrides": trainingdata.faq_overrides(session),
        "topics": trainingdata.knowledge_with_overrides(session),
    }
    return render(request, "nlu/data.html", context)


@router.post(BASE + "/data/contoh", dependencies=[CsrfDep])
def add_example(
    admin: AdminDep,
    session: SessionDep,
    text: Annotated[str, Form(max_length=2000)],
    label: Annotated[str, Form(max_length=130)],
    new_label: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        trainingdata.add_example(session, text, label, admin.actor, new_label=new_label == "ya")
    except trainingdata.TrainingDataError as refused:
        session.rollback()
        return _back(BASE + "/data", f"Tidak disimpan: {refused}")
    return _back(BASE + "/data", "Contoh disimpan.")


@router.post(BASE + "/data/contoh/{example_id}/hapus", dependencies=[CsrfDep])
def delete_example(example_id: DbId, admin: AdminDep, session: SessionDep) -> Response:
    if not trainingdata.delete_example(session, example_id):
        raise DashboardError(404, "Contoh tidak ditemukan.")
    return _back(BASE + "/data", "Contoh dihapus.")


@router.post(BASE + "/data/impor", dependencies=[CsrfDep])
def import_examples(
    admin: AdminDep, session: SessionDep, yaml_text: Annotated[str, Form(max_length=600_000)]
) -> Response:
    try:
        stored = trainingdata.import_yaml(session, yaml_text, admin.actor)
    except trainingdata.TrainingDataError as refused:
        session.rollback()
        return _back(BASE + "/data", f"Impor ditolak: {refused}")
    return _back(BASE + "/data", f"{len(stored)} contoh diimpor.")


@router.get(BASE + "/data/ekspor.yml")
def export_examples(request: Request, admin: AdminDep, session: SessionDep) -> Response:
    log_access(session, admin, AccessAction.EXPORT, target_type="nlu_data", ip=client_ip(request))
    return PlainTextResponse(
        trainingdata.export_patch(session),
        media_type="text/yaml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="admin_examples.yml"'},
    )


@router.post(BASE + "/faq", dependencies=[CsrfDep])
def save_faq(
    admin: AdminDep,
    session: SessionDep,
    topic: Annotated[str, Form(max_length=100)],
    title: Annotated[str, Form(max_length=120)],
    summary: Annotated[str, Form(max_length=300)],
    parts: Annotated[str, Form(max_length=8000)],
    source: Annotated[str, Form(max_length=300)],
    as_of: Annotated[str, Form(max_length=10)],
    followups: Annotated[str, Form(max_length=1000)] = "",
    source_url: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        when = date.fromisoformat(as_of)
    except ValueError:
        return _back(BASE + "/data", "Tanggal 'per' tidak valid (format TTTT-BB-HH).")
    edit = trainingdata.FaqEdit(
        topic=topic,
        title=title,
        summary=summary,
        parts=[p.strip() for p in parts.split("\n\n") if p.strip()],
        followups=[f.strip() for f in followups.replace(",", " ").split() if f.strip()],
        source=source,
        source_url=source_url.strip() or None,
        as_of=when,
    )
    try:
        _, retrain = trainingdata.save_faq_answer(session, edit, admin.actor)
    except trainingdata.TrainingDataError as refused:
        session.rollback()
        return _back(BASE + "/data", f"Tidak disimpan: {refused}")
    if retrain:
        return _back(BASE + "/data", "Topik baru disimpan. Tambahkan contoh pertanyaan lalu latih model.")
    return _back(BASE + "/data", "Jawaban disimpan dan langsung dipakai bot (tanpa pelatihan ulang).")


@router.get("/api/v1/faq/answers", dependencies=[Depends(require_service_token)], tags=["faq"])
def faq_answers(session: SessionDep) -> dict[str, object]:
    """The knowledge base with the dashboard's answers on top, for the action server (actions/faq_live.py)."""
    return {"topics": trainingdata.knowledge_document(session)}


# --------------------------------------------------------------------------------------------- training


def _runs_context(session: SessionDep) -> dict[str, object]:
    runs = jobs.recent_runs(session)
    return {
        "runs": runs,
        "status_labels": RUN_STATUS_LABELS,
        "active": any(r.status in jobs.ACTIVE for r in runs),
    }


@router.get(BASE + "/latih", response_class=HTMLResponse)
def training_page(request: Request, admin: AdminDep, session: SessionDep) -> HTMLResponse:
    context = {"nav_active": "nlu", "configs": jobs.CONFIGS, **_runs_context(session)}
    return render(request, "nlu/training.html", context)


@router.get(BASE + "/latih/progres", response_class=HTMLResponse)
def training_progress(request: Request, admin: AdminDep, session: SessionDep) -> HTMLResponse:
    return render(request, "nlu/_runs.html", _runs_context(session))


@router.get(BASE + "/latih/{run_id}/log", response_class=PlainTextResponse)
def training_log(run_id: DbId, admin: AdminDep, session: SessionDep) -> PlainTextResponse:
    run = session.get(TrainingRun, run_id)
    if run is None:
        raise DashboardError(404, "Pelatihan tidak ditemukan.")
    return PlainTextResponse(jobs.read_log(run) or "(log belum ada)")


@router.post(BASE + "/latih", dependencies=[CsrfDep])
def start_training(
    request: Request,
    admin: AdminDep,
    session: SessionDep,
    config: Annotated[str, Form(max_length=60)] = "config.ci.yml",
    full_data: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        run = jobs.request_run(session, admin.actor, config, holdout=full_data != "ya")
    except jobs.TrainingError as refused:
        return _back(BASE + "/latih", str(refused))
    session.commit()
    _worker(request).kick()
    return _back(BASE + "/latih", f"Pelatihan #{run.id} masuk antrean.")


@router.post(BASE + "/latih/{run_id}/batal", dependencies=[CsrfDep])
def cancel_training(run_id: DbId, admin: AdminDep, session: SessionDep) -> Response:
    try:
        jobs.cancel(session, run_id)
    except jobs.TrainingError as refused:
        return _back(BASE + "/latih", str(refused))
    return _back(BASE + "/latih", f"Pelatihan #{run_id} dibatalkan.")


# --------------------------------------------------------------------------------------------- evaluation


@router.get(BASE + "/evaluasi", response_class=HTMLResponse)
def evaluations_page(request: Request, admin: AdminDep, session: SessionDep) -> HTMLResponse:
    candidates = [m for m in registry.list_models(session) if m.status == "candidate"]
    context = {
        "nav_active": "nlu",
        "state": evaluation.background.state,
        "evaluations": evaluation.recent(session),
        "candidates": candidates,
        "live": registry.live_model(session),
    }
    return render(request, "nlu/evaluations.html", context)


@router.post(BASE + "/evaluasi", dependencies=[CsrfDep])
def run_evaluation(request: Request, admin: AdminDep, model_id: Annotated[DbId, Form()]) -> Response:
    try:
        evaluation.background.start(request.app.state.database, model_id, admin.actor)
    except evaluation.EvaluationError as refused:
        return _back(BASE + "/evaluasi", str(refused))
    return _back(BASE + "/evaluasi", "Evaluasi dimulai. Kedua model dimuat; ini perlu beberapa menit.")


@router.get(BASE + "/evaluasi/status", response_class=HTMLResponse)
def evaluation_status(request: Request, admin: AdminDep) -> HTMLResponse:
    return render(request, "nlu/_eval_status.html", {"state": evaluation.background.state})


def _evaluation(session: SessionDep, evaluation_id: int) -> Evaluation:
    row = session.get(Evaluation, evaluation_id)
    if row is None:
        raise DashboardError(404, "Evaluasi tidak ditemukan.")
    return row


@router.get(BASE + "/evaluasi/{evaluation_id}", response_class=HTMLResponse)
def evaluation_page(
    request: Request, evaluation_id: DbId, admin: AdminDep, session: SessionDep
) -> HTMLResponse:
    row = _evaluation(session, evaluation_id)
    context = {
        "nav_active": "nlu",
        "evaluation": row,
        "report": row.report,
        "candidate": registry.find_model(session, row.candidate_model_id),
        "live": registry.find_model(session, row.live_model_id) if row.live_model_id else None,
        "managed": request.app.state.deployer is not None,
    }
    return render(request, "nlu/evaluation.html", context)


@router.get(BASE + "/evaluasi/{evaluation_id}/confusion.png")
def evaluation_png(evaluation_id: DbId, admin: AdminDep, session: SessionDep) -> Response:
    row = _evaluation(session, evaluation_id)
    if not row.confusion_png or not Path(row.confusion_png).is_file():
        raise DashboardError(404, "Gambar matriks kebingungan tidak tersedia.")
    return FileResponse(row.confusion_png, media_type="image/png")


@router.post(BASE + "/evaluasi/{evaluation_id}/terapkan", dependencies=[CsrfDep])
async def deploy_candidate(
    request: Request,
    evaluation_id: DbId,
    admin: AdminDep,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    row = _evaluation(session, evaluation_id)
    page = f"{BASE}/evaluasi/{evaluation_id}"
    deployer: Deployer | None = request.app.state.deployer
    if deployer is None:
        return _back(
            page, "Rasa tidak dikelola layanan ini (RASA_MANAGED=false); terapkan lewat `bot model deploy`."
        )
    try:
        override = evaluation.check_deploy(row, reason)
        deployment_id = await deployer.begin(row.candidate_model_id, admin.actor)
    except (evaluation.EvaluationError, DeployBusy, RegistryError) as refused:
        return _back(page, f"Tidak diterapkan: {refused}")
    detail = f"penerapan #{deployment_id} dari evaluasi #{evaluation_id}"
    if override:
        detail += f"; gerbang evaluasi dilewati, alasan: {override}"
    log_access(
        session,
        admin,
        AccessAction.MODEL_DEPLOY,
        target_type="rasa_model",
        target_id=row.candidate_model_id,
        detail=detail,
        ip=client_ip(request),
    )
    return _back("/dashboard/model", "Penerapan dimulai. Percakapan warga tetap berjalan selama proses ini.")
