"""config.yml's NLU pipeline is real: every step is a known component, every key one it takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.errors import ConfigError
from bot.settings import COMPONENTS, PROJECT_ROOT, load_config

SHIPPED = PROJECT_ROOT / "config.yml"


def with_pipeline(tmp_path: Path, change: Any) -> Path:
    config = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    change(config["pipeline"])
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_the_shipped_pipeline_loads_with_its_values() -> None:
    config = load_config(SHIPPED)
    assert config.step("FallbackClassifier")["threshold"] == 0.3
    assert config.step("LogisticRegressionClassifier")["C"] == 50.0


def test_a_misspelt_component_stops_start_up(tmp_path: Path) -> None:
    def misspell(pipeline: list[dict[str, Any]]) -> None:
        pipeline[-1]["name"] = "FallbackClasifier"

    with pytest.raises(ConfigError, match="unknown pipeline component 'FallbackClasifier'"):
        load_config(with_pipeline(tmp_path, misspell))


def test_a_key_the_component_does_not_take_stops_start_up(tmp_path: Path) -> None:
    def misspell(pipeline: list[dict[str, Any]]) -> None:
        pipeline[-1]["treshold"] = 0.5

    with pytest.raises(ConfigError, match="FallbackClassifier has no key treshold"):
        load_config(with_pipeline(tmp_path, misspell))


def test_a_missing_component_stops_start_up(tmp_path: Path) -> None:
    def drop(pipeline: list[dict[str, Any]]) -> None:
        pipeline[:] = [s for s in pipeline if s["name"] != "CharTfidfFeaturizer"]

    with pytest.raises(ConfigError, match="lacks CharTfidfFeaturizer"):
        load_config(with_pipeline(tmp_path, drop))


def test_a_step_without_keys_gets_the_defaults_beside_its_component(tmp_path: Path) -> None:
    def bare(pipeline: list[dict[str, Any]]) -> None:
        pipeline[:] = [{"name": s["name"]} for s in pipeline]

    config = load_config(with_pipeline(tmp_path, bare))
    for name, defaults in COMPONENTS.items():
        if any(s.name == name for s in config.pipeline):
            assert config.step(name) == defaults
