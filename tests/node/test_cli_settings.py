"""Settings: built from REGISTRY_* variables, checked once, passed to workers and back."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.config.settings import Settings, SettingsError


def test_from_env_parses_every_kind_of_field(tmp_path: Path) -> None:
    key_file = tmp_path / "node.key"
    key_file.write_text("PRIVATE+KEY+a.test/x+00000000+AAAA\n")
    settings = Settings.from_env(
        {
            "REGISTRY_PORT": "9000",
            "REGISTRY_DATA_DIR": str(tmp_path),
            "REGISTRY_BATCH_INTERVAL": "0.5",
            "REGISTRY_ORIGIN": "a.test/x",
            "REGISTRY_SIGNING_KEY_FILE": str(key_file),
            "REGISTRY_SIGNING_KEY": "PRIVATE+KEY+a.test/x+00000000+AAAA",
            "REGISTRY_RATE_LIMIT": "0",
            "REGISTRY_UNRELATED": "ignored",
        },
        workers=3,
    )
    assert settings.port == 9000
    assert settings.data_dir == tmp_path
    assert settings.batch_interval == 0.5
    assert settings.workers == 3
    assert settings.rate_limit == 0
    assert settings.signing_key == "PRIVATE+KEY+a.test/x+00000000+AAAA"
    assert "PRIVATE" not in repr(settings)  # the key never shows in logs
    # The key file is a path: the log reads it (ADR 0012), settings never hold its contents.
    assert settings.signing_key_file == key_file
    assert settings.key_file_path() == key_file
    assert Settings(data_dir=tmp_path).key_file_path() == tmp_path / "node.key"


def test_to_env_round_trips() -> None:
    settings = Settings(port=1234, origin="b.test/y", signing_key="k", max_batch_items=5)
    assert Settings.from_env(settings.to_env()) == settings


def test_database_url_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    assert (
        Settings(data_dir=tmp_path)
        .resolved_database_url()
        .endswith(f"{tmp_path.resolve()}/registry.db")
    )
    assert Settings(database_url="postgresql+asyncpg://h/db").resolved_database_url() == (
        "postgresql+asyncpg://h/db"
    )


@pytest.mark.parametrize(
    "env",
    [
        {"REGISTRY_PORT": "eighty"},
        {"REGISTRY_PORT": "0"},
        {"REGISTRY_PORT": "70000"},
        {"REGISTRY_RATE_LIMIT": "-1"},
        {"REGISTRY_LOG_LEVEL": "loud"},
        {"REGISTRY_ORIGIN": "https://example.com/log"},
        {"REGISTRY_MAX_BATCH_ITEMS": "0"},
        {"REGISTRY_ADMIN_TOKEN_FILE": "/nonexistent/token"},
    ],
)
def test_bad_values_fail_with_a_readable_message(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert str(info.value)
    assert "\n" not in str(info.value)
