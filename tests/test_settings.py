"""Settings: passed value, environment value, passed beats environment."""

from pathlib import Path

from tools.settings import Settings


def test_passed_value(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    s = Settings(openai_base_url="http://passed/v1", model="m1", home="/tmp/x")
    assert (s.openai_base_url, s.model, s.home) == ("http://passed/v1", "m1", Path("/tmp/x"))


def test_env_value(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env/v1")
    monkeypatch.setenv("P2M_MODEL", "env-model")
    monkeypatch.setenv("P2M_HOME", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-envsecret123456")
    s = Settings()
    assert s.openai_base_url == "http://env/v1"
    assert s.model == "env-model"
    assert s.home == tmp_path
    assert s.openai_api_key.get_secret_value() == "sk-envsecret123456"
    assert "sk-envsecret123456" not in repr(s)  # SecretStr keeps it out of reprs
    assert not s.uses_embedded


def test_passed_beats_env(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env/v1")
    monkeypatch.setenv("P2M_MODEL", "env-model")
    s = Settings(openai_base_url="http://passed/v1", model="passed-model")
    assert (s.openai_base_url, s.model) == ("http://passed/v1", "passed-model")


def test_home_env_does_not_leak_into_p2m_home(monkeypatch):
    monkeypatch.delenv("P2M_HOME", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent-home")
    assert Settings().home == Path("/nonexistent-home/.local/share/p2m")


def test_offline_switch_and_hf_passthrough(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    s = Settings()
    assert s.offline is True and s.hf_endpoint == "http://127.0.0.1:9/"
    assert s.uses_embedded  # no OPENAI_BASE_URL set


def test_secrets_collected_for_redaction(monkeypatch):
    slack = "xo" + "xb-fake-slack-1"  # built at run time: no token-shaped literal in the source
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack)
    s = Settings(openai_api_key="sk-passed-secret-99")
    assert {"sk-passed-secret-99", slack} <= set(s.secrets())


def test_no_cache_flag_turns_the_llm_cache_off(monkeypatch):
    from typer.testing import CliRunner

    from tools.settings import get_settings
    from ui.cli import app

    monkeypatch.setenv("P2M_CACHE", "1")
    assert get_settings().cache is True
    result = CliRunner().invoke(app, ["--no-cache", "llm", "status", "--json"])
    assert result.exit_code == 0, result.output
    assert get_settings().cache is False
