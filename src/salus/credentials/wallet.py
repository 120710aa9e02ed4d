"""The holder's wallet: a directory with the holder's key and their credentials.

::

    wallet/
      holder.key            the holder's Ed25519 key (mode 0600); its did is the subject
                            of every credential the wallet accepts
      credentials/<id>.json one issued credential each, exactly as the issuer sent it

A directory of plain JSON files, so a holder can back it up, read it, or move it to
another device without Salus. Presentations are built from a chosen subset only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from salus.canonical import JSONError, loads_strict
from salus.clock import iso_from_ms, wall_clock_ms
from salus.credentials.anchor_proof import AnchorInvalid, split
from salus.credentials.credentialing import check_request
from salus.credentials.presentation import present
from salus.credentials.types import SchemaError, check_schema
from salus.identity import Identity, KeyFileError

KEY_FILE = "holder.key"
_UUID = re.compile(r"urn:uuid:([0-9a-f-]{36})\Z")


class WalletError(ValueError):
    """A wallet or credential the wallet refuses; ``str()`` says why and what to do."""


class Wallet:
    def __init__(self, root: Path, holder: Identity) -> None:
        self.root = root
        self.holder = holder
        self._dir = root / "credentials"

    @classmethod
    def create(cls, root: Path | str, holder: Identity | None = None) -> Wallet:
        root = Path(root)
        if (root / KEY_FILE).exists():
            raise WalletError(f"{root} already holds a wallet")
        holder = holder or Identity.generate()
        holder.save(root / KEY_FILE)
        (root / "credentials").mkdir(exist_ok=True)
        return cls(root, holder)

    @classmethod
    def open(cls, root: Path | str) -> Wallet:
        root = Path(root)
        try:
            holder = Identity.load(root / KEY_FILE)
        except KeyFileError as exc:
            raise WalletError(f"{root} is not a wallet ({exc}); create one with "
                              f"`salus wallet init`") from None
        return cls(root, holder)

    @property
    def did(self) -> str:
        return self.holder.did

    def _path(self, credential_id: str) -> Path:
        match = _UUID.match(credential_id)
        if match is None:
            raise WalletError(f"{credential_id!r} is not a credential id (urn:uuid:...)")
        return self._dir / f"{match.group(1)}.json"

    def add(self, credential: Any) -> str:
        """Keep a credential issued to this holder; return its id."""
        if not isinstance(credential, dict):
            raise WalletError("a credential is a JSON object")
        try:
            kind = check_schema(split(credential)[0])
        except (SchemaError, AnchorInvalid) as exc:
            raise WalletError(f"not an issued Salus credential: {exc}") from None
        if credential["credentialSubject"]["id"] != self.did:
            raise WalletError(f"this {kind} is about {credential['credentialSubject']['id']}, "
                              f"not this wallet's holder {self.did}")
        path = self._path(credential["id"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(credential, indent=1, ensure_ascii=False))
        os.replace(tmp, path)
        return str(credential["id"])

    def add_file(self, path: Path) -> str:
        try:
            return self.add(loads_strict(path.read_bytes()))
        except (OSError, JSONError) as exc:
            raise WalletError(f"cannot read {path}: {exc}") from None

    def get(self, credential_id: str) -> dict[str, Any]:
        path = self._path(credential_id)
        if not path.exists():
            raise WalletError(f"no credential {credential_id} in this wallet")
        doc: dict[str, Any] = loads_strict(path.read_bytes())
        return doc

    def remove(self, credential_id: str) -> None:
        path = self._path(credential_id)
        if not path.exists():
            raise WalletError(f"no credential {credential_id} in this wallet")
        path.unlink()

    def all(self) -> list[dict[str, Any]]:
        docs = [loads_strict(p.read_bytes()) for p in sorted(self._dir.glob("*.json"))]
        return sorted(docs, key=lambda d: (d.get("validFrom", ""), d["id"]))

    def summary(self) -> list[dict[str, Any]]:
        return [{"id": d["id"], "type": d["type"][1], "issuer": d["issuer"],
                 "validFrom": d["validFrom"], "validUntil": d.get("validUntil"),
                 "name": d.get("name")} for d in self.all()]

    def respond(self, request: dict[str, Any]) -> dict[str, Any]:
        """A presentation answering a credentialing office's dossier request: the types it
        asks for, over its challenge and domain."""
        req = check_request(request)
        return self.present(challenge=req["challenge"], domain=req["domain"],
                            types=req["types"])

    def present(self, *, challenge: str, domain: str, ids: Sequence[str] = (),
                types: Sequence[str] = ()) -> dict[str, Any]:
        """A presentation of the chosen credentials (by id and/or by type; at least one
        must be chosen: a wallet never shares everything by default)."""
        if not ids and not types:
            raise WalletError("choose what to share: credential ids and/or types")
        chosen = [self.get(i) for i in ids]
        chosen += [d for d in self.all() if d["type"][1] in types and d["id"] not in ids]
        if not chosen:
            raise WalletError(f"the wallet holds no credential of type {', '.join(types)}")
        return present(chosen, self.holder, challenge=challenge, domain=domain,
                       created=iso_from_ms(wall_clock_ms()))
