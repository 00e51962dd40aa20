"""What a citizen asks about an agency or service: a small, maintained keyword table.

Each aspect lists word patterns (regular expressions on the normalised text, see bot/catalogue/text.py),
written for informal Indonesian ("jam brp", "bs online ga", "brp lama jadinya"). Add a pattern here when the
admin view of unanswered questions shows a missed phrasing.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Aspect(StrEnum):
    HOURS = "jam"  # jam buka
    DAYS = "hari"  # buka hari apa
    CLOSING = "tutup"  # tutup jam berapa
    OPEN_NOW = "sekarang"  # sekarang buka?
    LOCATION = "lokasi"
    CONTACT = "kontak"
    REQUIREMENTS = "syarat"
    FEE = "biaya"
    DURATION = "durasi"  # berapa lama
    PROCEDURE = "prosedur"
    ONLINE = "online"
    QUEUE = "antrean"


TIME_ASPECTS = frozenset({Aspect.HOURS, Aspect.DAYS, Aspect.CLOSING, Aspect.OPEN_NOW})
SERVICE_ASPECTS = frozenset(
    {Aspect.REQUIREMENTS, Aspect.FEE, Aspect.DURATION, Aspect.PROCEDURE, Aspect.ONLINE}
)

LABELS = {
    Aspect.HOURS: "jam layanan",
    Aspect.DAYS: "hari layanan",
    Aspect.CLOSING: "jam tutup",
    Aspect.OPEN_NOW: "jam layanan",
    Aspect.LOCATION: "lokasi",
    Aspect.CONTACT: "kontak",
    Aspect.REQUIREMENTS: "persyaratan",
    Aspect.FEE: "biaya",
    Aspect.DURATION: "lama proses",
    Aspect.PROCEDURE: "prosedur",
    Aspect.ONLINE: "layanan online",
    Aspect.QUEUE: "antrean",
}

_JAM = r"(?:jam|pukul|pkl)"
_BERAPA = r"(?:berapa|brp|brapa|berapah|kapan)"
KEYWORDS: dict[Aspect, tuple[str, ...]] = {
    Aspect.CLOSING: (
        rf"\btutup\b.*\b{_JAM}\b",
        rf"\b{_JAM}\b.*\btutup\b",
        r"\btutup\s+(?:kapan|brp|berapa)\b",
        rf"\b(?:sampai|sampe|smp|sampek|hingga)\s+{_JAM}\b",
        r"\bjam\s+(?:pulang|tutupnya)\b",
        r"\btutupnya\b",
    ),
    Aspect.OPEN_NOW: (
        r"\b(?:sekarang|skrg|skrang|skg|hari ini|hr ini|saat ini|sekarang ini)\b.*\b(?:buka|tutup|libur|melayani|layanan)\b",
        r"\b(?:buka|tutup|libur|melayani)\b.*\b(?:sekarang|skrg|skrang|skg|hari ini|hr ini|saat ini)\b",
        r"\b(?:masih|msh|udah|sudah|udh)\s+(?:buka|tutup)\b",
        r"\blagi\s+(?:buka|tutup)\b",
    ),
    Aspect.DAYS: (
        r"\bhari\s+(?:apa|apa aja|apa saja|apaan|kerja)\b",
        r"\b(?:buka|layanan|melayani|pelayanan)\b.*\bhari\b",
        r"\b(?:sabtu|minggu|ahad|weekend|akhir pekan|tanggal merah|hari libur|libur)\b",
        r"\b(?:senin|selasa|rabu|kamis|jumat)\b.*\b(?:buka|tutup|libur|melayani)\b",
        r"\b(?:buka|tutup|libur|melayani)\b.*\b(?:senin|selasa|rabu|kamis|jumat)\b",
    ),
    Aspect.HOURS: (
        rf"\b{_JAM}\s+(?:buka|berapa|brp|brapa|operasional|layanan|pelayanan|kerja|kantor|praktek|praktik)\b",
        rf"\bbuka\s+(?:{_JAM}|kapan|brp|berapa|jam brp)\b",
        rf"\b{_BERAPA}\s+(?:buka|bukanya)\b",
        r"\bbukanya\b",
        r"\bjam\b",
        r"\bbuka\b",
    ),
    Aspect.LOCATION: (
        r"\b(?:lokasi|lokasinya|alamat|alamatnya|dimana|di mana|dmn|letak|letaknya|lantai|loket|gedung|maps?|peta|rute|arah)\b",
        r"\bkantor(?:nya)?\s+(?:di|dimana|dmn)\b",
    ),
    Aspect.CONTACT: (
        r"\b(?:kontak|kontaknya|telepon|telpon|telp|tlp|nomor|nomer|no hp|no wa|hp|wa|whatsapp|hubungi|call center|email|website|web|situs|instagram|ig)\b",
    ),
    Aspect.REQUIREMENTS: (
        r"\b(?:syarat|syaratnya|persyaratan|sarat|syrt|srat|berkas|dokumen|bawa apa|perlu bawa|yg dibawa|yang dibawa|kelengkapan|butuh apa)\b",
        r"\bapa\s+(?:aja|saja)\s+yang?\s+(?:perlu|harus|dibawa|disiapkan)\b",
    ),
    Aspect.FEE: (
        r"\b(?:biaya|biayanya|tarif|tarifnya|harga|harganya|ongkos|gratis|pungutan|retribusi|pnbp|bayarnya|iuran|iurannya)\b",
        r"\b(?:bayar|byr)\s+(?:berapa|brp|brapa)\b",
        r"\b(?:berapa|brp|brapa)\s+(?:bayar|byr)\b",
        r"\b(?:bayar|berbayar|dipungut)\s+(?:ga|gak|nggak|tidak|engga|enggak)\b",
        r"\b(?:berapa|brp)\s+(?:duit|uang|rupiah|rp)\b",
    ),
    Aspect.DURATION: (
        r"\b(?:berapa|brp|brapa)\s+(?:lama|hari(?!\s+(?:senin|selasa|rabu|kamis|jumat|sabtu|minggu|libur))|menit|minggu)\b",
        r"\b(?:berapa|brp|brapa)\s+jam\s+(?:jadi|selesai|proses|prosesnya|kelar)\b",
        r"\b(?:lama|lamanya)\s+(?:proses|prosesnya|jadi|jadinya|pembuatan|pengurusan|bikin)\b",
        r"\b(?:kapan|kpn)\s+(?:jadi|jadinya|selesai|kelar|keluar)\b",
        r"\b(?:jadi|selesai|kelar)\s+(?:berapa|brp)\b",
        r"\b(?:waktu|jangka waktu)\s+(?:proses|penyelesaian|pelayanan)\b",
        r"\bbisa\s+(?:langsung\s+)?jadi\b",
        r"\b(?:hari itu juga|langsung jadi|sehari jadi)\b",
    ),
    Aspect.PROCEDURE: (
        r"\b(?:prosedur|prosedurnya|alur|alurnya|tahapan|langkah|langkahnya|mekanisme)\b",
        r"\b(?:cara|caranya|gimana|gmn|bagaimana|gmana|gimn)\b",
    ),
    Aspect.ONLINE: (
        r"\b(?:online|onlen|onlin|daring|aplikasi|aplikasinya|link|tautan|lewat hp|dari rumah|website)\b",
    ),
    Aspect.QUEUE: (
        r"\b(?:antre|antri|antrean|antrian|antrinya|antriannya|nomor antrian|nomor antrean|kuota|ngantri|ngantre)\b",
    ),
}
_COMPILED = {aspect: tuple(re.compile(p) for p in patterns) for aspect, patterns in KEYWORDS.items()}
# When several aspects fire, the more specific one wins over the generic "jam"/"buka" and "cara".
_SUPERSEDES: dict[Aspect, frozenset[Aspect]] = {
    Aspect.CLOSING: frozenset({Aspect.HOURS}),
    Aspect.OPEN_NOW: frozenset({Aspect.HOURS, Aspect.DAYS}),
    Aspect.DAYS: frozenset({Aspect.HOURS}),
    Aspect.DURATION: frozenset({Aspect.HOURS, Aspect.DAYS}),
    Aspect.ONLINE: frozenset({Aspect.PROCEDURE, Aspect.CONTACT, Aspect.LOCATION}),
    Aspect.REQUIREMENTS: frozenset({Aspect.PROCEDURE}),
    Aspect.FEE: frozenset({Aspect.PROCEDURE}),
    Aspect.QUEUE: frozenset({Aspect.PROCEDURE, Aspect.CONTACT}),
}


def detect_aspects(normalized_text: str) -> list[Aspect]:
    """The aspects asked about, in the table's order, generic ones dropped when a specific one is present."""
    found = [
        aspect for aspect, patterns in _COMPILED.items() if any(p.search(normalized_text) for p in patterns)
    ]
    dropped: set[Aspect] = set()
    for aspect in found:
        dropped |= _SUPERSEDES.get(aspect, frozenset())
    return [aspect for aspect in found if aspect not in dropped]


def parse_aspect(value: str) -> Aspect | None:
    try:
        return Aspect(value)
    except ValueError:
        return None
