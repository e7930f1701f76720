"""Which action answers a message: a table you can read, plus a few rules for context.

Order of precedence:
1. words that must always work (stop, menu, hapus data saya), whatever the classifier says, and
   "batal" / "gak jadi" / "ojo wes" inside a form; "menu" inside the pendataan first asks
   whether to leave it ("Pendataan belum selesai. Tinggalkan?"): "ya" leaves, "lanjut"
   resumes (an opt-out and "hapus data saya" never wait for a confirmation);
2. an open form (pendataan) keeps the floor unless the worker clearly asks something else (then
   the engine answers the question and resumes the form, see `interrupts`);
3. a "yes" answers the bot's own question (offer); "trus aku kudu piye" right after an answer
   with a next step gets that step, and without one a question back (never a guessed unit);
4. an income given per day or per week is turned into a monthly figure to confirm;
5. a value the bot asked for, or a short follow-up ("kalau JHT-nya?", "eh 3 juta maksudnya"),
   continues the last topic;
6. "minta dihubungi (petugas)" offers the pendataan;
7. a question about a topic that fits several of its answer units gets the topic's overview
   with those units as buttons; a clear one gets its unit (retrieval intents `topic/unit`);
8. otherwise the intent's action from INTENT_ACTIONS.
"""

from __future__ import annotations

import re

from bot.dialogue.situation import membership
from bot.dialogue.state import ConversationState, Form, Offer
from bot.messages import ParseResult
from bot.nlu.entities import visible
from bot.nlu.model import FALLBACK_INTENT
from bot.nlu.numbers import earning_period

FALLBACK_ACTION = "action_fallback"

INTENT_ACTIONS: dict[str, str] = {
    "sapa": "utter_sapa",
    "terima_kasih": "utter_terima_kasih",
    "menu": "action_menu",
    "minta_petugas": "action_minta_petugas",
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
    "selengkapnya": "action_selengkapnya",
    "inform": FALLBACK_ACTION,
    FALLBACK_INTENT: FALLBACK_ACTION,
}

# Exact messages (lowercased, trimmed) that mean one intent: opting out must never depend on a
# classifier's mood, and "menu" must always get the worker unstuck.
KEYWORDS: dict[str, str] = {
    "stop": "berhenti_langganan", "berhenti": "berhenti_langganan",
    "unsubscribe": "berhenti_langganan", "unsub": "berhenti_langganan",
    "/berhenti": "berhenti_langganan",
    "/stop": "berhenti_langganan", "menu": "menu", "/menu": "menu", "/start": "sapa",
    "mulai lagi": "menu", "ulang": "menu", "hapus data saya": "hapus_data",
    "/langganan": "langganan", "petugas": "minta_petugas", "/petugas": "minta_petugas",
}

# Intents the bot still answers while a person holds the conversation (bot/handoffs.py).
WHILE_HELD = {"hapus_data", "berhenti_langganan"}
# Intents that leave any form at once.
ESCAPES = {"menu", "hapus_data", "berhenti_langganan"}
# Inside the pendataan form, a message classified at least this confidently is a question that
# interrupts the form; one that reads as a question ("...piro?") needs less.
FORM_EXIT_CONFIDENCE = 0.85
QUESTION_EXIT_CONFIDENCE = 0.5
FORM_INTENTS = {"inform", "setuju", "tidak_setuju", FALLBACK_INTENT, "minta_didata", "sapa",
                "minta_petugas"}
CANCEL_ACTION = "action_batal"
INCOME_ACTION = "action_penghasilan"
# Forms that resume after a question asked in between, by the action that fills them; actions
# that leave a form on purpose (and say so themselves).
FORM_ACTIONS: dict[Form, str] = {Form.PENDATAAN: "action_pendataan"}
# Asks whether to leave the pendataan; "Lanjutkan" resumes it (actions/pendataan.py).
LEAVE_ASK_ACTION = "action_tinggalkan"
LEAVES_FORM = {"action_menu", "action_hapus_data", "action_berhenti", CANCEL_ACTION,
               LEAVE_ASK_ACTION}

# A unit is answered when the classifier gives it at least UNIT_SURE; below that, when the units
# of its topic together hold TOPIC_SURE of the probability, the worker picks from the overview.
UNIT_SURE = 0.5
TOPIC_SURE = 0.6

# Units whose answer is computed for the worker (their own bracket), not only read.
UNIT_ACTIONS = {"jkk/meninggal": "action_jkk_meninggal"}

# What a "yes" to the bot's own question starts.
OFFER_YES = {Offer.PENDATAAN: "action_pendataan", Offer.LANGGANAN: "action_langganan",
             Offer.PENGHASILAN: "action_iuran", Offer.PETUGAS: "action_sambung_petugas",
             Offer.TINGGALKAN: "action_menu"}
# After "Tinggalkan?": the whole message says carry on ("lanjut", "terus", "gak").
_CARRY_ON = re.compile(
    r"^(?:lanjut(?:kan|in)?|terus(?:kan)?|trus|teruskan|nggak|gak|ga|tidak|tdk|jangan|ora|ndak|"
    r"belum)(?:\s+(?:aja|saja|ae|wae|dulu|disik|pendataan(?:nya)?|ya|yo|deh|mas|mbak|min|"
    r"kak|lanjut(?:kan|in)?|terus(?:kan)?))*$")

# The whole message cancels the form: "batal", "gak jadi deh", "ojo wes", "ora sido".
_CANCEL = re.compile(
    r"^(?:(?:ya|yo|wes|wis|udah|sudah|eh|ah|oh)\s+)?(?:batal(?:kan|in)?|cancel|"
    r"(?:gak|ga|gk|nggak|ngga|enggak|ndak|tidak|tdk|gak)\s+(?:jadi|jd|sido|usah)|"
    r"(?:ora|ra|gak|ga)\s+sido|ojo\s+(?:wes|wis|sido)|wes\s+ojo|gausah|gak usah|ojo)"
    r"(?:\s+(?:aja|saja|ae|wae|deh|dulu|mas|mbak|min|kak|ya|yo|lah|wes|wis|kok))*$")
# "minta dihubungi petugas", "tolong telpon saya", "bisa ditelpon?": the pendataan does that.
_CONTACT_ME = re.compile(
    r"\b(?:di\s?hubungi|dihubungin|hubungi\s+(?:saya|aku|sy|kula)|(?:telp|telpon|telepon|"
    r"tlp|telfon)\s+(?:saya|aku|sy)|di\s?(?:telp|telpon|telepon|tlp|telfon)|dikontak|"
    r"(?:kontak|kabari|hubungi)\s+(?:aku|saya))\b")
# ("kok" asks "why" before something, "kok belum cair?"; at the end it insists: "udah kok")
_QUESTION = re.compile(
    r"\?|\b(?:berapa|brp|piro|pira|gimana|gmn|bagaimana|piye|kapan|apa|apakah|opo|dimana|"
    r"endi|bisa\s+gak|iso\s+ta|kok\b(?!\W*$))\b")
# "trus aku kudu piye", "terus harus gimana", "lha sy hrs ngapain": what to do after that answer.
_WHAT_NOW = re.compile(
    r"^(?:(?:trus|terus|trs|lalu|njuk|lha|lah|terus|truz|trz|lha\s+terus)\s+)?"
    r"(?:(?:aku|saya|sy|aq|kula|kita)\s+)?(?:(?:kudu|harus|hrs|mesti|musti|sebaiknya|kudune)\s+)?"
    r"(?:piye|gimana|gmn|gmna|bagaimana|ngapain|yopo|apa|opo)(?:\s+(?:ya|yo|min|kak|dong|iki|"
    r"ini|sekarang|skrg|saiki|carane|caranya))*$")
STEP_ACTION = "action_langkah"
ASK_BACK_ACTION = "action_tanya_maksud"  # "trus aku kudu piye" with no step to give
TOPIC_ACTION = "action_topic"  # the worker picks a unit from its topic's overview
UNIT_ACTION = "action_unit"  # a unit's answer, read from the knowledge base
# "syarate opo" right after a program's benefit or claim asks for that claim's documents.
CLAIM_DOCUMENTS_ACTION = "action_klaim_syarat"
CLAIM_TOPICS = {"manfaat", "klaim"}
_REGISTERING = re.compile(r"\b(?:n?daftar|mendaftar|gabung|ikut|melu|jadi|dadi|jd)\b")
MEMBER_ACTION = "action_anggota"  # "aku wis dadi peserta" said, nothing asked
# What "aku wis dadi peserta" alone is read as: a statement, or a question about joining.
MEMBER_TOLD_INTENTS = {"inform", "kepesertaan/bisa_ikut", "tanya_kepesertaan", FALLBACK_INTENT}
CONTACT_INTENTS = {"minta_petugas", "minta_didata", "inform", FALLBACK_INTENT}

# Follow-ups: the last topic, the entity that continues it, and the action.
FOLLOW_UPS: dict[str, tuple[tuple[str, ...], str]] = {
    "iuran": (("uang", "nominal", "bulan", "periode", "program", "pekerjaan"), "action_iuran"),
    "manfaat": (("program",), "action_manfaat"),
    "klaim": (("program",), "action_klaim"),
    "kantor": (("wilayah",), "action_kantor"),
}
# A value given with no topic at all.
VALUE_ACTIONS = (("uang", "action_iuran"), ("nominal", "action_iuran"),
                 ("pekerjaan", "action_iuran"),
                 ("wilayah", "action_kantor"), ("program", "action_manfaat"))


def action_names() -> set[str]:
    """Every action name this table can pick: the engine checks them against its registry."""
    return {FALLBACK_ACTION, CANCEL_ACTION, INCOME_ACTION, STEP_ACTION, TOPIC_ACTION,
            UNIT_ACTION, ASK_BACK_ACTION, MEMBER_ACTION, CLAIM_DOCUMENTS_ACTION,
            *INTENT_ACTIONS.values(), *FORM_ACTIONS.values(),
            *LEAVES_FORM,
            *UNIT_ACTIONS.values(), *OFFER_YES.values(),
            *(action for _, action in FOLLOW_UPS.values()),
            *(action for _, action in VALUE_ACTIONS)}


def _plain(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .!")


# Opt-out words also count spelled out ("s t o p") or disguised (full-width, zero-width spaces).
OPT_OUT_WORDS = {word for word, intent in KEYWORDS.items() if intent == "berhenti_langganan"}


def keyword_intent(text: str) -> str | None:
    """The intent a fixed keyword stands for, if the whole message is one."""
    if len(text) > 64:  # no keyword is that long
        return None
    shown = visible(text)
    found = KEYWORDS.get(_plain(shown))
    if found is None and "".join(shown.lower().split()).strip(".!") in OPT_OUT_WORDS:
        return "berhenti_langganan"
    return found


def is_cancel(text: str) -> bool:
    """Whether the whole message says "stop this form" ("batal", "gak jadi", "ojo wes")."""
    return _CANCEL.match(_plain(text)) is not None


def is_what_now(text: str) -> bool:
    """Whether the message asks what to do after the last answer ("trus aku kudu piye")."""
    plain = _plain(text).rstrip(" ?")
    return _WHAT_NOW.match(plain) is not None and plain.split()[0] not in ("apa", "opo")


def carries_on(text: str) -> bool:
    """Whether the whole message says "carry on with the form" ("lanjut", "gak", "terus aja")."""
    return _CARRY_ON.match(_plain(text.replace(",", " ")).rstrip(" ?")) is not None


def interrupts(state: ConversationState, action: str) -> bool:
    """Whether `action` answers a question asked inside a form that then resumes."""
    form = FORM_ACTIONS.get(state.form) if state.form else None
    return form is not None and action != form and action not in LEAVES_FORM


def _stays_in_form(parse: ParseResult) -> bool:
    """Inside a form, whether the message answers the form rather than asking something."""
    intent, confidence = parse.intent.name, parse.intent.confidence
    if intent in FORM_INTENTS:
        return True
    if _QUESTION.search(parse.text.lower()):
        return confidence < QUESTION_EXIT_CONFIDENCE
    return confidence < FORM_EXIT_CONFIDENCE


def unclear_topic(parse: ParseResult) -> str | None:
    """The topic of a question that fits several of its units, none of them clearly."""
    if not parse.ranking or "/" not in parse.ranking[0].name:
        return None
    top = parse.ranking[0]
    topic = top.name.split("/")[0]
    if top.confidence >= UNIT_SURE or topic == "faq":
        return None
    share = sum(s.confidence for s in parse.ranking if s.name.startswith(f"{topic}/"))
    return topic if share >= TOPIC_SURE else None


def next_action(state: ConversationState, parse: ParseResult) -> str:
    """The name of the action that answers `parse` in `state`."""
    intent = parse.intent.name
    leaving = state.form == Form.PENDATAAN and state.offer == Offer.TINGGALKAN
    if intent == "menu" and state.form == Form.PENDATAAN and not leaving:
        return LEAVE_ASK_ACTION
    if intent in ESCAPES:
        return INTENT_ACTIONS[intent]
    if state.form and is_cancel(parse.text):
        return CANCEL_ACTION
    if leaving and (intent == "tidak_setuju" or carries_on(parse.text)):
        return LEAVE_ASK_ACTION
    if leaving and intent == "setuju":
        return OFFER_YES[Offer.TINGGALKAN]
    if state.form == Form.PENDATAAN and _stays_in_form(parse):
        return "action_pendataan"
    if state.offer and intent == "setuju":
        return OFFER_YES[state.offer]
    if state.offer == Offer.PENGHASILAN and intent == "tidak_setuju":
        return INCOME_ACTION
    if is_what_now(parse.text):
        return STEP_ACTION if state.next_step else ASK_BACK_ACTION
    money = parse.first("uang")
    if money and earning_period(parse.text, money.start, money.end) and (
            intent in ("tanya_iuran", "inform", FALLBACK_INTENT) or state.topic == "iuran"):
        return INCOME_ACTION
    if not state.form and intent in CONTACT_INTENTS and _CONTACT_ME.search(parse.text.lower()):
        return "action_pendataan"
    follow_up = FOLLOW_UPS.get(state.topic or "")
    if follow_up and intent in ("inform", FALLBACK_INTENT):
        entities, action = follow_up
        if any(parse.first(e) for e in entities):
            return action
    if state.form == Form.IURAN and parse.first("uang"):
        return "action_iuran"
    if intent in MEMBER_TOLD_INTENTS and membership(parse.text) and \
            not _QUESTION.search(parse.text.lower()):
        return MEMBER_ACTION
    if intent == "inform":
        for entity, action in VALUE_ACTIONS:
            if parse.first(entity):
                return action
    if intent == "daftar/syarat" and state.topic in CLAIM_TOPICS and \
            state.slots.get("program") and not _REGISTERING.search(parse.text.lower()):
        return CLAIM_DOCUMENTS_ACTION
    if unclear_topic(parse):
        return TOPIC_ACTION
    if "/" in intent:
        return UNIT_ACTIONS.get(intent, UNIT_ACTION)
    return INTENT_ACTIONS.get(intent, FALLBACK_ACTION)
