"""The status page of a node that mirrors a peer which witnesses it: the peer and its state,
and the peer's cosignature on the node's checkpoint, verified in the browser."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.conftest import make_entries
from tests.web.conftest import WatchedPage
from tests.web.support import registry_node

TOKEN = "web-test-operator-token"


def wait_for(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_status_shows_peers_and_cosignatures(
    watched: WatchedPage, tmp_path: Path, shots: Path
) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN)
    fast = ("--peer-poll-interval", "0.2", "--peer-allow-http")  # loopback peers, no TLS
    with registry_node(tmp_path / "b", "--admin-token-file", str(token), *fast) as b:
        b_info = httpx.get(b + "/.well-known/consent-registry").json()
        peers = tmp_path / "peers.txt"
        peers.write_text(f"{b} {b_info['verifier_key']}\n")
        with registry_node(tmp_path / "a", "--peers", str(peers), *fast) as a:
            a_info = httpx.get(a + "/.well-known/consent-registry").json()
            # B witnesses A: the operator of B adds A as a peer
            added = httpx.post(
                b + "/v1/admin/peers",
                headers={"Authorization": f"Bearer {TOKEN}"},
                json={"url": a, "verifier_key": a_info["verifier_key"]},
            )
            assert added.status_code in (200, 201), added.text

            # a new checkpoint of A, which A pushes to its witness B
            entry = make_entries(1, seed=77)[0]
            submitted = httpx.post(
                a + "/v1/declarations",
                content=entry,
                headers={"Content-Type": "application/json"},
            )
            assert submitted.status_code == 201, submitted.text
            witness = b_info["witness_key"].split("+")[0]

            def cosigned() -> bool:
                lines = httpx.get(a + "/checkpoint").text.splitlines()
                return any(line.startswith(f"— {witness} ") for line in lines)

            def mirrored() -> bool:
                listed = httpx.get(a + "/v1/peers").json()
                items = listed["peers"] if isinstance(listed, dict) else listed
                return bool(items) and items[0]["last_success"] is not None

            wait_for(mirrored, "A to mirror B")
            wait_for(cosigned, "B's cosignature on A's checkpoint")

            page = watched.page
            page.goto(a + "/#/status")
            main = page.locator("main")
            expect(main).to_contain_text("Signature verified in this browser", timeout=30_000)
            expect(main).to_contain_text(b_info["origin"])
            expect(main).to_contain_text("mirroring")
            cosignatures = page.get_by_role("heading", name="Cosignatures").locator("+ ul")
            expect(cosignatures).to_contain_text(witness)
            page.screenshot(path=shots / "status-federated.png", full_page=True)
