"""CleanConfig: sensible defaults, strict keys, validated language codes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from stages.clean import CleanConfig, CleanStage


def test_defaults_build_a_stage() -> None:
    stage = CleanStage(CleanConfig())
    assert stage.name == "clean"
    assert stage.version == "1"
    assert stage.config.language.allowed_languages == ["en"]
    assert stage.config.gopher_repetition.max_duplicate_ngram_char_fraction[10] == pytest.approx(0.10)


def test_unknown_top_level_key_is_rejected() -> None:
    with pytest.raises(ValidationError):
        CleanConfig.model_validate({"gopher_qualty": {}})


def test_unknown_nested_key_is_rejected() -> None:
    with pytest.raises(ValidationError):
        CleanConfig.model_validate({"gopher_quality": {"min_word": 10}})


def test_config_is_frozen() -> None:
    config = CleanConfig()
    with pytest.raises(ValidationError):
        config.gopher_quality.min_words = 3  # type: ignore[misc]


def test_language_codes_are_validated_and_lowercased() -> None:
    config = CleanConfig.model_validate({"language": {"allowed_languages": ["EN", "de"]}})
    assert config.language.allowed_languages == ["en", "de"]
    with pytest.raises(ValidationError, match="ISO 639-1"):
        CleanConfig.model_validate({"language": {"allowed_languages": ["english"]}})


def test_any_language_lid176_knows_can_be_allowed() -> None:
    config = CleanConfig.model_validate({"language": {"allowed_languages": ["zh", "id", "yue"]}})
    assert config.language.allowed_languages == ["zh", "id", "yue"]
    with pytest.raises(ValidationError, match=r"lid\.176"):
        CleanConfig.model_validate({"language": {"allowed_languages": ["zh-cn"]}})


@pytest.mark.parametrize("key", ["candidate_languages", "low_accuracy_mode"])
def test_lingua_settings_are_gone(key: str) -> None:
    """lid.176 chooses among all its 176 languages at one speed: a preset still naming lingua's keys fails."""
    with pytest.raises(ValidationError, match=key):
        CleanConfig.model_validate({"language": {key: ["en"] if key == "candidate_languages" else True}})


def test_ngram_thresholds_accept_string_keys_from_yaml() -> None:
    config = CleanConfig.model_validate({"gopher_repetition": {"max_top_ngram_char_fraction": {"2": 0.5}}})
    assert config.gopher_repetition.max_top_ngram_char_fraction == {2: 0.5}
    with pytest.raises(ValidationError):
        CleanConfig.model_validate({"gopher_repetition": {"max_duplicate_ngram_char_fraction": {"1": 0.5}}})


def test_config_round_trips_through_json() -> None:
    config = CleanConfig.model_validate(
        {"toxicity": {"extra_words": ["frobnicate"]}, "c4": {"min_sentences": 5}}
    )
    assert CleanConfig.model_validate_json(config.model_dump_json()) == config
