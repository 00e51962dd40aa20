"""The names DESIGN.md fixes (checks outside the repo rely on them), shared by the tests."""

CORE_INTENTS = (
    "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "out_of_scope",
    "file_complaint", "check_status", "request_human",
)  # fmt: skip
FAQ_TOPICS = (
    "ktp_el", "kartu_keluarga", "akta_kelahiran", "akta_kematian", "pindah_domisili", "kia", "sim", "skck",
    "paspor", "bpjs_kesehatan", "pajak_kendaraan", "perizinan_usaha", "jam_layanan", "cara_mengadu",
    "waktu_tanggapan", "keamanan_data", "pelayanan_publik", "standar_pelayanan_minimal",
    "partisipasi_masyarakat", "tantangan_pelayanan", "digitalisasi", "survei_kepuasan",
)  # fmt: skip
# Topics this project adds to the contract's list (meta-FAQ of the domain reference).
EXTRA_FAQ_TOPICS = ("jenis_laporan", "tidak_puas", "pungli")
CATEGORIES = (
    "kependudukan", "infrastruktur", "lingkungan", "perhubungan", "ketertiban_umum", "kesehatan",
    "pendidikan", "sosial", "utilitas", "perizinan", "aparatur", "lainnya",
)  # fmt: skip
