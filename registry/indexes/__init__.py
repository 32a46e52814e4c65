"""Read models derived from the logs (LAYOUT.md): the persistent consent/URL/creator index
(:mod:`registry.indexes.store`), the near-duplicate index (:mod:`registry.indexes.near`) and the
offline snapshots (:mod:`registry.indexes.snapshots`)."""
