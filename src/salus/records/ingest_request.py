"""How a member's signed ingest request travels with an ingest call (the client's side).

The member calling ``POST /v1/records/{custodian}/ingest`` (or ``/binary``) signs a
``records.ingest`` envelope (:mod:`salus.records.contracts.request`) over
``{custodian, patient, body}`` and sends it base64 in the ``Salus-Request`` header.
``body`` is the SHA-256 hex of the exact request body, or, when a ``Salus-Request-Salt``
header (base64 of 16 to 64 random bytes) is sent, of the salt followed by the body. The
request goes onto the ledger inside every registration it authorises, and a plain hash of
a short, guessable body could be confirmed by hashing guesses (the reason the ledger's
content hashes are of ciphertext): the SDK always salts.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from salus.identity import Identity
from salus.ledger import transaction

REQUEST_HEADER = "Salus-Request"
SALT_HEADER = "Salus-Request-Salt"
SALT_BYTES = 16
MIN_SALT_BYTES, MAX_SALT_BYTES = 16, 64


def body_digest(body: bytes, salt: bytes | None = None) -> str:
    """What a request's ``body`` must be for this exact request body (and salt)."""
    return hashlib.sha256((salt or b"") + body).hexdigest()


def signed_headers(signer: Identity, *, chain: str, custodian: str, patient: str, body: bytes,
                   nonce: int, time: int, salt: bytes | None = None) -> dict[str, str]:
    """The headers that carry a freshly signed ingest request for ``body``. A random salt
    is made unless one is given (pass ``b""`` for none)."""
    if salt is None:
        salt = secrets.token_bytes(SALT_BYTES)
    raw = transaction.encode(signer, chain=chain, contract="records", method="ingest",
                             args={"custodian": custodian, "patient": patient,
                                   "body": body_digest(body, salt)},
                             nonce=nonce, time=time)
    headers = {REQUEST_HEADER: base64.b64encode(raw).decode()}
    if salt:
        headers[SALT_HEADER] = base64.b64encode(salt).decode()
    return headers
