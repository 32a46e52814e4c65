"""consent-registry client SDK: declare works as a creator, check them as a crawler.

Public API (everything else is internal)::

    ConsentClient, AsyncConsentClient, RetryPolicy      HTTP clients for a node (spec §6)
    Creator                                             declare / withdraw / change, with receipts
    fingerprint, pdq_distance                           local fingerprints of a work
    generate_key, save_key, load_key                    passphrase-protected creator keys
    SignalEvaluator, AsyncSignalEvaluator, Verdict      every opt-out signal for a URL or file
    verify_entry, VerifiedDeclaration                   offline proof checking
    ConsentError and subclasses                         errors (consent.errors)

The protocol itself (records, keys, receipts) is ``registry.core``, shared with the node.
"""

from consent._version import __version__
from consent.answers import Answer
from consent.client import AsyncConsentClient, ConsentClient, RetryPolicy
from consent.errors import (
    ConsentError,
    KeyFileError,
    NodeError,
    NotSupportedError,
    ReceiptStoreError,
    TransportError,
    VerificationError,
)
from consent.fingerprint import Fingerprint, fingerprint, pdq_distance
from consent.keyfile import generate_key, load_key, read_did, save_key
from consent.proofs import VerifiedDeclaration, verify_entry
from registry.wire import IsccResult, PdqResult, WorkAnswer

__all__ = [
    "Answer",
    "AsyncConsentClient",
    "ConsentClient",
    "ConsentError",
    "Fingerprint",
    "IsccResult",
    "KeyFileError",
    "NodeError",
    "NotSupportedError",
    "PdqResult",
    "ReceiptStoreError",
    "RetryPolicy",
    "TransportError",
    "VerificationError",
    "VerifiedDeclaration",
    "WorkAnswer",
    "__version__",
    "fingerprint",
    "generate_key",
    "load_key",
    "pdq_distance",
    "read_did",
    "save_key",
    "verify_entry",
]
