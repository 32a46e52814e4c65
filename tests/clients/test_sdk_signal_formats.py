"""The readers of ai.txt, RSL licences, XMP ``plus:DataMining`` and the ``Content-Signal``
header (``consent.signals``), on the forms real sites and tools write, including malformed
ones; and the writers' own output read back (``consent.signals_out``)."""

from __future__ import annotations

import io

import pytest
from consent.signals import ai_txt_signal, c2pa_signal, header_signals, rsl_signal, xmp_signal
from consent.signals_out import (
    CurrentWork,
    SignalsError,
    ai_txt,
    embed_xmp,
    rsl_xml,
    sign_c2pa,
    xmp_packet,
)
from PIL import Image, PngImagePlugin

from registry.core.prefs import PLUS_VOCAB
from tests.clients.sdk_support import c2pa_test_chain

AGENT = "consent-registry-client/test"

# As Spawning's generator writes it: extension patterns, "Allow" for the kinds allowed.
SPAWNING = """\
# Spawning AI
# Prevent datasets from using the following file types

User-Agent: *
Disallow: *.jpg
Disallow: *.png
Allow: *.txt
Disallow: /
"""


def test_ai_txt_as_spawning_writes_it() -> None:
    def rule(path: str) -> dict[str, str] | None:
        found = ai_txt_signal(SPAWNING, user_agent=AGENT, path=path)
        return None if found is None else dict(found.prefs)

    assert rule("/gallery/photo.jpg") == {"train-ai": "n"}
    assert rule("/notes/poem.txt") == {"train-ai": "y"}  # the longer Allow pattern wins
    assert rule("/index.html") == {"train-ai": "n"}  # "Disallow: /"
    assert ai_txt_signal("User-Agent: *\nDisallow:\n", user_agent=AGENT, path="/a") is None
    # a tie between Allow and Disallow of the same length: Allow (RFC 9309 §2.2.2)
    tie = "User-Agent: *\nDisallow: /a.png\nAllow: /a.png\n"
    found = ai_txt_signal(tie, user_agent=AGENT, path="/a.png")
    assert found is not None
    assert found.prefs == {"train-ai": "y"}
    # a group for our agent replaces the * group
    ours = "User-Agent: *\nDisallow: /\n\nUser-Agent: consent-registry-client\nAllow: /\n"
    found = ai_txt_signal(ours, user_agent=AGENT, path="/x")
    assert found is not None
    assert found.prefs == {"train-ai": "y"}


def test_rsl_documents() -> None:
    document = """<rsl xmlns="https://rslstandard.org/rsl">
      <content url="/">
        <license><permits type="usage">search ai-input</permits></license>
      </content>
      <content url="https://example.com/art/*">
        <license>
          <permits type="usage">search</permits>
          <prohibits type="usage">ai-train, ai-index</prohibits>
          <prohibits type="geo">RU</prohibits>
        </license>
      </content>
    </rsl>"""
    art = rsl_signal(document, "/art/sunset.png")
    assert art is not None
    assert art.prefs == {"search": "y", "train-ai": "n"}  # the longest matching url
    home = rsl_signal(document, "/index.html")
    assert home is not None
    assert home.prefs == {"search": "y"}
    assert rsl_signal('<rsl xmlns="https://rslstandard.org/rsl"/>', "/a") is None
    bad = rsl_signal("<rsl>", "/a")
    assert bad is not None
    assert bad.error is not None
    assert "not XML" in bad.error
    other = rsl_signal("<rsl><content url='/'/></rsl>", "/a")  # no RSL namespace
    assert other is not None
    assert other.error == "not an RSL document (namespace)"
    tokens = rsl_signal(
        '<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
        '<permits type="usage">AI TRAIN</permits></license></content></rsl>',
        "/a",
    )
    assert tokens is not None
    assert tokens.error is not None


def test_rsl_written_is_read() -> None:
    works = [
        CurrentWork("a" * 64, {"train-ai": "n", "search": "y"}, urls=("https://e.com/p/a.jpg",)),
        CurrentWork("b" * 64, {"train-ai": "y"}, urls=("https://e.com/p/b.jpg",)),
    ]
    text = rsl_xml(works, "https://e.com/p")
    found = rsl_signal(text, "/p/a.jpg")
    assert found is not None
    assert found.prefs == {"search": "y", "train-ai": "n"}
    assert rsl_signal(text, "/p/b.jpg") is None  # train-ai=y: RSL ai-train is broader
    assert rsl_signal(text, "/p/a.jpg.bak") is None  # "$": that path exactly
    listing = ai_txt(works, "https://e.com/p", did="did:key:z6Mk")
    assert "Disallow: /p/a.jpg$" in listing
    assert "/p/b.jpg" not in listing


def _png_with_xmp(packet: str) -> bytes:
    out = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet)
    Image.new("RGB", (8, 8)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def test_xmp_forms() -> None:
    # attribute form, as exiftool writes a simple property
    attribute = _png_with_xmp(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/" '
        f'plus:DataMining="{PLUS_VOCAB}DMI-PROHIBITED"/></rdf:RDF></x:xmpmeta>'
    )
    found = xmp_signal(attribute)
    assert found is not None
    assert found.prefs == {"search": "n", "train-ai": "n"}
    unknown = xmp_signal(
        _png_with_xmp(
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            'xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"><plus:DataMining>'
            "Prohibited for AI</plus:DataMining></rdf:Description></rdf:RDF></x:xmpmeta>"
        )
    )
    assert unknown is not None
    assert unknown.error is not None
    broken = xmp_signal(_png_with_xmp("<x:xmpmeta"))
    assert broken is not None
    assert broken.error is not None
    assert xmp_signal(_png_with_xmp("<x/>")) is None
    assert xmp_signal(b"not an image") is None
    plain = io.BytesIO()
    Image.new("RGB", (8, 8)).save(plain, "JPEG")
    assert xmp_signal(plain.getvalue()) is None


def test_xmp_written_keeps_pixels_of_a_png() -> None:
    source = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 30)).save(source, "PNG")
    packet = xmp_packet({"train-ai": "n"})
    assert packet is not None
    tagged, media_type = embed_xmp(source.getvalue(), packet)
    assert media_type == "image/png"
    with Image.open(io.BytesIO(tagged)) as a, Image.open(source) as b:
        assert a.tobytes() == b.tobytes()
    found = xmp_signal(tagged)
    assert found is not None
    assert found.prefs == {"train-ai": "n"}
    assert xmp_packet({"train-ai": "y"}) is None


def test_content_signal_header() -> None:
    (signal,) = header_signals({"Content-Signal": "ai-train=no, search=yes"}, user_agent=AGENT)
    assert signal.name == "content-signal"
    assert signal.prefs == {"search": "y", "train-ai": "n"}
    (bad,) = header_signals({"Content-Signal": "ai-train"}, user_agent=AGENT)
    assert bad.error is not None


@pytest.mark.parametrize("ed25519_leaf", [False, True], ids=["es256", "ed25519"])
def test_c2pa_manifest_signed_with_either_key_is_read(ed25519_leaf: bool) -> None:
    chain, key = c2pa_test_chain(ed25519_leaf=ed25519_leaf)
    source = io.BytesIO()
    Image.new("RGB", (32, 32), (90, 20, 160)).save(source, "JPEG")
    signed = sign_c2pa(
        source.getvalue(), "image/jpeg", {"train-ai": "n"}, cert_chain=chain, key=key
    )
    assert signed is not None
    found = c2pa_signal(signed, "image/jpeg")
    assert found is not None
    assert found.prefs == {"train-ai": "n"}
    # search has no CAWG entry: nothing to sign
    assert (
        sign_c2pa(source.getvalue(), "image/jpeg", {"search": "n"}, cert_chain=chain, key=key)
        is None
    )
    with pytest.raises(SignalsError, match="PEM private key"):
        sign_c2pa(source.getvalue(), "image/jpeg", {"train-ai": "n"}, cert_chain=chain, key=b"x")
