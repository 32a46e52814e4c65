"""C2PA/CAWG training-mining assertions: real manifests signed with c2pa-python (a test CA and
an ES256 signer made here), read back by the signal evaluator, from a file and over HTTP."""

from __future__ import annotations

import io
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import c2pa  # type: ignore[import-untyped]
import pytest
from consent.signals import SignalEvaluator, c2pa_signal
from PIL import Image

from tests.clients.sdk_support import c2pa_test_chain, free_port


def _signer() -> object:
    """An ES256 C2PA signer: a leaf certificate (emailProtection) issued by a test CA."""
    chain, private = c2pa_test_chain()
    return c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain, private, None))


def signed_jpeg(entries: dict[str, dict[str, str]], label: str = "cawg.training-mining") -> bytes:
    """A small JPEG carrying a signed manifest with a training-mining assertion."""
    manifest = {
        "claim_generator_info": [{"name": "consent-registry tests", "version": "1"}],
        "title": "work.jpg",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
                        }
                    ]
                },
            },
            {"label": label, "data": {"entries": entries}},
        ],
    }
    source = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(source, "JPEG")
    source.seek(0)
    out = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(_signer(), "image/jpeg", source, out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("label", "entries", "expected"),
    [
        ("cawg.training-mining", {"cawg.ai_generative_training": {"use": "notAllowed"}}, "n"),
        ("cawg.training-mining", {"cawg.ai_generative_training": {"use": "allowed"}}, "y"),
        ("c2pa.training-mining", {"c2pa.ai_training": {"use": "notAllowed"}}, "n"),
        ("cawg.training-mining", {"cawg.ai_inference": {"use": "notAllowed"}}, None),
    ],
)
def test_training_mining_assertion_is_read(
    label: str, entries: dict[str, dict[str, str]], expected: str | None
) -> None:
    signal = c2pa_signal(signed_jpeg(entries, label), "image/jpeg")
    assert signal is not None
    assert signal.error is None
    assert signal.prefs.get("train-ai") == expected


def test_file_without_manifest_has_no_signal() -> None:
    plain = io.BytesIO()
    Image.new("RGB", (8, 8)).save(plain, "JPEG")
    assert c2pa_signal(plain.getvalue(), "image/jpeg") is None
    assert c2pa_signal(b"not an image at all") is None


def test_evaluator_names_c2pa_for_files_and_urls(tmp_path: Path) -> None:
    work = tmp_path / "work.jpg"
    work.write_bytes(signed_jpeg({"cawg.ai_generative_training": {"use": "notAllowed"}}))
    with SignalEvaluator() as evaluator:
        verdict = evaluator.evaluate_file(work)
    assert not verdict.allowed
    assert verdict.decided_by == "c2pa"
    server = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with SignalEvaluator() as evaluator:
            remote = evaluator.evaluate_url(f"http://127.0.0.1:{server.server_address[1]}/work.jpg")
    finally:
        server.shutdown()
        server.server_close()
    assert remote.decided_by == "c2pa"
    # stripping the metadata (re-encoding) loses the assertion: why the registry exists
    with Image.open(work) as image:
        image.save(tmp_path / "stripped.jpg", quality=90)
    with SignalEvaluator() as evaluator:
        assert evaluator.evaluate_file(tmp_path / "stripped.jpg").decided_by is None
