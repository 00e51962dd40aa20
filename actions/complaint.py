"""The complaint conversation: start, ask only what is missing, validate kindly, confirm, file."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import outbox
from actions.categories import fetch_categories
from actions.channel import channel_identity, message_metadata
from actions.complaint_messages import (
    SKIPPED,
    UNKNOWN_DATE,
    category_buttons,
    field_to_edit,
    filed_confirmation,
    summary_buttons,
    summary_text,
)
from actions.dates import (
    YEARS_BEFORE_CONFIRMATION,
    Plausibility,
    is_unknown_answer,
    parse_incident_date,
    plausibility,
    stored_incident_date,
)
from actions.faq import send_messages
from actions.service_client import ServiceUnavailable, request
from bot.knowledge.faq import format_date_id, load_knowledge_base, render_answer

logger = logging.getLogger(__name__)
JAKARTA = timezone(timedelta(hours=7))
FORM = "complaint_form"
MAX_ATTEMPTS = 3
MIN_DESCRIPTION_WORDS = 3
SKIPPABLE = {"complaint_location", "complaint_date", "complaint_photo", "complaint_contact"}
COMPLAINT_SLOTS = [
    "complaint_description",
    "complaint_location",
    "complaint_latitude",
    "complaint_longitude",
    "complaint_date",
    "complaint_date_pending",
    "complaint_category",
    "complaint_photo",
    "complaint_anonymous",
    "complaint_contact",
    "complaint_consent",
    "complaint_confirmed",
    "complaint_attempts",
    "complaint_aborted",
    "complaint_suggestions",
]
SKIP_WORDS = {
    "lewati",
    "skip",
    "lewat",
    "tidak ada",
    "gak ada",
    "ga ada",
    "nggak ada",
    "tidak",
    "gak",
    "ga",
    "tidak usah",
    "gak usah",
    "nanti saja",
    "-",
}
YES_WORDS = {
    "ya",
    "iya",
    "y",
    "yes",
    "ok",
    "oke",
    "setuju",
    "boleh",
    "betul",
    "benar",
    "kirim",
    "yup",
    "yoi",
    "siap",
    "sip",
    "mau",
    "ya, anonim",
    "anonim",
    "ya, benar",
}
NO_WORDS = {"tidak", "tdk", "gak", "ga", "nggak", "enggak", "no", "jangan", "tidak setuju", "bukan"}
GENERIC_COMPLAINT_WORDS = {
    "mau",
    "ingin",
    "pengen",
    "pingin",
    "lapor",
    "melapor",
    "laporan",
    "ngadu",
    "mengadu",
    "pengaduan",
    "aduan",
    "keluhan",
    "komplain",
    "complain",
    "bikin",
    "buat",
    "membuat",
    "saya",
    "sy",
    "aku",
    "min",
    "admin",
    "pak",
    "bu",
    "kak",
    "dong",
    "nih",
    "ya",
    "ada",
    "menyampaikan",
    "sampaikan",
    "tolong",
    "bisa",
    "gimana",
    "bagaimana",
    "caranya",
    "cara",
    "mohon",
    "halo",
    "hai",
    "selamat",
    "pagi",
    "siang",
    "sore",
    "malam",
    "gan",
    "sis",
    "bang",
    "kepada",
    "yth",
    "nya",
    "yang",
    "untuk",
    "dengan",
    "soal",
    "tentang",
}
QUESTION_START = re.compile(
    r"^(apa|apakah|bagaimana|gimana|gmn|berapa|brp|kapan|dimana|di mana|kemana|ke mana|syarat|cara|"
    r"bisakah|boleh|bolehkah)\b"
)
LOCATION_IN_TEXT = re.compile(
    r"\b(?:di|depan|dekat|sekitar|samping|belakang)\s+((?:jalan|jln?\.?|gang|gg\.?|kelurahan|kel\.|desa|"
    r"kampung|kp\.?|komplek|kompleks|perumahan|perum|pasar|rt|blok|simpang|perempatan|pertigaan|kantor|"
    r"puskesmas|rsud|sd|smp|sma|smk|taman|terminal|stasiun|kecamatan|dusun)\b[^,.;!?\n]{0,60})",
    re.IGNORECASE,
)
PHONE = re.compile(r"^(?:\+?62|0)8[1-9][0-9]{6,11}$")  # ASCII digits only: \d takes any script's
CATEGORY_CODE = re.compile(r"[a-z_]+")
MEDIA_IDS = re.compile(r"\d+(?:,\d+)*")


def normalize_phone(text: str) -> Optional[str]:
    """Indonesian mobile numbers in any common writing -> +628…; None when it is not one."""
    digits = re.sub(r"[\s\-().]", "", text)
    if not PHONE.match(digits):
        return None
    digits = digits.lstrip("+")
    return "+62" + (digits[1:] if digits.startswith("0") else digits[2:])


def today_in_jakarta() -> date:
    return datetime.now(JAKARTA).date()


def normalized_answer(value: Any) -> str:
    return " ".join(str(value or "").lower().split()).strip(" .!")


def is_narration(text: str) -> bool:
    """A narrated problem, not just "mau lapor": enough words beyond the generic complaint words."""
    words = re.findall(r"[a-zA-Z0-9]+", text.lower())
    return len([word for word in words if word not in GENERIC_COMPLAINT_WORDS]) >= 2


def is_full_description(text: str) -> bool:
    return len(text.split()) >= MIN_DESCRIPTION_WORDS


# Words that end a place name inside a narration: "di gang mawar | mati semua sejak minggu lalu".
LOCATION_END = re.compile(
    r"\s+\b(?:mati|rusak|sejak|dari|sudah|udah|udh|sdh|tidak|tdk|gak|ga|nggak|belum|blm|yang|yg|sering|selalu|"
    r"banyak|penuh|terus|karena|krn|padahal|tapi|dan|pada|saat|ketika|waktu|kemarin|tadi|hari|minggu|"
    r"bulan|tahun|jam|banget|bgt|sangat|parah|berlubang|bolong|macet|banjir|menumpuk|numpuk)\b.*$",
    re.IGNORECASE,
)


def location_in(text: str) -> Optional[str]:
    """A place named in a narration ("di Jl. Melati RT 03"), cut before what happens there."""
    match = LOCATION_IN_TEXT.search(text)
    if not match:
        return None
    place = LOCATION_END.sub("", " ".join(match.group(1).split())).strip()
    return place if len(place) >= 4 else None


def photos_with_new_attachments(tracker: Tracker) -> Optional[str]:
    """The complaint's photo references plus any the latest message carries (staged media ids)."""
    attachments = message_metadata(tracker).get("attachments") or []
    references = [str(item["id"]) for item in attachments if isinstance(item, dict) and item.get("id")]
    if not references:
        return None
    # During the photo question the slot holds this turn's text ("[foto]"): keep only media ids.
    kept = [part for part in str(tracker.get_slot("complaint_photo") or "").split(",") if part.isdigit()]
    return ",".join(dict.fromkeys(kept + references))


def shared_location(tracker: Tracker) -> Optional[Tuple[float, float]]:
    location = message_metadata(tracker).get("location") or {}
    try:
        return float(location["latitude"]), float(location["longitude"])
    except (KeyError, TypeError, ValueError):
        return None


def looks_like_faq_question(tracker: Tracker) -> bool:
    """A clear service question in the middle of the form: answer it, then continue the complaint."""
    latest = tracker.latest_message or {}
    intent = (latest.get("intent") or {}).get("name")
    response = ((latest.get("response_selector") or {}).get("faq") or {}).get("response") or {}
    text = normalized_answer(latest.get("text"))
    return (
        intent == "faq"
        and float((latest.get("intent") or {}).get("confidence") or 0) >= 0.8
        and float(response.get("confidence") or 0) >= 0.8
        and ("?" in str(latest.get("text")) or bool(QUESTION_START.match(text)))
    )


class ActionStartComplaint(Action):
    """Opens a new complaint: fresh run id, and what the first message already told us."""

    def name(self) -> str:
        return "action_start_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events: List[EventType] = [SlotSet(slot, None) for slot in COMPLAINT_SLOTS]
        events.append(SlotSet("complaint_run_id", uuid.uuid4().hex))
        # A question left open by an interrupted form must not make the prefilled values below look like
        # the citizen's answer to it (see `citizen_answers`).
        events.append(SlotSet("requested_slot", None))
        text = str((tracker.latest_message or {}).get("text") or "")
        if text.startswith("/") or not is_narration(text) or not is_full_description(text):
            dispatcher.utter_message(response="utter_complaint_intro")
            return events
        events.append(SlotSet("complaint_description", text.strip()))
        photos = photos_with_new_attachments(tracker)
        if photos:
            events.append(SlotSet("complaint_photo", photos))
        location = location_in(text)
        if location:
            events.append(SlotSet("complaint_location", location))
        events += prefilled_date(text, today_in_jakarta())
        dispatcher.utter_message(response="utter_complaint_narration_received")
        return events


def prefilled_date(text: str, today: date) -> List[EventType]:
    """The incident date a narration gives: stored when believable, held for confirmation when long ago."""
    incident = parse_incident_date(text, today)
    if incident is None:
        return []
    verdict = plausibility(incident, today)
    if verdict is Plausibility.PLAUSIBLE:
        return [SlotSet("complaint_date", incident.isoformat())]
    if verdict is Plausibility.LONG_AGO:
        return [SlotSet("complaint_date_pending", incident.isoformat())]
    return []  # a future or impossible date: the form asks for it


def is_citizen_answer(slot: str, value: Any, tracker: Tracker) -> bool:
    """True when `value` is the text of the message that answers the question the form asked.

    domain.yml fills each complaint slot only that way (`from_text` while it is the requested slot). Any other
    value that reaches a validator was stored earlier by the form itself: Rasa re-validates prefilled slots
    when a form is activated, e.g. what ActionStartComplaint read from a narration.
    """
    latest_text = (tracker.latest_message or {}).get("text")
    return tracker.get_slot("requested_slot") == slot and value == latest_text


def is_stored_date(value: Any) -> bool:
    if value == UNKNOWN_DATE:
        return True
    incident = stored_incident_date(value)
    return incident is not None and plausibility(incident, today_in_jakarta()) in (
        Plausibility.PLAUSIBLE,
        Plausibility.LONG_AGO,  # only ever stored after the citizen confirmed it
    )


def is_stored_contact(value: Any) -> bool:
    return value == SKIPPED or (isinstance(value, str) and normalize_phone(value) == value)


def is_stored_photo(value: Any) -> bool:
    return value == SKIPPED or (isinstance(value, str) and MEDIA_IDS.fullmatch(value) is not None)


def is_stored_text(value: Any) -> bool:
    return isinstance(value, str) and len(value.strip()) >= 3


def is_stored_description(value: Any) -> bool:
    return isinstance(value, str) and is_full_description(value)


def is_stored_category(value: Any) -> bool:
    return isinstance(value, str) and CATEGORY_CODE.fullmatch(value) is not None


def is_stored_choice(value: Any) -> bool:
    return isinstance(value, bool)


Validator = Callable[[Any, Any, CollectingDispatcher, Tracker, DomainDict], Awaitable[Dict[str, Any]]]


def citizen_answers(is_stored_form: Callable[[Any], bool]) -> Callable[[Validator], Validator]:
    """Reads only the citizen's answer as text; a value the form stored before is kept, never re-read.

    A stored value and an answer are different kinds of thing: an ISO date read again as text became another
    date ("2026-11-30" -> "11-30" -> 11 December 1930), a stored True is not the answer "ya". A stored value that
    is not in its stored form is dropped, so the form asks its question again. A slot cleared to None (a new
    complaint, a correction) is nothing to validate.
    """

    def decorate(method: Validator) -> Validator:
        slot = method.__name__.removeprefix("validate_")

        @functools.wraps(method)
        async def validate(
            self: Any, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
        ) -> Dict[str, Any]:
            if value is None:
                return {}
            if is_citizen_answer(slot, value, tracker):
                return await method(self, value, dispatcher, tracker, domain)
            if is_stored_form(value):
                return {slot: value}
            logger.warning("%s held a value that is not in its stored form; asking again", slot)
            return {slot: None}

        return validate

    return decorate


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        # A photo sent while another question is open is kept too (then the photo question is skipped).
        photos = photos_with_new_attachments(tracker)
        if photos and tracker.get_slot("requested_slot") != "complaint_photo":
            events.append(SlotSet("complaint_photo", photos))
        return events

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        if tracker.get_slot("complaint_aborted"):
            return []
        if tracker.get_slot("complaint_anonymous") is True:
            return [slot for slot in domain_slots if slot != "complaint_contact"]
        return domain_slots

    # --- shared behaviour -------------------------------------------------------------------

    def _interrupted_by_faq(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        if not looks_like_faq_question(tracker):
            return False
        response = tracker.latest_message["response_selector"]["faq"]["response"]
        topic = str(response.get("intent_response_key", "")).split("/", 1)[-1]
        knowledge_base = load_knowledge_base()
        if topic not in knowledge_base:
            return False
        send_messages(dispatcher, render_answer(topic, knowledge_base))
        dispatcher.utter_message(response="utter_complaint_resume")
        return True

    def _failed(
        self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher, explanation: str
    ) -> Dict[str, Any]:
        """Explains the problem; after three tries offers to skip the question or reach an officer."""
        attempts = dict(tracker.get_slot("complaint_attempts") or {})
        attempts[slot] = attempts.get(slot, 0) + 1
        if attempts[slot] >= MAX_ATTEMPTS:
            buttons = [{"title": "Lewati", "payload": SKIPPED}] if slot in SKIPPABLE else []
            buttons += [
                {"title": "Bicara dengan petugas", "payload": "/request_human"},
                {"title": "Batalkan pengaduan", "payload": "/cancel"},
            ]
            dispatcher.utter_message(
                text=f"{explanation}\nSepertinya ada kendala. Bapak/Ibu dapat "
                + ("melewati pertanyaan ini, " if slot in SKIPPABLE else "")
                + "berbicara dengan petugas, atau membatalkan pengaduan.",
                buttons=buttons,
            )
        else:
            dispatcher.utter_message(text=explanation)
        return {slot: None, "complaint_attempts": attempts}

    # --- one validator per question ---------------------------------------------------------

    @citizen_answers(is_stored_description)
    async def validate_complaint_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") == "complaint_description" and self._interrupted_by_faq(
            dispatcher, tracker
        ):
            return {"complaint_description": None}
        if not is_full_description(str(value)):
            return self._failed(
                "complaint_description",
                tracker,
                dispatcher,
                "Mohon ceritakan sedikit lebih lengkap: apa yang terjadi? "
                'Contoh: "Lampu jalan di Gang Mawar mati sejak seminggu lalu."',
            )
        return {"complaint_description": str(value).strip()[:4000]}

    @citizen_answers(is_stored_text)
    async def validate_complaint_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        coordinates = shared_location(tracker)
        if coordinates:
            latitude, longitude = coordinates
            return {
                "complaint_location": f"Lokasi yang dibagikan ({latitude:.5f}, {longitude:.5f})",
                "complaint_latitude": latitude,
                "complaint_longitude": longitude,
            }
        answer = normalized_answer(value)
        if answer in SKIP_WORDS:
            return {"complaint_location": SKIPPED}
        if self._interrupted_by_faq(dispatcher, tracker):
            return {"complaint_location": None}
        if len(answer) < 3:
            return self._failed(
                "complaint_location",
                tracker,
                dispatcher,
                "Mohon tuliskan lokasinya, misalnya nama jalan/gang, RT/RW, kelurahan, atau patokan terdekat. "
                "Anda juga bisa membagikan lokasi dari aplikasi chat.",
            )
        return {"complaint_location": " ".join(str(value).split())[:300]}

    @citizen_answers(is_stored_date)
    async def validate_complaint_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        answer = normalized_answer(value)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        pending = stored_incident_date(tracker.get_slot("complaint_date_pending"))
        if is_unknown_answer(answer) or (answer in SKIP_WORDS and not pending):
            return {"complaint_date": UNKNOWN_DATE, "complaint_date_pending": None}
        if pending and (answer in YES_WORDS or intent == "affirm"):
            return {"complaint_date": pending.isoformat(), "complaint_date_pending": None}
        if pending and (answer in NO_WORDS or intent == "deny"):
            return {"complaint_date": None, "complaint_date_pending": None}  # asked again, plainly
        return self._read_date(answer, tracker, dispatcher)

    def _read_date(self, answer: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> Dict[str, Any]:
        today = today_in_jakarta()
        incident = parse_incident_date(answer, today)
        if incident is None:
            return self._failed(
                "complaint_date",
                tracker,
                dispatcher,
                "Maaf, saya belum bisa membaca tanggalnya. Contoh: kemarin, 2 hari lalu, Senin lalu, "
                'atau 5 Maret. Jika tidak ingat, pilih "Tidak ingat".',
            )
        verdict = plausibility(incident, today)
        if verdict is Plausibility.FUTURE:
            return self._failed(
                "complaint_date",
                tracker,
                dispatcher,
                "Tanggal kejadian tidak boleh lebih dari hari ini. Kapan kejadiannya?",
            )
        if verdict is Plausibility.TOO_OLD:
            return self._failed(
                "complaint_date",
                tracker,
                dispatcher,
                f"Tanggal {format_date_id(incident)} sepertinya keliru. Mohon tuliskan lagi tanggal "
                "kejadiannya, misalnya 5 Maret 2026.",
            )
        if verdict is Plausibility.LONG_AGO:  # asked back by action_ask_complaint_date before it is kept
            return {"complaint_date": None, "complaint_date_pending": incident.isoformat()}
        return {"complaint_date": incident.isoformat(), "complaint_date_pending": None}

    @citizen_answers(is_stored_category)
    async def validate_complaint_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        categories = await fetch_categories()
        answer = normalized_answer(value)
        for category in categories:
            if answer in (category["code"], category["label"].lower(), category["code"].replace("_", " ")):
                return {"complaint_category": category["code"]}
        if answer in YES_WORDS and tracker.get_slot("complaint_suggestions"):
            return {"complaint_category": tracker.get_slot("complaint_suggestions")[0]}
        if "lain" in answer and categories:
            dispatcher.utter_message(
                text="Silakan pilih kategori yang paling sesuai:", buttons=category_buttons(categories)
            )
            return {"complaint_category": None}
        if answer in SKIP_WORDS and tracker.get_slot("complaint_suggestions"):
            return {"complaint_category": tracker.get_slot("complaint_suggestions")[0]}
        return self._failed(
            "complaint_category",
            tracker,
            dispatcher,
            "Mohon pilih salah satu kategori dari tombol yang tersedia.",
        )

    @citizen_answers(is_stored_photo)
    async def validate_complaint_photo(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        photos = photos_with_new_attachments(tracker)
        if photos:
            return {"complaint_photo": photos}
        answer = normalized_answer(value)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if answer in SKIP_WORDS or intent == "deny":
            return {"complaint_photo": SKIPPED}
        return self._failed(
            "complaint_photo",
            tracker,
            dispatcher,
            'Silakan kirim fotonya sebagai gambar, atau pilih "Lewati" jika tidak ada foto.',
        )

    @citizen_answers(is_stored_choice)
    async def validate_complaint_anonymous(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        answer = normalized_answer(value)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if answer in YES_WORDS or intent == "affirm":
            return {"complaint_anonymous": True}
        if answer in NO_WORDS or intent == "deny":
            return {"complaint_anonymous": False}
        return self._failed(
            "complaint_anonymous", tracker, dispatcher, 'Mohon jawab dengan "Ya, anonim" atau "Tidak".'
        )

    @citizen_answers(is_stored_contact)
    async def validate_complaint_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        shared = (message_metadata(tracker).get("contact") or {}).get("phone_number")
        answer = str(shared or value or "")
        if normalized_answer(answer) in SKIP_WORDS:
            return {"complaint_contact": SKIPPED}
        phone = normalize_phone(answer)
        if phone is None:
            return self._failed(
                "complaint_contact",
                tracker,
                dispatcher,
                "Nomor tersebut sepertinya bukan nomor HP Indonesia. Contoh yang benar: 081234567890 "
                'atau +6281234567890. Pilih "Lewati" jika tidak ingin memberikan nomor.',
            )
        return {"complaint_contact": phone}

    @citizen_answers(is_stored_choice)
    async def validate_complaint_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        answer = normalized_answer(value)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if answer in NO_WORDS or intent == "deny":
            dispatcher.utter_message(
                text="Baik, kami menghormati keputusan Anda. Tanpa persetujuan ini pengaduan tidak dapat kami "
                "catat, jadi pengaduan ini kami batalkan. Anda tetap dapat bertanya atau berbicara dengan "
                "petugas kapan saja.",
                buttons=[
                    {"title": "Bicara dengan petugas", "payload": "/request_human"},
                    {"title": "Menu utama", "payload": "/greet"},
                ],
            )
            return {"complaint_consent": False, "complaint_aborted": True}
        if answer in YES_WORDS or intent == "affirm":
            return {"complaint_consent": True}
        return self._failed(
            "complaint_consent", tracker, dispatcher, 'Mohon pilih "Setuju" atau "Tidak setuju".'
        )

    @citizen_answers(is_stored_choice)
    async def validate_complaint_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        answer = normalized_answer(value)
        to_edit = field_to_edit(answer)
        if to_edit:
            dispatcher.utter_message(text="Baik, silakan perbaiki.")
            reset: Dict[str, Any] = {to_edit: None, "complaint_confirmed": None}
            if to_edit == "complaint_location":
                reset.update(complaint_latitude=None, complaint_longitude=None)
            return reset
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if answer in YES_WORDS or intent == "affirm":
            return {"complaint_confirmed": True}
        return self._failed(
            "complaint_confirmed",
            tracker,
            dispatcher,
            'Pilih "Kirim" bila ringkasan sudah benar, atau salah satu tombol "Ubah" untuk memperbaikinya.',
        )


class ActionAskComplaintDate(Action):
    """Asks when it happened; a long-ago date read from the citizen is first read back for confirmation."""

    def name(self) -> str:
        return "action_ask_complaint_date"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        pending = stored_incident_date(tracker.get_slot("complaint_date_pending"))
        if pending is None:
            dispatcher.utter_message(response="utter_ask_complaint_date")
            return []
        dispatcher.utter_message(
            text=f"Tanggal kejadian yang saya baca: *{format_date_id(pending)}*, lebih dari "
            f"{YEARS_BEFORE_CONFIRMATION} tahun yang lalu. Apakah tanggal ini sudah benar?",
            buttons=[
                {"title": "Ya, benar", "payload": "ya, benar"},
                {"title": "Bukan, ubah", "payload": "bukan"},
                {"title": "Tidak ingat", "payload": "tidak ingat"},
            ],
        )
        return []


class ActionAskComplaintCategory(Action):
    """Suggests the category triage found, with the runners-up, as buttons."""

    def name(self) -> str:
        return "action_ask_complaint_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        categories = await fetch_categories()
        suggestions: List[str] = []
        try:
            triage = await request(
                "POST",
                "/api/v1/triage",
                json={"text": tracker.get_slot("complaint_description") or ""},
                retry_delays=(0.5,),
            )
            if triage.status == 200:
                suggestions = [triage.body["category"]] + [
                    alternative["category"] for alternative in triage.body.get("alternatives") or []
                ]
        except ServiceUnavailable:
            pass
        labels = {category["code"]: category["label"] for category in categories}
        suggestions = list(dict.fromkeys(code for code in suggestions if code in labels))
        if suggestions:
            best = suggestions[0]
            buttons = [{"title": f"Ya, {labels[best]}"[:20], "payload": best}]
            buttons += [{"title": labels[code][:20], "payload": code} for code in suggestions[1:3]]
            buttons.append({"title": "Kategori lain", "payload": "kategori lain"})
            dispatcher.utter_message(
                text=f"Menurut kami, pengaduan ini termasuk kategori *{labels[best]}*. Apakah sudah sesuai?",
                buttons=buttons,
            )
        elif categories:
            dispatcher.utter_message(
                text="Termasuk kategori apa pengaduan ini?", buttons=category_buttons(categories)
            )
        else:
            dispatcher.utter_message(
                text="Termasuk kategori apa pengaduan ini? (misalnya infrastruktur, lingkungan, kesehatan)"
            )
        return [SlotSet("complaint_suggestions", suggestions or None)]


class ActionAskComplaintConsent(Action):
    def name(self) -> str:
        return "action_ask_complaint_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        notice = await privacy_notice()
        dispatcher.utter_message(
            text=notice["text"],
            buttons=[
                {"title": "Setuju", "payload": "setuju"},
                {"title": "Tidak setuju", "payload": "tidak setuju"},
            ],
        )
        return [SlotSet("complaint_consent_notice", f"{notice['version']}:{notice['sha256']}")]


class ActionAskComplaintConfirmed(Action):
    def name(self) -> str:
        return "action_ask_complaint_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        categories = {c["code"]: c["label"] for c in await fetch_categories()}
        code = tracker.get_slot("complaint_category") or "lainnya"
        slots = {slot: tracker.get_slot(slot) for slot in COMPLAINT_SLOTS}
        dispatcher.utter_message(
            text=summary_text(slots, categories.get(code, code)), buttons=summary_buttons()
        )
        return []


FALLBACK_NOTICE_TEXT = (
    "Data laporan Anda (isi, lokasi, tanggal, foto, dan kontak bila diisi) hanya dipakai petugas berwenang "
    "untuk menindaklanjuti pengaduan ini, dirahasiakan, dan disimpan sesuai jadwal retensi arsip. Anda "
    "berhak melihat dan meminta penghapusan data pribadi Anda. Apakah Anda setuju?"
)


async def privacy_notice() -> Dict[str, str]:
    """The service's current notice; a local copy when the service is briefly unreachable."""
    try:
        response = await request("GET", "/api/v1/privacy-notice", retry_delays=(0.5,))
        if response.status == 200:
            return {key: str(response.body[key]) for key in ("version", "sha256", "text")}
    except (ServiceUnavailable, KeyError):
        pass
    digest = hashlib.sha256(FALLBACK_NOTICE_TEXT.encode("utf-8")).hexdigest()
    return {"version": "local-1", "sha256": digest, "text": FALLBACK_NOTICE_TEXT}


def idempotency_key(tracker: Tracker) -> str:
    """One key per form run: retries, outbox refiling and duplicate submits all map to one ticket."""
    run = f"{tracker.sender_id}:{tracker.get_slot('complaint_run_id')}"
    return "chat:" + hashlib.sha256(run.encode("utf-8")).hexdigest()[:40]


def ticket_payload(tracker: Tracker) -> Dict[str, Any]:
    channel, sender_id = channel_identity(tracker)
    get = tracker.get_slot
    contact = get("complaint_contact")
    incident = get("complaint_date")
    location = get("complaint_location")
    version, _, digest = str(get("complaint_consent_notice") or "local-1:").partition(":")
    payload: Dict[str, Any] = {
        "idempotency_key": idempotency_key(tracker),
        "channel": channel,
        "sender_id": sender_id,
        "category": get("complaint_category") or "lainnya",
        "description": get("complaint_description"),
        "location_text": None if location in (None, SKIPPED) else location,
        "latitude": get("complaint_latitude"),
        "longitude": get("complaint_longitude"),
        "incident_date": None if incident in (None, UNKNOWN_DATE) else incident,
        "reporter_phone": None if contact in (None, SKIPPED) or get("complaint_anonymous") else contact,
        "is_anonymous": bool(get("complaint_anonymous")),
        "is_confidential": True,
    }
    if digest:
        payload["consent"] = {"text_version": version, "text_sha256": digest}
    photos = get("complaint_photo")
    if photos and photos != SKIPPED:
        payload["attachment_ids"] = [part for part in str(photos).split(",") if part]
    return payload


class ActionSubmitComplaint(Action):
    """Files the ticket (idempotent); when the service is down, keeps it in the outbox."""

    def name(self) -> str:
        return "action_submit_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        reset = [
            SlotSet(slot, None) for slot in COMPLAINT_SLOTS + ["complaint_run_id", "complaint_consent_notice"]
        ]
        if tracker.get_slot("complaint_aborted") or not tracker.get_slot("complaint_confirmed"):
            return reset
        payload = ticket_payload(tracker)
        try:
            response = await request("POST", "/api/v1/tickets", json=payload)
        except ServiceUnavailable:
            outbox.enqueue(payload)
            dispatcher.utter_message(response="utter_complaint_saved_offline")
            return reset
        if response.status in (200, 201):
            dispatcher.utter_message(
                text=filed_confirmation(response.body),
                buttons=[
                    {
                        "title": "Cek status",
                        "payload": f'/check_status{{"ticket_code":"{response.body["code"]}"}}',
                    },
                    {"title": "Menu utama", "payload": "/greet"},
                ],
            )
            return reset + [SlotSet("ticket_code", response.body["code"])]
        logger.error("ticket refused: HTTP %s %s", response.status, json.dumps(response.body)[:500])
        dispatcher.utter_message(response="utter_complaint_refused")
        return reset


class ActionCancelComplaint(Action):
    def name(self) -> str:
        return "action_cancel_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_complaint_cancelled")
        return [SlotSet(slot, None) for slot in COMPLAINT_SLOTS + ["complaint_run_id", "requested_slot"]]


outbox.start_worker()
