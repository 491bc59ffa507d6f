"""Both `mediashelf` commands (the server's and the light client's) refuse bad arguments, URLs
and settings in one line of our own words: no validation library's text, no traceback."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mediashelf.cli
import mediashelf_client.cli
from tests.support.server import Server

LIBRARY_TEXT = ("Value error", "Input should", "pydantic", "validation error", "Traceback",
                "For further information", "[Errno", "unable to parse")
ENTRIES = {"mediashelf": mediashelf.cli.main, "mediashelf_client": mediashelf_client.cli.main}


def run(entry: Callable[[list[str]], None], args: list[str],
        capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    try:
        entry(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


@pytest.fixture(autouse=True)
def no_client_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key and no URL from the environment: commands stop before the network."""
    for name in ("MEDIASHELF_URL", "MEDIASHELF_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("entry", sorted(ENTRIES))
@pytest.mark.parametrize(("args", "words"), [
    (["ls", "--page", "0"], "'--page': '0': must be 1 or more"),
    (["ls", "--page", "1.5"], "'--page': '1.5': expected a whole number"),
    (["ls", "--page-size", "101"], "'--page-size': '101': must be 100 or less"),
    (["ls", "--type", "movie"], "invalid value 'movie' for --type: allowed values are AUDIO"),
    (["import", "https://example.com/a.png", "--timeout", "soon"],
     "'--timeout': 'soon': expected a number"),
    (["ls", "--api-key", "k", "--url", "http://"],
     "--url (MEDIASHELF_URL) must be an http:// or https:// URL with a host, not 'http://'"),
    (["ls", "--api-key", "k", "--url", "localhost:8000"], "not 'localhost:8000'"),
    (["ls", "--api-key", "k", "--url", "http://[::1"], "not 'http://[::1'"),
    (["ls", "--api-key", "k", "--url", "http://host:port"], "not 'http://host:port'"),
])
def test_bad_arguments_in_our_words(entry: str, args: list[str], words: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, said = run(ENTRIES[entry], args, capsys)
    assert code == 2, said
    assert words in " ".join(said.split()), said
    assert not any(text in said for text in LIBRARY_TEXT), said


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(["--page", "--page-size", "--type", "--status"]),
       value=st.text(min_size=1, max_size=12).filter(lambda v: not v.startswith("-")))
def test_any_listing_option_value_is_taken_or_refused_plainly(
        option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, said = run(mediashelf_client.cli.main, ["ls", option, value], capsys)
    assert code in (2, 4), said  # refused, or taken and then stopped for want of a key
    assert not any(text in said for text in LIBRARY_TEXT), said


def test_the_server_commands_refuse_bad_values_plainly(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, said = run(mediashelf.cli.main, ["serve", "--port", "http"], capsys)
    assert code == 2 and "'--port': 'http': expected a whole number" in said, said
    monkeypatch.setenv("MEDIASHELF_PURGE_AFTER", "a while")
    code, said = run(mediashelf.cli.main, ["keys", "list"], capsys)
    assert code == 2 and said.startswith("error: MEDIASHELF_PURGE_AFTER: "), said
    assert said.count("\n") == 1 and not any(text in said for text in LIBRARY_TEXT), said


@pytest.mark.parametrize(("args", "env", "words"), [
    (["serve", "--port", "99999"], {}, "error: --port: must be at most 65535"),
    (["serve"], {"MEDIASHELF_PORT": "99999"}, "error: MEDIASHELF_PORT: must be at most 65535"),
    (["serve", "--workers", "0"], {}, "error: --workers: must be at least 1"),
    (["worker", "--metrics-port", "70000"], {}, "error: --metrics-port: must be at most 65535"),
    (["serve", "--port", "8000"], {"MEDIASHELF_WEB_CONCURRENCY": "0"},
     "error: MEDIASHELF_WEB_CONCURRENCY: must be at least 1"),
])
def test_an_out_of_range_value_names_where_it_came_from(
        args: list[str], env: dict[str, str], words: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A flag's bad value names the flag; the variable is named only when it was the source."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, said = run(mediashelf.cli.main, args, capsys)
    assert code != 0 and said.strip() == words, said


@pytest.mark.parametrize(("url", "setting"), [
    ("https://127.0.0.1/a.png", "MEDIASHELF_ALLOW_PRIVATE_URLS=true"),
    ("https://printer.local/a.png", "MEDIASHELF_ALLOW_PRIVATE_URLS=true"),
    ("http://example.com/a.png", "MEDIASHELF_ALLOW_PRIVATE_URLS=true"),
    ("https://example.com:8443/a.png", "MEDIASHELF_ALLOWED_PORTS"),
])
def test_import_refusals_name_the_setting_that_lifts_them(
        url: str, setting: str, server: Server, api_key: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, said = run(mediashelf_client.cli.main,
                     ["import", url, "--url", server.url, "--api-key", api_key], capsys)
    assert code == 1 and said.startswith("error: ") and setting in said, said
