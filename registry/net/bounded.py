"""Reading an untrusted server's answer with a byte limit counted after decompression.

An answer is read as a stream and dropped as soon as it exceeds the limit, so a server cannot
make the node hold more than ``limit + 1`` bytes: neither by announcing or sending a large body,
nor by a gzip bomb (inflated here in bounded steps, never more output than the limit allows).
Callers ask for ``Accept-Encoding: gzip`` only; any other encoding is refused.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import httpx

__all__ = ["BodyEncodingError", "BodyTooLargeError", "BoundedReadError", "read_bounded"]


class BoundedReadError(Exception):
    """The answer's body could not be read within its limits."""


class BodyTooLargeError(BoundedReadError):
    """The body is larger (after decompression) than the caller accepts."""


class BodyEncodingError(BoundedReadError):
    """The body has an unrequested content encoding, or is gzip that does not inflate."""


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The body of a streamed ``response``, inflated if gzip-encoded, of at most ``limit``
    bytes.

    Raises:
        BodyTooLargeError: the body, decompressed, exceeds ``limit`` bytes (reading stops at
            once: at most ``limit + 1`` bytes are ever held).
        BodyEncodingError: an encoding other than gzip, or a gzip stream that does not inflate.
        httpx.HTTPError: the connection failed while reading.
    """
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    declared = response.headers.get("content-length", "")
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(f"announces {declared} bytes; at most {limit} are accepted")
    body = bytearray()
    chunks: AsyncIterator[bytes] = response.aiter_raw()
    if encoding in ("", "identity"):
        async for chunk in chunks:
            body += chunk
            if len(body) > limit:
                raise BodyTooLargeError(f"answer larger than {limit} bytes")
        return bytes(body)
    if encoding not in ("gzip", "x-gzip"):
        raise BodyEncodingError(f"unrequested content encoding {encoding!r}")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    received = False
    try:
        async for chunk in chunks:
            received = received or bool(chunk)
            data = chunk
            while data and not inflater.eof:
                # never more output than the limit allows: a bomb stops here
                body += inflater.decompress(data, limit + 1 - len(body))
                if len(body) > limit:
                    raise BodyTooLargeError(f"answer larger than {limit} bytes once inflated")
                data = inflater.unconsumed_tail
        body += inflater.flush()
    except zlib.error as exc:
        raise BodyEncodingError(f"gzip body does not inflate: {exc}") from None
    if received and not inflater.eof:
        # an empty body is empty (some servers label a bodiless answer gzip); a started
        # stream must end, or the bytes kept would be a silently cut document
        raise BodyEncodingError("gzip body is truncated")
    if len(body) > limit:
        raise BodyTooLargeError(f"answer larger than {limit} bytes once inflated")
    return bytes(body)
