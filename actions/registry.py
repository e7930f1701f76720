"""The explicit list of actions the policy may name. No auto-discovery: what runs is listed here."""

from __future__ import annotations

from actions.answers import (
    AnswerAction,
    DaftarAction,
    DetailAction,
    FallbackAction,
    LangkahAction,
    MenuAction,
    OnlineAction,
    ProgramAnswerAction,
    SetujuAction,
    TopicAction,
    UnitAction,
)
from actions.iuran import DiskonAction, IuranAction
from actions.kantor import KantorAction
from actions.langganan import BerhentiAction, LanggananAction, TolakAction
from actions.pendataan import BatalAction, HapusDataAction, PendataanAction, TinggalkanAction
from actions.petugas import MintaPetugasAction, SambungPetugasAction
from actions.santunan import JkkDeathAction
from actions.situasi import PenghasilanAction
from bot.dialogue.action import Action


def registry() -> dict[str, Action]:
    """Every action by name."""
    actions: list[Action] = [
        AnswerAction("utter_sapa", "sapa"),
        AnswerAction("utter_terima_kasih", "terima_kasih"),
        AnswerAction("utter_bpjs_kesehatan", "bpjs_kesehatan"),
        AnswerAction("utter_out_of_scope", "out_of_scope"),
        AnswerAction("utter_iuran_pu", "iuran_pu", topic="iuran_pu"),
        AnswerAction("utter_kepesertaan", "kepesertaan", topic="kepesertaan"),
        AnswerAction("utter_bayar", "bayar", topic="bayar"),
        AnswerAction("utter_telat_bayar", "telat_bayar", topic="bayar"),
        AnswerAction("utter_cek_saldo", "cek_saldo", topic="saldo"),
        AnswerAction("action_tanya_maksud", "tanya_maksud"),
        AnswerAction("action_anggota", "anggota_dicatat"),
        ProgramAnswerAction("action_manfaat", "manfaat", topic="manfaat"),
        ProgramAnswerAction("action_klaim", "klaim", topic="klaim"),
        ProgramAnswerAction("action_klaim_syarat", "klaim", topic="klaim", follows=True),
        MenuAction(),
        FallbackAction(),
        UnitAction(),
        LangkahAction(),
        JkkDeathAction(),
        TopicAction(),
        DetailAction(),
        IuranAction(),
        DiskonAction(),
        OnlineAction(),
        DaftarAction(),
        SetujuAction(),
        TolakAction(),
        KantorAction(),
        PendataanAction(),
        HapusDataAction(),
        BatalAction(),
        TinggalkanAction(),
        PenghasilanAction(),
        LanggananAction(),
        BerhentiAction(),
        MintaPetugasAction(),
        SambungPetugasAction(),
    ]
    return {action.name: action for action in actions}
