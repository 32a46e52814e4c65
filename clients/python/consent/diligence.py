"""A plug-in for ``datadiligence`` (Spawning's opt-out library, 0.1.x): the consent registry as
one more rule, so an existing pipeline adds it with one line::

    import datadiligence as dd
    import consent.diligence

    consent.diligence.register("https://registry.example")   # the one line
    allowed = dd.is_allowed(urls=["https://site/a.jpg", ...])   # now also asks the registry

:func:`register` adds a :class:`ConsentRegistryRule` to datadiligence's ``preprocess``
evaluator (the one ``dd.is_allowed(urls=...)`` and ``dd.filter_allowed(urls=...)`` use), in
place of datadiligence's stock ``SpawningAPI`` rule (which sends every URL to Spawning's own
host when a ``SPAWNING_OPTS_KEY`` is set: nothing leaves for a third party unless the caller
asks, with ``keep_spawning=True``), and registers a :class:`ConsentRegistryEvaluator` under the
name ``"consent-registry"``, which also checks files by content
(``dd.is_allowed("consent-registry", paths=[...])``): by SHA-256, and images also by PDQ near
duplicate (spec §6.8.3), so a re-encoded or resized copy of a reserved image is reserved too.

datadiligence's API (read from its source): a ``Rule`` has ``is_ready()`` and
``is_allowed(**kwargs)``; a ``BulkRule`` adds ``filter_allowed(**kwargs)``; the preprocess
evaluator calls them with ``urls=[...]`` and expects one bool per URL, in order. An
``Evaluator`` has ``name``, ``rules`` and ``is_allowed(**kwargs)`` / ``filter_allowed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datadiligence as dd  # type: ignore[import-untyped]
from datadiligence.evaluators import Evaluator  # type: ignore[import-untyped]
from datadiligence.rules import BulkRule, SpawningAPI  # type: ignore[import-untyped]

from consent.client import ConsentClient
from consent.errors import ConsentError, InputError, NotSupportedError
from consent.fingerprint import Fingerprint, fingerprint, pdq_query_hashes_of_file, sha256_of

__all__ = ["EVALUATOR_NAME", "ConsentRegistryEvaluator", "ConsentRegistryRule", "register"]

EVALUATOR_NAME = "consent-registry"


class ConsentRegistryRule(BulkRule):  # type: ignore[misc]
    """A datadiligence bulk rule asking a consent-registry node about URLs (or hashes).

    A URL (or SHA-256) is *not* allowed when the registry resolves ``category`` to ``n``.
    ``fail_closed``: when the node cannot be reached, answer "not allowed" instead of raising.
    """

    def __init__(
        self,
        client: ConsentClient,
        *,
        category: str = "train-ai",
        fail_closed: bool = False,
    ) -> None:
        super().__init__()
        self.client = client
        self.category = category
        self.fail_closed = fail_closed

    def is_ready(self) -> bool:
        """Always ready: the registry needs no API key."""
        return True

    def _allowed(self, *, urls: Sequence[str] = (), sha256s: Sequence[str] = ()) -> list[bool]:
        try:
            answers = self.client.check(sha256s=sha256s, urls=urls)
        except ConsentError:
            if self.fail_closed:
                return [False] * (len(urls) + len(sha256s))
            raise
        return [not answer.reserved(self.category) for answer in answers]

    def files_allowed(self, paths: Sequence[str | Path]) -> list[bool]:
        """One bool per file: False if the registry reserves its exact content, or (images)
        a near-duplicate of it by PDQ, asked as ``consent check`` asks (every query hash of
        the image at its distance, spec §6.8.3 item 6: flips, rotations, frame, crops). A node
        without PDQ matching answers by SHA-256 only."""
        fps: list[Fingerprint | None] = []
        for path in paths:
            try:
                fps.append(fingerprint(Path(path), iscc=False, variants=False))
            except InputError:
                fps.append(None)  # empty, or too large to decode: by its bytes only
        sha256s = [
            fp.sha256 if fp else sha256_of(Path(p)) for fp, p in zip(fps, paths, strict=True)
        ]
        allowed = self._allowed(sha256s=sha256s)
        images = [(n, fp) for n, fp in enumerate(fps) if fp is not None and fp.pdq]
        if not images:
            return allowed
        try:
            near = self.client.check_pdq_copies([pdq_query_hashes_of_file(fp) for _, fp in images])
        except NotSupportedError:
            return allowed
        except ConsentError:
            if self.fail_closed:
                return [False] * len(paths)
            raise
        for (n, _), result in zip(images, near, strict=True):
            if result.reserved(self.category):
                allowed[n] = False
        return allowed

    def is_allowed(
        self,
        urls: Sequence[str] | None = None,
        url: str | None = None,
        sha256s: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> list[bool]:
        """One bool per URL (or SHA-256), in order: False where the registry reserves it."""
        if urls is None and url is not None:
            urls = [url]
        return self._allowed(urls=list(urls or []), sha256s=list(sha256s or []))

    def filter_allowed(
        self, urls: Sequence[str] | None = None, url: str | None = None, **kwargs: Any
    ) -> list[str]:
        """The URLs the registry does not reserve, in order."""
        if urls is None and url is not None:
            urls = [url]
        wanted = list(urls or [])
        return [u for u, ok in zip(wanted, self._allowed(urls=wanted), strict=True) if ok]


class ConsentRegistryEvaluator(Evaluator):  # type: ignore[misc]
    """A datadiligence evaluator for the registry: URLs, SHA-256s and local files.

    ``is_allowed(urls=[...])`` / ``(sha256s=[...])`` / ``(paths=[...])``: one bool each;
    ``is_allowed(url=...)`` / ``(path=...)``: one bool.
    """

    name = EVALUATOR_NAME

    def __init__(self, rule: ConsentRegistryRule) -> None:
        super().__init__()
        self.rule = rule
        self.rules.append(rule)

    def is_allowed(self, **kwargs: Any) -> bool | list[bool]:
        """Ask the registry; a single ``url`` or ``path`` gives one bool, lists give lists."""
        if "path" in kwargs:
            return self.rule.files_allowed([kwargs["path"]])[0]
        if "url" in kwargs:
            return self.rule.is_allowed(urls=[kwargs["url"]])[0]
        answers: list[bool] = []
        if kwargs.get("urls") or kwargs.get("sha256s"):
            answers += self.rule.is_allowed(urls=kwargs.get("urls"), sha256s=kwargs.get("sha256s"))
        if kwargs.get("paths"):
            answers += self.rule.files_allowed(list(kwargs["paths"]))
        return answers

    def filter_allowed(self, **kwargs: Any) -> list[str]:
        """The URLs the registry does not reserve."""
        return self.rule.filter_allowed(urls=kwargs.get("urls"))


def register(
    node: str | ConsentClient,
    *,
    category: str = "train-ai",
    fail_closed: bool = False,
    into: str | None = "preprocess",
    keep_spawning: bool = False,
) -> ConsentRegistryEvaluator:
    """Add the consent registry to datadiligence (idempotent per evaluator).

    ``node`` is a node URL or a :class:`ConsentClient`. The rule joins the evaluator named
    ``into`` (default ``"preprocess"``, used by ``dd.is_allowed(urls=...)``; None: none),
    replacing datadiligence's stock ``SpawningAPI`` rule there unless ``keep_spawning``, and
    the ``"consent-registry"`` evaluator is (re-)registered. Returns that evaluator.
    """
    client = node if isinstance(node, ConsentClient) else ConsentClient(node)
    rule = ConsentRegistryRule(client, category=category, fail_closed=fail_closed)
    if into is not None:
        target = dd.get_evaluator(into)
        target.rules = [
            r
            for r in target.rules
            if not isinstance(r, ConsentRegistryRule)
            and (keep_spawning or not isinstance(r, SpawningAPI))
        ]
        target.add_rule(rule)
    evaluator = ConsentRegistryEvaluator(rule)
    dd.register_evaluator(evaluator, overwrite=True)
    return evaluator
