"""Which action answers a message: a table you can read, plus a few rules for context.

Order of precedence:
1. words that must always work (stop, menu, hapus data saya), whatever the classifier says;
2. an open form (pendataan) keeps the floor unless the worker clearly asks something else;
3. a "yes" answers the bot's own question (offer);
4. a value the bot asked for, or a short follow-up ("kalau JHT-nya?", "eh 3 juta maksudnya"),
   continues the last topic;
5. otherwise the intent's action from INTENT_ACTIONS.
"""

from __future__ import annotations

from bot.dialogue.state import ConversationState
from bot.messages import ParseResult
from bot.nlu.model import FALLBACK_INTENT

FALLBACK_ACTION = "action_fallback"

INTENT_ACTIONS: dict[str, str] = {
    "sapa": "utter_sapa",
    "terima_kasih": "utter_terima_kasih",
    "menu": "action_menu",
    "minta_petugas": "utter_minta_petugas",
    "tanya_iuran": "action_iuran",
    "tanya_iuran_pu": "utter_iuran_pu",
    "tanya_diskon": "action_diskon",
    "tanya_manfaat": "action_manfaat",
    "tanya_kepesertaan": "utter_kepesertaan",
    "cara_daftar": "action_daftar",
    "cara_bayar": "utter_bayar",
    "telat_bayar": "utter_telat_bayar",
    "cara_klaim": "action_klaim",
    "cek_saldo": "utter_cek_saldo",
    "kantor_cabang": "action_kantor",
    "minta_didata": "action_pendataan",
    "hapus_data": "action_hapus_data",
    "setuju": "action_ack",
    "tidak_setuju": "action_tolak",
    "tanya_online": "action_online",
    "langganan": "action_langganan",
    "berhenti_langganan": "action_berhenti",
    "bpjs_kesehatan": "utter_bpjs_kesehatan",
    "out_of_scope": "utter_out_of_scope",
    "inform": FALLBACK_ACTION,
    FALLBACK_INTENT: FALLBACK_ACTION,
}

# Exact messages (lowercased, trimmed) that mean one intent: opting out must never depend on a
# classifier's mood, and "menu" must always get the worker unstuck.
KEYWORDS: dict[str, str] = {
    "stop": "berhenti_langganan", "berhenti": "berhenti_langganan",
    "unsubscribe": "berhenti_langganan", "/berhenti": "berhenti_langganan",
    "/stop": "berhenti_langganan", "menu": "menu", "/menu": "menu", "/start": "sapa",
    "mulai lagi": "menu", "ulang": "menu", "hapus data saya": "hapus_data",
    "/langganan": "langganan",
}

# Intents that leave any form at once.
ESCAPES = {"menu", "hapus_data", "berhenti_langganan"}
# Inside the pendataan form, a question classified at least this confidently leaves the form.
FORM_EXIT_CONFIDENCE = 0.85
FORM_INTENTS = {"inform", "setuju", "tidak_setuju", FALLBACK_INTENT, "minta_didata", "sapa"}

# What a "yes" to the bot's own question starts.
OFFER_YES = {"pendataan": "action_pendataan", "langganan": "action_langganan"}

# Follow-ups: the last topic, the entity that continues it, and the action.
FOLLOW_UPS: dict[str, tuple[tuple[str, ...], str]] = {
    "iuran": (("uang", "bulan", "program", "pekerjaan"), "action_iuran"),
    "manfaat": (("program",), "action_manfaat"),
    "klaim": (("program",), "action_klaim"),
    "kantor": (("wilayah",), "action_kantor"),
}
# A value given with no topic at all.
VALUE_ACTIONS = (("uang", "action_iuran"), ("pekerjaan", "action_iuran"),
                 ("wilayah", "action_kantor"), ("program", "action_manfaat"))


def keyword_intent(text: str) -> str | None:
    """The intent a fixed keyword stands for, if the whole message is one."""
    return KEYWORDS.get(" ".join(text.lower().split()).strip(" .!"))


def next_action(state: ConversationState, parse: ParseResult) -> str:
    """The name of the action that answers `parse` in `state`."""
    intent = parse.intent.name
    if intent in ESCAPES:
        return INTENT_ACTIONS[intent]
    if state.form == "pendataan" and (
        intent in FORM_INTENTS or parse.intent.confidence < FORM_EXIT_CONFIDENCE
    ):
        return "action_pendataan"
    if state.offer and intent == "setuju":
        return OFFER_YES[state.offer]
    follow_up = FOLLOW_UPS.get(state.topic or "")
    if follow_up and intent in ("inform", FALLBACK_INTENT):
        entities, action = follow_up
        if any(parse.first(e) for e in entities):
            return action
    if state.form == "iuran" and parse.first("uang"):
        return "action_iuran"
    if intent == "inform":
        for entity, action in VALUE_ACTIONS:
            if parse.first(entity):
                return action
    if intent.startswith("faq/"):
        return "action_faq"
    return INTENT_ACTIONS.get(intent, FALLBACK_ACTION)
