"""Intents, topics and states as staff read them: Indonesian names instead of `out_of_scope`."""

from __future__ import annotations

from dataclasses import asdict

from bot.admin.changes import Training, TrainingState
from bot.knowledge.base import KnowledgeBase
from bot.nlu.model import FALLBACK_INTENT

INTENT_NAMES = {
    "sapa": "Salam", "terima_kasih": "Terima kasih", "menu": "Minta menu",
    "minta_petugas": "Minta bicara dengan petugas", "tanya_iuran": "Tanya iuran",
    "tanya_iuran_pu": "Iuran pekerja penerima upah", "tanya_diskon": "Diskon iuran",
    "tanya_manfaat": "Tanya manfaat", "tanya_kepesertaan": "Status kepesertaan",
    "cara_daftar": "Cara daftar", "cara_bayar": "Cara bayar", "telat_bayar": "Telat bayar",
    "cara_klaim": "Cara klaim", "cek_saldo": "Cek saldo", "kantor_cabang": "Kantor cabang",
    "minta_didata": "Minta didata (pendataan)", "hapus_data": "Minta hapus data",
    "setuju": "Menjawab ya", "tidak_setuju": "Menjawab tidak", "tanya_online": "Lewat HP",
    "langganan": "Mau menerima info", "berhenti_langganan": "Berhenti langganan",
    "bpjs_kesehatan": "Soal BPJS Kesehatan", "out_of_scope": "Di luar topik",
    "inform": "Memberi keterangan", FALLBACK_INTENT: "Tidak dipahami",
}


def intent_name(intent: str, kb: KnowledgeBase) -> str:
    """The intent as staff call it: a core intent's name, an answer unit's title, or its words."""
    if intent in INTENT_NAMES:
        return INTENT_NAMES[intent]
    answer = kb.for_intent(intent) if "/" in intent else None
    if answer is not None and answer.title:
        return answer.title
    return intent.rsplit("/", 1)[-1].replace("_", " ").capitalize()


TRAINING_WORDS = {TrainingState.TRAINING: "melatih", TrainingState.READY: "siap",
                  TrainingState.FAILED: "gagal"}


def training_shown(training: Training) -> dict[str, str]:
    """The last retrain for the console: stored values plus `state_text`, its Indonesian word."""
    shown = {k: str(v or "") for k, v in asdict(training).items()}
    shown["state_text"] = TRAINING_WORDS[training.state] if training.state else "-"
    return shown
