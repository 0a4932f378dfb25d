"""`p2m web` / `p2m slack` commands: refusals with clear messages (no server started)."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from ui.cli_frontends import register


def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def main():
        pass

    register(a)
    return a


def test_web_refuses_public_bind_without_login(monkeypatch):
    monkeypatch.delenv("P2M_WEB_USER", raising=False)
    monkeypatch.delenv("P2M_WEB_PASSWORD", raising=False)
    r = CliRunner().invoke(app(), ["web", "--host", "0.0.0.0"])
    assert r.exit_code == 2
    assert "P2M_WEB_USER" in r.output


def test_slack_needs_tokens(monkeypatch):
    for v in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(v, raising=False)
    r = CliRunner().invoke(app(), ["slack"])
    assert r.exit_code == 2 and "SLACK_BOT_TOKEN" in r.output
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-x")
    r = CliRunner().invoke(app(), ["slack", "--http"])
    assert r.exit_code == 2 and "SLACK_SIGNING_SECRET" in r.output
    r = CliRunner().invoke(app(), ["slack"])
    assert r.exit_code == 2 and "SLACK_APP_TOKEN" in r.output


def test_export_zip_for_download(tmp_path):
    from ui.web import WebBackend

    be = WebBackend()
    out = tmp_path / "export"
    out.mkdir()
    (out / "model.bin").write_text("x")
    z = be.export_zip({"export_path": str(out)})
    assert z and z.endswith("export.zip")
    assert be.export_zip({"export_path": str(tmp_path / "missing")}) is None
    assert be.export_zip({}) is None
