"""Peer configuration (spec §7.1): the peers file, its errors, and the witness key derivation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from registry.core.note import ALG_COSIGNATURE_V1, NoteSigner
from registry.federation.config import load_peers_file, parse_peer, parse_peers
from registry.federation.errors import PeerConfigError
from registry.federation.keys import derive_witness_signer
from tests.node.test_cli import run

A = NoteSigner.from_seed("a.test/log", b"\x0a" * 32)
B = NoteSigner.from_seed("b.test/log", b"\x0b" * 32)
WB = derive_witness_signer(B.skey)


def test_peers_file_lines_comments_and_optional_witness_key() -> None:
    peers = parse_peers(
        [
            "# the federation",
            "",
            f"  https://a.example/ {A.verifier.vkey}  ",
            f"\thttp://127.0.0.1:8001 {B.verifier.vkey} {WB.verifier.vkey}",
            "   # indented comment",
        ]
    )
    assert [(p.origin, p.url) for p in peers] == [
        ("a.test/log", "https://a.example"),
        ("b.test/log", "http://127.0.0.1:8001"),
    ]
    assert peers[0].witness is None
    assert peers[1].witness == WB.verifier


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("https://a.example", "expected 'URL VKEY"),
        (f"https://a.example {A.verifier.vkey} x y", "expected 'URL VKEY"),
        (f"ftp://a.example {A.verifier.vkey}", "http(s)"),
        (f"https:///nohost {A.verifier.vkey}", "http(s)"),
        (f"https://a.example/?q=1 {A.verifier.vkey}", "query or fragment"),
        ("https://a.example a.test/log+00000000+AAAA", "not a C2SP verifier key"),
        (f"https://a.example {WB.verifier.vkey}", "signature type 0x04, not 0x01"),
        (f"https://a.example {A.verifier.vkey} {B.verifier.vkey}", "type 0x01, not 0x04"),
    ],
)
def test_malformed_lines_name_their_line(line: str, message: str) -> None:
    with pytest.raises(PeerConfigError) as caught:
        parse_peers(["# header", line])
    assert str(caught.value).startswith("line 2: ")
    assert message in str(caught.value)


def test_duplicate_and_own_origins_are_refused() -> None:
    line = f"https://a.example {A.verifier.vkey}"
    with pytest.raises(PeerConfigError, match=r"line 2: origin a\.test/log is listed twice"):
        parse_peers([line, line.replace("a.example", "a2.example")])
    with pytest.raises(PeerConfigError, match="this node's own origin"):
        parse_peers([line], own_origin="a.test/log")


def test_load_peers_file(tmp_path: Path) -> None:
    path = tmp_path / "peers"
    path.write_text(f"https://b.example {B.verifier.vkey}\n")
    assert [p.origin for p in load_peers_file(path)] == ["b.test/log"]
    with pytest.raises(PeerConfigError, match="cannot read peers file"):
        load_peers_file(tmp_path / "missing")
    path.write_text("garbage\n")
    with pytest.raises(PeerConfigError, match=re.escape(f"{path}: line 1")):
        load_peers_file(path)
    assert parse_peer("https://b.example", B.verifier.vkey).verifier == B.verifier


def test_witness_key_is_derived_separately_and_deterministically() -> None:
    again = derive_witness_signer(B.skey)
    other = derive_witness_signer(A.skey)
    assert again.skey == WB.skey
    assert WB.alg == ALG_COSIGNATURE_V1
    assert WB.name == "b.test/log/witness"
    assert WB.verifier.public_key != B.verifier.public_key  # not the log key
    assert other.verifier.public_key != WB.verifier.public_key


def test_serve_refuses_a_bad_peers_file_before_starting(tmp_path: Path) -> None:
    peers = tmp_path / "peers"
    peers.write_text("# ok\nhttps://x.example not-a-key\n")
    result = run("serve", "--data-dir", str(tmp_path / "d"), "--peers", str(peers), ok=False)
    assert result.returncode == 1
    assert "line 2" in result.stderr
    assert "verifier key" in result.stderr
    assert not (tmp_path / "d").exists()


def test_init_prints_the_witness_key(tmp_path: Path) -> None:
    result = run("init", "--data-dir", str(tmp_path / "d"), "--origin", "w.test/log")
    vkey = result.stdout.split("witness key: ", 1)[1].split()[0]
    assert vkey.startswith("w.test/log/witness+")


@pytest.mark.parametrize("url", ["http://[a.test", "http://a.test:99999", "http://a.test:x"])
def test_urls_that_do_not_parse_are_config_errors(url: str) -> None:
    # Regression (found by tests/ops fuzzing): urlsplit's ValueError escaped as a 500.
    with pytest.raises(PeerConfigError, match="does not parse"):
        parse_peers([f"{url} {A.verifier.vkey}"])


@pytest.mark.parametrize("url", ["\x01http://a.test", "http://a.test/\x7f", "http://ä.test"])
def test_urls_are_used_exactly_as_checked(url: str) -> None:
    # urlsplit would strip the leading control character and accept the rest.
    with pytest.raises(PeerConfigError, match="control or non-ASCII"):
        parse_peer(url, A.verifier.vkey)
