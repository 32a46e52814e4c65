"""The web app at ``/`` and its assets at ``/assets/<name>`` (issue 13; README "The web app").

The app is built from ``web/`` (``make web``) into ``registry/http/static/web/``, which ships
with the package, so a node needs no Node.js and no internet: every script, style sheet and
icon the app or ``/schema`` loads comes from here. Asset names carry a hash of their content
and are served as immutable; ``index.html`` is revalidated on every load. Compressible assets
are gzip-compressed once, on first request, when the client accepts it.

The page's Content-Security-Policy allows only the node itself: scripts, styles, the hashing
worker and every ``fetch`` go to the same origin; images only from the page's own blob URLs.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.types import ControllerRouterHandler

from registry.http.hygiene import CONTENT_SECURITY_POLICY
from registry.http.problems import ProblemError

__all__ = ["CSP", "HANDLERS", "STATIC_DIR", "WebAssets", "web_assets"]

STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "static" / "web"

CSP: Final = CONTENT_SECURITY_POLICY  # one policy for every answer (registry/http/hygiene.py)
IMMUTABLE: Final = "public, max-age=31536000, immutable"

_TYPES: Final = {
    # Litestar adds "; charset=utf-8" to text/* types itself.
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".txt": "text/plain",
}
_COMPRESSIBLE: Final = frozenset({".js", ".css", ".html", ".svg", ".json", ".txt"})
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


@dataclass
class WebAssets:
    """The built app in ``directory``: its page, its asset files and their manifest."""

    directory: Path
    _gzipped: dict[str, bytes] = field(default_factory=dict)

    def manifest(self) -> dict[str, object]:
        """``manifest.json`` of the build (empty if the app was not built)."""
        try:
            document = json.loads((self.directory / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return document if isinstance(document, dict) else {}

    def swagger_urls(self) -> dict[str, str] | None:
        """Paths of the Swagger UI assets for ``/schema``, or None without a build."""
        swagger = self.manifest().get("swagger")
        if not isinstance(swagger, dict):
            return None
        return {str(k): "/" + str(v) for k, v in swagger.items()}

    def read(self, relative: str, *, gzip_ok: bool) -> tuple[bytes, bool]:
        """The bytes of ``relative`` (gzip-compressed when ``gzip_ok`` and worth it).

        Raises:
            ProblemError: not-found, for any name that is not a file of the build.
        """
        parts = relative.split("/")
        if not all(_NAME.fullmatch(part) for part in parts):
            raise ProblemError("not-found", f"/{relative} is not part of the web app")
        path = self.directory.joinpath(*parts)
        if not path.is_file():
            raise ProblemError("not-found", f"/{relative} is not part of the web app")
        if gzip_ok and path.suffix in _COMPRESSIBLE:
            packed = self._gzipped.get(relative)
            if packed is None:
                packed = gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
                self._gzipped[relative] = packed
            return packed, True
        return path.read_bytes(), False


@cache
def web_assets() -> WebAssets:
    """The web app shipped with this package."""
    return WebAssets(STATIC_DIR)


def _serve(request: Request[Any, Any, Any], relative: str, cache: str) -> Response[bytes]:
    gzip_ok = "gzip" in request.headers.get("accept-encoding", "")
    data, packed = web_assets().read(relative, gzip_ok=gzip_ok)
    headers = {
        "Cache-Control": cache,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if packed:
        headers["Content-Encoding"] = "gzip"
    suffix = Path(relative).suffix
    if suffix == ".html":
        headers["Content-Security-Policy"] = CSP
        headers["Referrer-Policy"] = "no-referrer"
    return Response(
        content=data,
        media_type=_TYPES.get(suffix, "application/octet-stream"),
        headers=headers,
    )


@get("/", include_in_schema=False, sync_to_thread=False)
def index(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The web app's page: creators declare works, anyone checks one, the node's status."""
    # no-cache: revalidated on every load, so a node upgrade reaches browsers at once.
    return _serve(request, "index.html", "no-cache")


@get("/assets/{name:str}", include_in_schema=False, sync_to_thread=False)
def asset(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
    """A script, style sheet or icon of the web app; its name carries its content hash."""
    return _serve(request, f"assets/{name}", IMMUTABLE)


@get("/licenses/{name:str}", include_in_schema=False, sync_to_thread=False)
def license_text(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
    """Licence texts of the third-party code the node serves (Swagger UI)."""
    return _serve(request, f"licenses/{name}", "public, max-age=3600")


HANDLERS: list[ControllerRouterHandler] = [index, asset, license_text]
