"""consent-registry: a signed, federated registry of creators' "do not train" declarations.

``registry.core`` is the protocol (pure, needs only msgspec and cryptography); the rest of the
package is the node (Litestar, SQLAlchemy), installed with the ``node`` extra.
"""

__version__ = "0.1.0"
