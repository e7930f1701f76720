"""Typed settings: secrets and addresses from the environment, behaviour from config.yml.

Parsed once, in the composition root or the CLI, and passed down; nothing reads the environment
anywhere else.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.keys import LEAD_RETENTION_DAYS, OUTCOME_DAYS
from bot.yaml_files import parse_yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# The NLU pipeline's components, each with every key it takes and that key's default: a step of
# config.yml that names another component, or a key not listed here, stops start-up. Every
# component is required (the model is built from all of them), except the stemmer.
COMPONENTS: dict[str, dict[str, Any]] = {
    "IndonesianNormalizer": {},
    "IndonesianStemmer": {},
    "WordTfidfFeaturizer": {"ngram_range": [1, 2], "sublinear_tf": True},
    "CharTfidfFeaturizer": {"ngram_range": [2, 5], "sublinear_tf": True},
    "LogisticRegressionClassifier": {"C": 50.0, "tol": 0.001, "max_iter": 2000,
                                     "class_weight": "balanced"},
    "RuleEntityExtractor": {},
    "FallbackClassifier": {"threshold": 0.3, "ambiguity_threshold": 0.0},
}
OPTIONAL_COMPONENTS = {"IndonesianStemmer"}


class PipelineStep(BaseModel):
    """One step of the NLU pipeline with its parameters (Rasa's `- name: X` plus keys)."""

    model_config = {"extra": "allow"}
    name: str

    @model_validator(mode="after")
    def _known(self) -> PipelineStep:
        if self.name not in COMPONENTS:
            raise ValueError(f"unknown pipeline component {self.name!r}; known: "
                             f"{', '.join(COMPONENTS)}")
        unknown = sorted(set(self.model_extra or {}) - COMPONENTS[self.name].keys())
        if unknown:
            takes = ", ".join(COMPONENTS[self.name]) or "no keys"
            raise ValueError(f"{self.name} has no key {', '.join(unknown)} (it takes {takes})")
        return self

    def params(self) -> dict[str, Any]:
        """The step's parameters without its name, defaults filled in."""
        return {**COMPONENTS[self.name], **(self.model_extra or {})}


class DialogueConfig(BaseModel):
    """How long conversations and profiles live."""

    session_ttl_minutes: int = Field(60, ge=1)
    profile_ttl_days: int = Field(365, ge=1)
    lead_retention_days: int = Field(LEAD_RETENTION_DAYS, ge=1)  # after the lead's last change
    # A sender who never gave any data (consent, name, occupation, area) is forgotten this soon.
    anonymous_profile_ttl_minutes: int = Field(60, ge=1)


class InboxConfig(BaseModel):
    """The admin inbox of messages the bot did not understand."""

    max_entries: int = Field(50_000, ge=100)
    max_age_days: int = Field(90, ge=1)
    page_size: int = Field(300, ge=10, le=2000)  # messages grouped per console page


class LimitsConfig(BaseModel):
    """Input limits at the edge."""

    max_message_chars: int = Field(2000, ge=1)
    max_sender_chars: int = Field(128, ge=1)
    # The engine understands this much of a message (any channel): parsing costs ~0.1 ms per
    # character, and no message may hold the event loop much longer than 50 ms.
    max_parse_chars: int = Field(500, ge=50)


class KnowledgeConfig(BaseModel):
    """How processes follow knowledge-base and model changes."""

    reload_interval_seconds: float = Field(2.0, gt=0)


class BroadcastConfig(BaseModel):
    """How broadcast workers pace and share the work (see bot/broadcast/worker.py)."""

    # Messages per second per channel, all workers together (the platforms' default limits).
    rates: dict[str, float] = Field(default_factory=lambda: {"telegram": 30.0, "whatsapp": 80.0})
    # Default quiet hours (WIB) of a new campaign, "HH:MM-HH:MM", or "off".
    quiet_hours: str = Field("21:00-07:00", pattern=r"^(off|\d{2}:\d{2}-\d{2}:\d{2})$")
    concurrency: int = Field(32, ge=1)  # sends in flight per worker process
    claim_idle_seconds: float = Field(15.0, gt=0)  # a silent (dead) worker's recipients move on
    refresh_seconds: float = Field(1.0, gt=0)  # how often workers re-read campaign states
    max_attempts: int = Field(5, ge=1)  # rounds of transient failures before "failed"
    # On a Redis Cluster, how long a claim waits for a replica to hold it before the send, so a
    # failover cannot forget it and send twice (see bot/broadcast/ledger.py).
    replica_wait_ms: int = Field(250, ge=0)
    outcome_days: int = Field(OUTCOME_DAYS, ge=1)  # a campaign's report is kept after it ends


class OfficeHours(BaseModel):
    """When staff answer handed-off conversations (WIB): weekdays 1 (Monday) to 7, and hours."""

    days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    open: str = Field("08:00", pattern=r"^\d{2}:\d{2}$")
    close: str = Field("16:00", pattern=r"^\d{2}:\d{2}$")


class HandoffConfig(BaseModel):
    """Conversations handed to staff (see bot/handoffs.py)."""

    office_hours: OfficeHours = OfficeHours()  # type: ignore[call-arg]
    # A handoff nobody writes in for this long returns to the bot, and the worker is told.
    idle_minutes: int = Field(120, ge=1)
    # The branch queue for workers whose area names no known branch.
    default_branch: str = "Kantor Wilayah Jawa Timur"
    # An approved WhatsApp template with one body parameter ({{1}}: the staff's text), for
    # replies to a worker who last wrote more than 24 hours ago. Empty: such replies are refused.
    whatsapp_template: str = ""
    whatsapp_template_language: str = "id"


class BotConfig(BaseModel):
    """The contents of config.yml."""

    recipe: str = "default.v1"
    language: str = "id"
    pipeline: list[PipelineStep]
    dialogue: DialogueConfig = DialogueConfig()  # type: ignore[call-arg]
    limits: LimitsConfig = LimitsConfig()  # type: ignore[call-arg]
    knowledge: KnowledgeConfig = KnowledgeConfig()  # type: ignore[call-arg]
    inbox: InboxConfig = InboxConfig()  # type: ignore[call-arg]
    broadcast: BroadcastConfig = BroadcastConfig()  # type: ignore[call-arg]
    handoff: HandoffConfig = HandoffConfig()  # type: ignore[call-arg]

    @model_validator(mode="after")
    def _complete(self) -> BotConfig:
        names = [s.name for s in self.pipeline]
        missing = [c for c in COMPONENTS if c not in names and c not in OPTIONAL_COMPONENTS]
        if missing:
            raise ValueError(f"the pipeline lacks {', '.join(missing)}")
        if len(set(names)) != len(names):
            raise ValueError("a pipeline component is listed twice")
        return self

    def step(self, name: str) -> dict[str, Any]:
        """Parameters of a pipeline step, defaults filled in (see COMPONENTS)."""
        return next(s.params() for s in self.pipeline if s.name == name)


class Settings(BaseSettings):
    """Environment settings. With no REDIS_URL the bot runs an embedded Redis under data_dir."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    redis_url: str | None = None
    # REDIS_URL names any node of a Redis Cluster (see bot.app.connect_redis).
    redis_cluster: bool = False
    sapa_data_dir: Path = PROJECT_ROOT / ".data"
    sapa_key_prefix: str = "sp"
    sapa_config: Path = PROJECT_ROOT / "config.yml"
    sapa_nlu_data: Path = PROJECT_ROOT / "nlu_data"
    # What-if date (YYYY-MM-DD): every process answers as on that day in WIB (fees, discount
    # periods, named months), keeping the real time of day. Unset: the real date.
    sapa_today: date | None = None
    # When set, every REST channel call needs `Authorization: Bearer <token>` (the REST channel
    # trusts `sender`, so it belongs behind a trusted front-end that authenticates workers).
    rest_channel_token: SecretStr | None = None
    # Redis: how long connecting and each command may take before the request fails with 503.
    redis_timeout_seconds: float = 2.0
    # Channels: a channel whose settings are missing is off (see bot/channels/switchboard.py).
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_secret: SecretStr | None = None
    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_base_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    # A Telegram group chat told about every new handoff (the bot must be a member); optional.
    telegram_staff_chat_id: str | None = None


def load_config(path: Path) -> BotConfig:
    """Read and validate config.yml, with an error that names the file and the field."""
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
        return BotConfig.model_validate(raw)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"invalid config file {path}: {exc}") from exc
