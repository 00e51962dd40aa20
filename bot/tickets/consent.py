"""The privacy notice a reporter agrees to before filing (UU 27/2022 Pasal 21-22: plain, recorded)."""

from __future__ import annotations

import hashlib

NOTICE_VERSION = "2026-01"
NOTICE_TEXT = (
    "Sebelum laporan Anda kami catat, mohon baca keterangan berikut.\n"
    "1. Data yang kami simpan: isi laporan, lokasi, tanggal kejadian, lampiran, serta nama dan nomor telepon "
    "bila Anda memberikannya. Kami juga menyimpan identitas akun chat Anda agar status laporan hanya dikirim "
    "kepada Anda.\n"
    "2. Tujuannya: menindaklanjuti laporan Anda sebagai bagian dari pelayanan publik, dan menghubungi Anda "
    "bila diperlukan keterangan tambahan.\n"
    "3. Laporan Anda bersifat rahasia: tidak ditampilkan kepada publik. Anda juga boleh melapor tanpa nama.\n"
    "4. Data disimpan selama laporan ditangani dan sesuai jadwal retensi arsip, lalu dimusnahkan.\n"
    "5. Anda berhak melihat, memperbaiki, dan meminta penghapusan data pribadi Anda. Laporannya "
    "sendiri tetap disimpan tanpa identitas Anda.\n"
    "Dengan melanjutkan, Anda menyetujui pencatatan data tersebut."
)
NOTICE_SHA256 = hashlib.sha256(NOTICE_TEXT.encode("utf-8")).hexdigest()
