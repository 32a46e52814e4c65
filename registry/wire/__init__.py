"""The HTTP wire contract (spec §6-§8): msgspec Structs and the problem types, nothing else.

Imported by the node (which encodes its answers with them and decodes requests) and by the SDK
(which decodes the node's answers with them), so both sides share one definition. This package
needs only msgspec and :mod:`registry.core` (no web framework, no database), like the core.
"""

from registry.wire import messages, problems
from registry.wire.messages import *  # noqa: F403 - the package re-exports both modules whole
from registry.wire.problems import *  # noqa: F403

__all__: list[str] = []
__all__ += messages.__all__
__all__ += problems.__all__
