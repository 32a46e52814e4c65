"""How the node serves the web app (registry/http/controllers/web.py), and that what it serves
is exactly what the sources in web/ build."""

from __future__ import annotations

import filecmp
import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx

from registry.http.controllers.web import CSP, STATIC_DIR
from tests.web.support import ROOT

MANIFEST = json.loads((STATIC_DIR / "manifest.json").read_text())


def test_served_app_is_what_the_sources_build(tmp_path: Path) -> None:
    """`make web` was run after the last change to web/ or clients/js (else: run it)."""
    out = tmp_path / "web"
    node = shutil.which("node")
    assert node is not None, "Node.js is needed to rebuild the web app"
    subprocess.run([node, "build.mjs", "--out", str(out)], cwd=ROOT / "web", check=True)
    comparison = filecmp.dircmp(out, STATIC_DIR)
    differing: list[str] = []

    def walk(c: filecmp.dircmp[str], prefix: str) -> None:
        differing.extend(prefix + n for n in c.left_only + c.right_only)
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        differing.extend(prefix + n for n in mismatch + errors)
        for name, sub in c.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(comparison, "")
    assert differing == [], "registry/http/static/web is stale: run `make web`"


def test_page_headers(node: str) -> None:
    page = httpx.get(node + "/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["content-security-policy"] == CSP
    assert "default-src 'none'" in CSP
    assert "connect-src 'self'" in CSP
    # every script and style sheet the page loads is one of the node's own assets
    refs = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', page.text)
    assert refs
    assert all(ref.startswith("assets/") for ref in refs)


def test_assets_immutable_typed_and_compressed(node: str) -> None:
    for path, kind in [
        (MANIFEST["app"], "text/javascript; charset=utf-8"),
        (MANIFEST["worker"], "text/javascript; charset=utf-8"),
        (MANIFEST["css"], "text/css; charset=utf-8"),
        (MANIFEST["icon"], "image/svg+xml"),
    ]:
        plain = httpx.get(f"{node}/{path}", headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200
        assert plain.headers["content-type"] == kind
        assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert plain.headers["x-content-type-options"] == "nosniff"
        assert "content-encoding" not in plain.headers
        assert plain.content == (STATIC_DIR / path).read_bytes()
        packed = httpx.get(f"{node}/{path}", headers={"Accept-Encoding": "gzip"})
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.content == plain.content  # httpx decodes it
        assert int(packed.headers["content-length"]) < len(plain.content)


def test_unknown_assets_are_problems(node: str) -> None:
    for path in ["/assets/nope.js", "/assets/..%2Fmanifest.json", "/assets/.hidden"]:
        answer = httpx.get(node + path)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"


def test_schema_viewer_needs_no_internet(node: str) -> None:
    """/schema loads Swagger UI from the node itself (no CDN): every URL it names is local."""
    for path in ["/schema", "/schema/swagger"]:
        html = httpx.get(node + path).text
        urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", html)
        assert {u for u in urls if not u.startswith("/assets/")} == set()
        for url in urls:
            assert httpx.get(node + url).status_code == 200
    assert "SwaggerUIBundle" in httpx.get(f"{node}/{MANIFEST['swagger']['js']}").text
    assert httpx.get(f"{node}/licenses/swagger-ui-dist.LICENSE.txt").status_code == 200
