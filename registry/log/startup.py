"""Start-up checks and first-start initialisation of a log database."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from registry.core.merkle import EMPTY_ROOT
from registry.core.note import NoteSigner
from registry.log.errors import LogCorruptError, NodeConfigError
from registry.log.integrator import sign_tree_head
from registry.storage.migrate import schema_revision
from registry.storage.repository import Head, LogStore

__all__ = ["check_entries", "check_schema", "init_checkpoint"]


async def check_schema(engine: AsyncEngine) -> None:
    """Refuse a database whose schema is not at this code's newest migration.

    Raises NodeConfigError naming the command that fixes it.
    """
    current, head = await schema_revision(engine)
    if current != head:
        raise NodeConfigError(
            f"the database schema is at revision {current or 'none'}, this node needs {head}: "
            "run `registry db upgrade` (registry.log.upgrade) first"
        )


async def init_checkpoint(store: LogStore, signer: NoteSigner) -> None:
    """Give an empty log its first signed checkpoint (size 0), unless it has one."""
    if await store.head() is None:
        await store.init_head(Head(0, EMPTY_ROOT, sign_tree_head(signer, 0, EMPTY_ROOT)))


async def check_entries(store: LogStore) -> None:
    """Cheap check that the entries end where the checkpoint says (at size - 1).

    Raises LogCorruptError otherwise. (Gaps are found by the full ``verify_log``.)
    """
    head = await store.head()
    last = await store.max_index()
    count = 0 if last is None else last + 1
    if head is None or count != head.size:
        raise LogCorruptError(
            f"the log's checkpoint covers {head.size if head else 0} entries but the entries "
            f"table ends at index {last}; refusing to start (run `registry log verify`)"
        )
