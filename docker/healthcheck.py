#!/usr/bin/env python3
"""Container health check: exit 0 if the node on this container answers ``/healthz`` with 200.

The image has no curl (python:3.11-slim); this uses only the standard library. The port is
``REGISTRY_PORT`` (default 8000); the node listens on every address, so 127.0.0.1 reaches it.
Exit status 1 (unhealthy) on any error, with one line on stderr saying why.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    """Probe ``/healthz`` once (spec §6.9); return the process exit status."""
    port = os.environ.get("REGISTRY_PORT", "8000")
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            body = json.loads(response.read())
    except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts, bad JSON
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if not isinstance(body, dict) or body.get("status") != "ok":
        print(f"unhealthy: {url} answered {body!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
