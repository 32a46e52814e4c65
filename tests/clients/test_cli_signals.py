"""``consent signals``: every opt-out signal written from a creator's declarations, then read
back by the signal evaluator (write -> read -> the same preference, per the mapping table).

A creator declares three images with the real CLI against a real ``registry serve``:
``a.jpg`` with ``train-ai=n``, ``b.png`` with ``train-ai=n, search=y`` and ``c.jpg`` with
``train-ai=y``. ``consent signals`` writes robots.txt, ai.txt, tdmrep.json, ``_headers``, an
RSL licence and copies of the images with XMP and a C2PA manifest (signed with a test
certificate). A real web server on 127.0.0.1 then publishes those files as a site would (the
copies at the declared URLs, each with the headers ``_headers`` gives it), and the evaluator
reads every signal back over HTTP.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from consent.signals import (
    AsyncSignalEvaluator,
    Signal,
    SignalEvaluator,
    Verdict,
    robots_signals,
    xmp_signal,
)
from PIL import Image

from tests.clients.sdk_support import c2pa_test_chain, free_port
from tests.clients.test_cli_consent import PASSPHRASE, as_json, consent, make_image

STATEMENTS = {
    "a.jpg": {"train-ai": "n"},
    "b.png": {"search": "y", "train-ai": "n"},
    "c.jpg": {"train-ai": "y"},
}
# What each signal reads back, per the mapping table (spec §3.4): a format that cannot
# express a preference omits it (ai.txt, TDMRep, X-Robots-Tag, XMP: no "y"; XMP, CAWG: no
# search), so it is absent from what is read.
N_ONLY = {"train-ai": "n"}
EXPECTED: dict[str, dict[str, dict[str, str] | None]] = {
    "a.jpg": dict.fromkeys(
        (
            "robots.txt",
            "content-usage",
            "content-signal",
            "ai.txt",
            "rsl",
            "tdm-reservation",
            "tdmrep.json",
            "x-robots-tag",
            "xmp",
            "c2pa",
        ),
        N_ONLY,
    ),
    "b.png": {
        "robots.txt": STATEMENTS["b.png"],
        "content-usage": STATEMENTS["b.png"],
        "content-signal": STATEMENTS["b.png"],
        "rsl": STATEMENTS["b.png"],
        "ai.txt": N_ONLY,
        "tdm-reservation": N_ONLY,
        "tdmrep.json": N_ONLY,
        "x-robots-tag": N_ONLY,
        "xmp": N_ONLY,
        "c2pa": N_ONLY,
    },
    "c.jpg": {
        "robots.txt": {"train-ai": "y"},
        "content-usage": {"train-ai": "y"},
        "content-signal": None,
        "rsl": None,
        "ai.txt": None,
        "tdm-reservation": None,
        "tdmrep.json": None,
        "x-robots-tag": None,
        "xmp": None,
        "c2pa": None,  # no XMP value, so no tagged copy: the original is published as is
    },
}


class Site(ThreadingHTTPServer):
    """A static site: ``root`` at ``/``, ``portfolio`` at ``/portfolio/`` (the tagged copy in
    ``root/images`` if there is one), headers from ``root/_headers``."""

    root: Path
    portfolio: Path


def _headers_by_path(text: str) -> dict[str, list[tuple[str, str]]]:
    """Netlify / Cloudflare Pages ``_headers``: a path line, then indented header lines."""
    found: dict[str, list[tuple[str, str]]] = {}
    path = ""
    for line in text.splitlines():
        if line and not line[0].isspace():
            path = line.strip()
            found[path] = []
        elif line.strip():
            name, _, value = line.strip().partition(":")
            found[path].append((name.strip(), value.strip()))
    return found


class Handler(BaseHTTPRequestHandler):
    server: Site

    def do_GET(self) -> None:
        root = self.server.root
        if self.path.startswith("/portfolio/"):
            name = self.path.removeprefix("/portfolio/")
            tagged = root / "images" / name
            source = tagged if tagged.exists() else self.server.portfolio / name
        else:
            source = root / self.path.lstrip("/")
        if not source.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = source.read_bytes()
        headers_file = root / "_headers"
        extra = _headers_by_path(headers_file.read_text()) if headers_file.exists() else {}
        self.send_response(200)
        for name, value in extra.get(self.path, []):
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    server = Site(("127.0.0.1", free_port()), Handler)
    server.root = tmp_path_factory.mktemp("site")
    server.portfolio = tmp_path_factory.mktemp("portfolio")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def declared(
    served_node: str, site: Site, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], str]:
    """The creator's environment after declaring the three images; the site's base URL."""
    home = tmp_path_factory.mktemp("signals-creator")
    env = {
        "CONSENT_KEY": str(home / "key.json"),
        "CONSENT_PASSPHRASE": PASSPHRASE,
        "CONSENT_NODE": served_node,
        "CONSENT_RECEIPTS": str(home / "receipts"),
    }
    consent("keygen", "--scrypt-n", "1024", cwd=home, env=env)
    base = f"http://127.0.0.1:{site.server_address[1]}/portfolio"
    for n, (name, prefs) in enumerate(STATEMENTS.items()):
        png = site.portfolio / f"{name}.src.png"
        make_image(png, 40 + n)
        with Image.open(png) as image:
            image.convert("RGB").save(site.portfolio / name, quality=92)
        png.unlink()
        statement = ", ".join(f"{k}={v}" for k, v in prefs.items())
        consent(
            "declare",
            str(site.portfolio / name),
            "--prefs",
            statement,
            "--url-map",
            _url_map(home, site.portfolio / name, f"{base}/{name}"),
            cwd=home,
            env=env,
        )
    return env, base


def _url_map(home: Path, path: Path, url: str) -> str:
    target = home / f"{path.name}.urls"
    target.write_text(f"{path}\t{url}\n")
    return str(target)


def _by_name(signals: tuple[Signal, ...], name: str) -> list[Signal]:
    return [s for s in signals if s.name == name]


def test_every_signal_written_is_read_back(
    declared: tuple[dict[str, str], str], site: Site, tmp_path: Path
) -> None:
    env, base = declared
    chain, key = c2pa_test_chain()
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(key)
    result = as_json(
        consent(
            "signals",
            "--out",
            str(site.root),
            "--base-url",
            base,
            "--sign-cert",
            str(tmp_path / "chain.pem"),
            "--sign-key",
            str(tmp_path / "key.pem"),
            "--json",
            cwd=tmp_path,
            env=env,
        )
    )
    assert result["works"] == 3
    written = {Path(p).relative_to(site.root).as_posix() for p in result["files"]}
    assert {"robots.txt", "ai.txt", ".well-known/tdmrep.json", "_headers", "license.xml"} <= (
        written
    )
    assert sorted(Path(i["file"]).name for i in result["images"]) == ["a.jpg", "b.png"]
    robots = (site.root / "robots.txt").read_text()
    assert "Content-Usage: /portfolio/a.jpg$ train-ai=n\n" in robots
    assert f"License: {base.removesuffix('/portfolio')}/license.xml" in robots

    with SignalEvaluator() as evaluator:
        for name, expected in EXPECTED.items():
            verdict = evaluator.evaluate_url(f"{base}/{name}")
            assert not [s for s in verdict.signals if s.error], verdict.to_json()
            for signal_name, prefs in expected.items():
                found = _by_name(verdict.signals, signal_name)
                if prefs is None:
                    assert not [s for s in found if s.prefs], (name, signal_name, found)
                else:
                    assert [dict(s.prefs) for s in found] == [prefs], (name, signal_name)
            assert verdict.allowed is (STATEMENTS[name]["train-ai"] == "y"), name

        # the tagged copies carry their reservation wherever they go, offline too
        copy = evaluator.evaluate_file(site.root / "images" / "a.jpg")
        synced = evaluator.evaluate_url(f"{base}/b.png")

    async def read_async() -> Verdict:
        async with AsyncSignalEvaluator() as async_evaluator:
            return await async_evaluator.evaluate_url(f"{base}/b.png")

    assert asyncio.run(read_async()).signals == synced.signals  # the asyncio twin agrees
    assert {s.name: dict(s.prefs) for s in copy.signals} == {"c2pa": N_ONLY, "xmp": N_ONLY}
    # and re-encoding strips both, as metadata is: the registry still has the work by PDQ
    with Image.open(site.root / "images" / "b.png") as image:
        image.save(tmp_path / "stripped.png")
    assert xmp_signal((tmp_path / "stripped.png").read_bytes()) is None


def test_site_wide_from_node_and_some_works(
    declared: tuple[dict[str, str], str], site: Site, tmp_path: Path
) -> None:
    env, base = declared
    consent(
        "signals", "--out", "local", "--base-url", base, "--no-images", "--site-wide",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    robots = (tmp_path / "local" / "robots.txt").read_text()
    # the whole site: the works' statements combined, any disallow wins (spec §3.2)
    group = robots_signals(robots, user_agent="any-bot/1", path="/about.html")
    assert [(s.name, dict(s.prefs)) for s in group] == [
        ("robots.txt", {"search": "y", "train-ai": "n"}),
        ("content-signal", {"search": "y", "train-ai": "n"}),
    ]
    # the node's answers (each declaration verified) give the same files as the receipts
    consent(
        "signals", "--out", "node", "--base-url", base, "--no-images", "--site-wide",
        "--from-node", "--receipts", str(tmp_path / "empty"), cwd=tmp_path, env=env,
    )  # fmt: skip
    for name in ("robots.txt", "ai.txt", ".well-known/tdmrep.json", "_headers", "license.xml"):
        assert (tmp_path / "node" / name).read_text() == (tmp_path / "local" / name).read_text()
    # only some works: by file
    one = as_json(
        consent(
            "signals", str(site.portfolio / "a.jpg"), "--out", "one", "--base-url", base,
            "--no-images", "--json", cwd=tmp_path, env=env,
        )
    )  # fmt: skip
    assert one["works"] == 1
    assert "b.png" not in (tmp_path / "one" / "robots.txt").read_text()


def test_no_declarations_is_one_line(tmp_path: Path, served_node: str) -> None:
    env = {
        "CONSENT_KEY": str(tmp_path / "key.json"),
        "CONSENT_PASSPHRASE": PASSPHRASE,
        "CONSENT_NODE": served_node,
        "CONSENT_RECEIPTS": str(tmp_path / "receipts"),
    }
    consent("keygen", "--scrypt-n", "1024", cwd=tmp_path, env=env)
    failed = consent(
        "signals", "--base-url", "https://example.com", cwd=tmp_path, env=env, ok=False
    )
    assert failed.returncode == 1
    assert failed.stderr.count("\n") == 1
    assert "no current declarations" in failed.stderr
