"""Every opt-out signal, written from a creator's current declarations (``consent signals``).

One declaration, every signal a crawler might read. From the works the creator currently
declares (the local receipts, or the node's answers) and the site where they are published,
this module writes into an output folder:

- ``robots.txt``: lines to add to the site's robots.txt: a ``User-Agent: *`` group with one
  AIPREF ``Content-Usage: /path$ statement`` rule per work (draft-ietf-aipref-attach,
  "Content-Usage Rules in robots.txt"; the statement in the canonical form of spec §3.3.3),
  a ``License:`` line naming the RSL file (RSL 1.0 §"robots.txt discovery"), and, with
  ``site_wide``, an unscoped ``Content-Usage`` rule and Cloudflare's ``Content-Signal`` line
  (which has no path: it states the preference for the whole site);
- ``ai.txt``: Spawning's file (robots.txt syntax: ``User-Agent: *`` and a ``Disallow`` rule per
  reserved work, spec §3.4.2 item 7);
- ``.well-known/tdmrep.json``: W3C TDMRep ("TDM Reservation Protocol", Final Community Group
  Report, §"JSON file on the origin server"): one ``{"location", "tdm-reservation": 1}`` rule
  per reserved work;
- ``_headers``: the response headers each work should be served with, in the ``_headers``
  format of Netlify and Cloudflare Pages (a path line, then indented ``Name: value`` lines):
  ``Content-Usage`` (draft-ietf-aipref-attach, "Content-Usage HTTP Header Field"),
  ``tdm-reservation`` (TDMRep §"HTTP headers"), ``Content-Signal``, ``X-Robots-Tag``
  ``noai, noimageai`` and a ``Link: <license.xml>; rel="license"`` for RSL;
- ``license.xml``: an RSL 1.0 document (``<rsl xmlns="https://rslstandard.org/rsl">``), one
  ``<content url=...>`` per work with ``<permits type="usage">`` / ``<prohibits
  type="usage">`` (RSL 1.0 §"Element: <permits>", §"Element: <prohibits>");
- ``images/``: a copy of each JPEG or PNG work with the reservation in XMP (IPTC Photo
  Metadata 2023.1 "Data Mining", property ``plus:DataMining`` of the PLUS LDF XMP namespace,
  value a PLUS vocabulary URI), in a JPEG APP1 segment or a PNG ``iTXt`` chunk (Pillow), and,
  given a signing certificate, a C2PA manifest with the CAWG ``cawg.training-mining``
  assertion (CAWG 1.1 "Training and Data Mining", via c2pa-python).

Every value comes from the one mapping table (``registry.core.prefs``, spec §3.4): a format
that cannot express a preference (``y`` in ``ai.txt``, ``search`` in XMP...) omits it.
:mod:`consent.signals` reads every one of these back.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from consent.client import ConsentClient
from consent.errors import ConsentError
from consent.exports import read_member
from consent.proofs import verifier_from_key, verify_view
from consent.receipts import ReceiptStore
from registry.core.prefs import (
    combine,
    format_content_usage,
    to_ai_txt,
    to_cawg,
    to_content_signals,
    to_plus_data_mining,
    to_robots_tags,
    to_rsl,
    to_tdmrep,
)
from registry.core.records import Declaration

__all__ = [
    "PLUS_NS",
    "CurrentWork",
    "SignalFiles",
    "SignalsError",
    "ai_txt",
    "current_works",
    "embed_xmp",
    "headers_file",
    "robots_txt",
    "rsl_xml",
    "run_signals",
    "sign_c2pa",
    "tdmrep_json",
    "works_from_node",
    "write_signals",
    "xmp_packet",
]

PLUS_NS: Final = "http://ns.useplus.org/ldf/xmp/1.0/"
RSL_NS: Final = "https://rslstandard.org/rsl"
_HEADER_COMMENT: Final = "# consent-registry: AI usage preferences of the works declared by"


class SignalsError(ConsentError):
    """The signals cannot be written (no works, a bad base URL, a signing failure)."""


@dataclass(frozen=True)
class CurrentWork:
    """A work the creator currently declares: its statement, URLs and local files."""

    sha256: str
    prefs: Mapping[str, str]
    urls: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    media_type: str | None = None
    archived: tuple[tuple[str, str], ...] = ()
    """(export, member) pairs: where a work imported from a data export is (its export map)."""

    def paths_on(self, base: str) -> list[str]:
        """The URL paths of this work on the site at ``base`` (its URLs under ``base``)."""
        root = urlsplit(base)
        prefix = root.path.rstrip("/") + "/"
        out = []
        for url in self.urls:
            parts = urlsplit(url)
            if (parts.scheme, parts.netloc) == (root.scheme, root.netloc) and (
                parts.path.startswith(prefix) or root.path in ("", "/")
            ):
                out.append(parts.path)
        return sorted(set(out))


# --- the creator's current works ----------------------------------------------------------------


def _current_from_records(
    records: Iterable[tuple[str, Declaration]], files: Mapping[str, Sequence[str]]
) -> list[CurrentWork]:
    """Spec §3.5.2-§3.5.3 for one creator: drop superseded declarations, then per work the
    latest (issued_at, id) wins; a winning withdrawal leaves no claim."""
    held = dict(records)
    superseded = {old for record in held.values() for old in record.supersedes if old in held}
    winners: dict[str, tuple[int, str]] = {}
    for declaration_id, record in held.items():
        if declaration_id in superseded:
            continue
        for work in record.works:
            key = (record.issued_at, declaration_id)
            if work.sha256 not in winners or key > winners[work.sha256]:
                winners[work.sha256] = key
    out = []
    for sha256, (_, declaration_id) in sorted(winners.items()):
        record = held[declaration_id]
        if record.withdraw or not record.prefs:
            continue
        work = next(w for w in record.works if w.sha256 == sha256)
        out.append(
            CurrentWork(
                sha256=sha256,
                prefs=dict(record.prefs),
                urls=tuple(work.urls),
                files=tuple(files.get(sha256, ())),
                media_type=work.media_type,
            )
        )
    return out


def _archived(store: ReceiptStore) -> dict[str, list[tuple[str, str]]]:
    """SHA-256 -> (export, member) from the export maps ``consent declare --from-export``
    keeps in ``<receipts>/exports/``."""
    found: dict[str, list[tuple[str, str]]] = {}
    for path in sorted((store.folder / "exports").glob("*.json")):
        try:
            document = json.loads(path.read_bytes())
            for sha256, items in dict(document.get("works", {})).items():
                for item in items:
                    found.setdefault(sha256, []).append((str(item["export"]), str(item["file"])))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # a damaged map only loses the image copies of its works
    return found


def _with_archived(works: list[CurrentWork], store: ReceiptStore) -> list[CurrentWork]:
    archived = _archived(store)
    return [
        dataclasses.replace(work, archived=tuple(archived.get(work.sha256, ()))) for work in works
    ]


def current_works(store: ReceiptStore, did: str) -> list[CurrentWork]:
    """The works ``did`` currently declares, by the local receipts (every node's)."""
    records: dict[str, Declaration] = {}
    files: dict[str, list[str]] = {}
    for stored in store:
        record = stored.record
        if record.creator != did:
            continue
        records[stored.id] = record
        for sha256, paths in stored.files.items():
            files.setdefault(sha256, [])
            files[sha256] += [p for p in paths if p not in files[sha256]]
    return _with_archived(_current_from_records(records.items(), files), store)


# --- site files ---------------------------------------------------------------------------------


def _by_path(works: Sequence[CurrentWork], base: str) -> list[tuple[str, CurrentWork]]:
    return sorted((path, work) for work in works for path in work.paths_on(base))


def _license_url(base: str) -> str:
    """Where the RSL file goes: ``/license.xml`` at the site's root, like robots.txt."""
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}/license.xml"


def _site_statement(works: Sequence[CurrentWork]) -> dict[str, str]:
    """The statement for the whole site: the works' statements combined (any disallow wins,
    spec §3.2), so that no work is stated more permissively than its own declaration."""
    return combine(work.prefs for work in works)


def robots_txt(
    works: Sequence[CurrentWork], base: str, *, did: str, site_wide: bool = False
) -> str:
    """robots.txt lines: a ``User-Agent: *`` group of AIPREF ``Content-Usage`` rules, one per
    work path (``$``: that path exactly, RFC 9309 §2.2.3), the RSL ``License:`` line and, with
    ``site_wide``, an unscoped ``Content-Usage`` rule and a ``Content-Signal`` line."""
    lines = [f"{_HEADER_COMMENT} {did}", "User-Agent: *"]
    for path, work in _by_path(works, base):
        statement = format_content_usage(work.prefs)
        if statement:  # draft-ietf-aipref-attach: "Content-Usage: [path] statement"
            lines.append(f"Content-Usage: {path}$ {statement}")
    if site_wide:
        site = _site_statement(works)
        if format_content_usage(site):
            lines.append(f"Content-Usage: {format_content_usage(site)}")
        signal = to_content_signals(site)
        if signal:
            lines.append(f"Content-Signal: {signal}")
    lines.append(f"License: {_license_url(base)}")
    return "\n".join(lines) + "\n"


def ai_txt(works: Sequence[CurrentWork], base: str, *, did: str) -> str:
    """Spawning's ``ai.txt``: a ``Disallow`` rule per work path whose statement maps to one."""
    lines = [f"{_HEADER_COMMENT} {did}", "User-Agent: *"]
    for path, work in _by_path(works, base):
        rule = to_ai_txt(work.prefs)
        if rule:
            lines.append(f"{rule}: {path}$")
    return "\n".join(lines) + "\n"


def tdmrep_json(works: Sequence[CurrentWork], base: str) -> str:
    """``/.well-known/tdmrep.json``: ``{"location": path, "tdm-reservation": 1}`` per reserved
    work path (TDMRep: a location is a path pattern; the first matching rule applies)."""
    rules = []
    for path, work in _by_path(works, base):
        fields = to_tdmrep(work.prefs)
        if fields:
            rules.append({"location": path, **fields})
    return json.dumps(rules, indent=2) + "\n"


def _headers_for(prefs: Mapping[str, str], license_url: str) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    usage = format_content_usage(prefs)
    if usage:
        headers.append(("Content-Usage", usage))
    for name, value in to_tdmrep(prefs).items():
        headers.append((name, str(value)))
    signal = to_content_signals(prefs)
    if signal:
        headers.append(("Content-Signal", signal))
    tags = to_robots_tags(prefs)
    if tags:
        headers.append(("X-Robots-Tag", tags))
    headers.append(("Link", f'<{license_url}>; rel="license"; type="application/rsl+xml"'))
    return headers


def headers_file(works: Sequence[CurrentWork], base: str) -> str:
    """The ``_headers`` file (Netlify / Cloudflare Pages format): per work path, the response
    headers that carry its statement."""
    license_url = _license_url(base)
    blocks = []
    for path, work in _by_path(works, base):
        lines = [path] + [f"  {n}: {v}" for n, v in _headers_for(work.prefs, license_url)]
        blocks.append("\n".join(lines))
    return "\n".join(blocks) + "\n"


def rsl_xml(works: Sequence[CurrentWork], base: str) -> str:
    """An RSL 1.0 document: a ``<content url>`` per work path with its usage permits and
    prohibits (RSL 1.0: ``url`` is a path with RFC 9309 matching, ``$`` the end)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f'<rsl xmlns="{RSL_NS}">']
    for path, work in _by_path(works, base):
        usage = to_rsl(work.prefs)
        if not usage["permits"] and not usage["prohibits"]:
            continue
        out.append(f"  <content url={quoteattr(path + '$')}>")
        out.append("    <license>")
        for element in ("permits", "prohibits"):
            if usage[element]:
                tokens = escape(" ".join(usage[element]))
                out.append(f'      <{element} type="usage">{tokens}</{element}>')
        out.append("    </license>")
        out.append("  </content>")
    out.append("</rsl>")
    return "\n".join(out) + "\n"


# --- embedded metadata --------------------------------------------------------------------------


def xmp_packet(prefs: Mapping[str, str]) -> bytes | None:
    """An XMP packet with ``plus:DataMining`` for ``prefs`` (None if no value applies)."""
    value = to_plus_data_mining(prefs)
    if not value:
        return None
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about="" xmlns:plus="{PLUS_NS}">\n'
        f"   <plus:DataMining>{escape(value)}</plus:DataMining>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()


def embed_xmp(data: bytes, packet: bytes) -> tuple[bytes, str]:
    """A copy of a JPEG or PNG image with ``packet`` as its XMP; returns (bytes, media type).

    JPEG: Pillow writes the packet in an APP1 segment and keeps the quantisation tables
    (``quality="keep"``), the EXIF and the ICC profile. PNG: an ``iTXt`` chunk with keyword
    ``XML:com.adobe.xmp`` (the XMP specification part 3's PNG embedding), pixels unchanged.

    Raises:
        SignalsError: the image is neither JPEG nor PNG.
    """
    with Image.open(io.BytesIO(data)) as image:
        out = io.BytesIO()
        if image.format == "JPEG":
            options: dict[str, object] = {"quality": "keep", "xmp": packet}
            for key in ("exif", "icc_profile"):
                if image.info.get(key):
                    options[key] = image.info[key]
            image.save(out, "JPEG", **options)
            return out.getvalue(), "image/jpeg"
        if image.format == "PNG":
            info = PngImagePlugin.PngInfo()
            info.add_itxt("XML:com.adobe.xmp", packet.decode("utf-8"))
            image.save(out, "PNG", pnginfo=info)
            return out.getvalue(), "image/png"
        raise SignalsError(f"a {image.format} image cannot carry XMP here (JPEG and PNG can)")


def sign_c2pa(
    data: bytes,
    media_type: str,
    prefs: Mapping[str, str],
    *,
    cert_chain: bytes,
    key: bytes,
    title: str = "work",
) -> bytes | None:
    """Sign ``data`` with a C2PA manifest holding a ``cawg.training-mining`` assertion.

    ``cert_chain``: PEM certificates (signer first); ``key``: its PEM private key (EC P-256:
    ES256, Ed25519: Ed25519). None if the statement maps to no CAWG entry.

    Raises:
        SignalsError: c2pa-python is missing, or signing failed.
    """
    assertion = to_cawg(prefs)
    if not assertion["entries"]:
        return None
    try:
        import c2pa  # type: ignore[import-untyped]  # noqa: PLC0415 - optional extra
        from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: PLC0415
        from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
            load_pem_private_key,
        )
    except ImportError as exc:  # pragma: no cover - the c2pa extra is installed in tests
        raise SignalsError("C2PA signing needs the c2pa extra (pip install ...[c2pa])") from exc
    try:
        private = load_pem_private_key(key, password=None)
    except ValueError as exc:
        raise SignalsError(f"the signing key is not a PEM private key: {exc}") from exc
    alg = b"ed25519" if isinstance(private, ed25519.Ed25519PrivateKey) else b"es256"
    # C2PA 2.x §"Actions": a manifest's first action is c2pa.created or c2pa.opened; an
    # existing work is "opened", naming its parent ingredient (the file itself).
    manifest = {
        "claim_generator_info": [{"name": "consent-registry", "version": "1"}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["original"]}}
                    ]
                },
            },
            {"label": "cawg.training-mining", "data": assertion},
        ],
    }
    parent = {"title": title, "relationship": "parentOf", "label": "original"}
    out = io.BytesIO()
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg, cert_chain, key, None))
        with c2pa.Builder(manifest) as builder:
            builder.add_ingredient(json.dumps(parent), media_type, io.BytesIO(data))
            builder.sign(signer, media_type, io.BytesIO(data), out)
    except Exception as exc:  # c2pa raises many kinds; all mean "could not sign"
        raise SignalsError(f"C2PA signing failed: {exc}") from exc
    return out.getvalue()


# --- the whole output folder --------------------------------------------------------------------


@dataclass
class SignalFiles:
    """What :func:`write_signals` wrote, and what it could not."""

    files: list[Path] = field(default_factory=list)
    images: list[tuple[str, Path]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary (the CLI's ``--json`` output)."""
        return {
            "files": [str(p) for p in self.files],
            "images": [{"sha256": s, "file": str(p)} for s, p in self.images],
            "skipped": [{"work": w, "reason": r} for w, r in self.skipped],
        }


def _copy_name(work: CurrentWork, name: str, taken: set[str]) -> str:
    if name in taken:
        name = f"{work.sha256[:12]}-{name}"
    taken.add(name)
    return name


def write_signals(
    works: Sequence[CurrentWork],
    out: Path,
    *,
    did: str,
    base: str | None,
    site_wide: bool = False,
    images: bool = True,
    cert_chain: bytes | None = None,
    key: bytes | None = None,
) -> SignalFiles:
    """Write every signal for ``works`` into ``out`` (see the module docstring).

    Site files need ``base``, the URL where the works are published (works without a URL
    under it get no rule). Image copies need the work's local file, unchanged (its SHA-256 is
    checked).

    Raises:
        SignalsError: signing failed.
    """
    report = SignalFiles()
    out.mkdir(parents=True, exist_ok=True)

    def put(relative: str, data: bytes) -> Path:
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        report.files.append(path)
        return path

    if base:
        put("robots.txt", robots_txt(works, base, did=did, site_wide=site_wide).encode())
        put("ai.txt", ai_txt(works, base, did=did).encode())
        put(".well-known/tdmrep.json", tdmrep_json(works, base).encode())
        put("_headers", headers_file(works, base).encode())
        put("license.xml", rsl_xml(works, base).encode())
        for work in works:
            if not work.paths_on(base):
                report.skipped.append((work.sha256, f"no URL under {base}: no site rules"))
    if not images:
        return report
    taken: set[str] = set()
    for work in works:
        packet = xmp_packet(work.prefs)
        if packet is None:
            report.skipped.append((work.sha256, "its statement has no XMP Data Mining value"))
            continue
        source = _local_copy(work)
        if source is None:
            report.skipped.append((work.sha256, "no local JPEG or PNG file with its bytes"))
            continue
        source_name, data = source
        try:
            data, media_type = embed_xmp(data, packet)
        except (SignalsError, OSError, UnidentifiedImageError) as exc:
            report.skipped.append((work.sha256, f"{source_name}: {exc}"))
            continue
        if cert_chain is not None and key is not None:
            signed = sign_c2pa(
                data, media_type, work.prefs, cert_chain=cert_chain, key=key, title=source_name
            )
            data = signed if signed is not None else data
        name = _copy_name(work, source_name, taken)
        report.images.append((work.sha256, put(f"images/{name}", data)))
    return report


_IMAGE_SUFFIXES: Final = (".jpg", ".jpeg", ".png")


def _local_copy(work: CurrentWork) -> tuple[str, bytes] | None:
    """(name, bytes) of the first local JPEG or PNG file that still holds the work's bytes:
    one of its declared files, or its member of the data export it was imported from."""
    for name in work.files:
        path = Path(name)
        if path.suffix.lower() not in _IMAGE_SUFFIXES:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == work.sha256:
            return path.name, data
    for export, member in work.archived:
        if PurePosixPath(member).suffix.lower() not in _IMAGE_SUFFIXES:
            continue
        try:
            data = read_member(Path(export), member)
        except (ConsentError, OSError, KeyError, zipfile.BadZipFile):
            continue
        if hashlib.sha256(data).hexdigest() == work.sha256:
            return PurePosixPath(member).name, data
    return None


# --- the command: consent signals ---------------------------------------------------------------


def works_from_node(
    client: ConsentClient,
    did: str,
    files: Mapping[str, Sequence[str]],
    *,
    node_key: str | None = None,
) -> list[CurrentWork]:
    """The works ``did`` currently declares, by the node's answers: every declaration the
    node lists for the creator, each verified against the node's key (signature and
    inclusion), resolved as spec §3.5 says. ``node_key``: the pinned verifier key (default:
    the one the node presents)."""
    verifier = verifier_from_key(node_key or client.info().verifier_key)
    records = []
    for declaration in client.creator(did).declarations:
        view = client.declaration(declaration.id)
        records.append((declaration.id, verify_view(view, verifier).record))
    return _current_from_records(records, files)


def _selected(works: list[CurrentWork], args: argparse.Namespace) -> list[CurrentWork]:
    wanted = set(args.sha256 or [])
    if args.paths:
        from consent.fingerprint import iter_files, sha256_of  # noqa: PLC0415

        try:
            wanted |= {sha256_of(p) for p in iter_files([Path(p) for p in args.paths])}
        except FileNotFoundError as exc:
            raise SignalsError(str(exc)) from exc
    return [w for w in works if w.sha256 in wanted] if wanted else works


def run_signals(
    args: argparse.Namespace,
    *,
    receipts: Path,
    key_path: Path,
    make_client: Callable[[argparse.Namespace], ConsentClient],
    emit: Callable[[argparse.Namespace, object, str], None],
) -> int:
    """``consent signals``: write every signal for the creator's current declarations."""
    from consent.keyfile import read_did  # noqa: PLC0415

    did = args.did or read_did(key_path)
    store = ReceiptStore(receipts)
    local = current_works(store, did)
    if args.from_node:
        files = {w.sha256: list(w.files) for w in local}
        with make_client(args) as client:
            pinned = store.pinned_key(client.base_url)
            works = _with_archived(works_from_node(client, did, files, node_key=pinned), store)
    else:
        works = local
    works = _selected(works, args)
    if not works:
        raise SignalsError(
            f"no current declarations of {did} to write signals for"
            + ("" if args.from_node else f" in {receipts} (try --from-node)")
        )
    cert = key = None
    if args.sign_cert or args.sign_key:
        if not (args.sign_cert and args.sign_key):
            raise SignalsError("C2PA signing needs both --sign-cert and --sign-key")
        cert, key = Path(args.sign_cert).read_bytes(), Path(args.sign_key).read_bytes()
    written = write_signals(
        works,
        Path(args.out),
        did=did,
        base=args.base_url,
        site_wide=args.site_wide,
        images=not args.no_images,
        cert_chain=cert,
        key=key,
    )
    lines = [f"wrote {path}" for path in written.files]
    lines += [f"skipped {sha[:16]}: {reason}" for sha, reason in written.skipped]
    lines.append(
        f"signals for {len(works)} works: {len(written.files) - len(written.images)} site "
        f"files, {len(written.images)} images" + ("" if args.base_url else " (no --base-url)")
    )
    emit(args, {"works": len(works), **written.to_json()}, "\n".join(lines))
    return 0
