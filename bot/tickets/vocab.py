"""Fixed vocabularies of the ticket domain (codes from DESIGN.md) with their Indonesian labels."""

from __future__ import annotations

from enum import StrEnum


class TicketType(StrEnum):
    PENGADUAN = "pengaduan"
    ASPIRASI = "aspirasi"
    PERMINTAAN_INFORMASI = "permintaan_informasi"


class Category(StrEnum):
    KEPENDUDUKAN = "kependudukan"
    INFRASTRUKTUR = "infrastruktur"
    LINGKUNGAN = "lingkungan"
    PERHUBUNGAN = "perhubungan"
    KETERTIBAN_UMUM = "ketertiban_umum"
    KESEHATAN = "kesehatan"
    PENDIDIKAN = "pendidikan"
    SOSIAL = "sosial"
    UTILITAS = "utilitas"
    PERIZINAN = "perizinan"
    APARATUR = "aparatur"
    LAINNYA = "lainnya"


class Priority(StrEnum):
    RENDAH = "rendah"
    SEDANG = "sedang"
    TINGGI = "tinggi"
    DARURAT = "darurat"


class AuthorKind(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"
    SYSTEM = "system"


TYPE_LABELS: dict[TicketType, str] = {
    TicketType.PENGADUAN: "Pengaduan",
    TicketType.ASPIRASI: "Aspirasi",
    TicketType.PERMINTAAN_INFORMASI: "Permintaan informasi",
}

CATEGORY_LABELS: dict[Category, str] = {
    Category.KEPENDUDUKAN: "Kependudukan",
    Category.INFRASTRUKTUR: "Infrastruktur",
    Category.LINGKUNGAN: "Lingkungan hidup",
    Category.PERHUBUNGAN: "Perhubungan",
    Category.KETERTIBAN_UMUM: "Ketertiban umum",
    Category.KESEHATAN: "Kesehatan",
    Category.PENDIDIKAN: "Pendidikan",
    Category.SOSIAL: "Sosial",
    Category.UTILITAS: "Air dan listrik",
    Category.PERIZINAN: "Perizinan",
    Category.APARATUR: "Aparatur dan pungutan liar",
    Category.LAINNYA: "Lainnya",
}

PRIORITY_LABELS: dict[Priority, str] = {
    Priority.RENDAH: "Rendah",
    Priority.SEDANG: "Sedang",
    Priority.TINGGI: "Tinggi",
    Priority.DARURAT: "Darurat",
}
