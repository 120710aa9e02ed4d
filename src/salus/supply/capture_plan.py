"""What an EPCIS document asks of the ledger: each event as one step of ``supply.capture``.

A pure function of the document, its events' CBV 2.0 hashes and the ledger's register of
party GLNs; it reads nothing else. The mapping (docs/supply.md, "Capture"), by event type,
action and CBV business step (CBV 2.0 §7.1), any spelling (bare, ``urn:epcglobal:cbv:``,
``https://ref.gs1.org/cbv/``):

==================  =========================================  ===========================
event               when                                       step
==================  =========================================  ===========================
any                 it carries an ``errorDeclaration``          ``declare_error``
ObjectEvent         ADD, ``commissioning``, ILMD lot + expiry   ``commission``
ObjectEvent         ``shipping``                                ``ship`` (to the possessing
                                                               party, else the owning one;
                                                               ``sale``: a TransactionEvent
                                                               of the same document sharing
                                                               a business transaction)
ObjectEvent         ``receiving``                               ``receive``
ObjectEvent         ``dispensing`` (one pack)                   ``dispense``
ObjectEvent         ``decommissioning`` / ``destroying``        ``decommission`` / ``destroy``
ObjectEvent         disposition ``stolen``                      ``report`` stolen
ObjectEvent         ``inspecting``, disposition                 ``report`` suspect
                    ``non_conformant`` (quarantine)
AggregationEvent    ADD / DELETE (``packing`` / ``unpacking``)  ``aggregate``
TransformationEvent outputs with ILMD lot + expiry              ``transform``
TransactionEvent    the sale of a shipment in this document     (carried by ``ship``)
anything else       OBSERVE, associations, classes and          ``observe``
                    quantities only (nothing serialised)
==================  =========================================  ===========================

Items are named by their item keys (``layout.item_key``), so no serial reaches the
ledger. A document the ledger could not take as written (a commissioning event without
its lot, a shipment to a party with no registered GLN, ...) raises :class:`PlanError`
with every reason, each naming its event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from salus.supply.contracts.layout import ERROR_REASONS, item_key
from salus.supply.identifiers import IdentifierError, Identity, Kind, parse, party_gln

#: The prefixes CBV vocabulary is written with (CBV 2.0 §6.4, §8.9.1 steps 14-15).
_VOCABULARY = {
    "bizStep": ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:", "cbv:BizStep-"),
    "disposition": ("https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:", "cbv:Disp-"),
    "type": ("https://ref.gs1.org/cbv/SDT-", "urn:epcglobal:cbv:sdt:", "cbv:SDT-"),
    "reason": ("https://ref.gs1.org/cbv/ER-", "urn:epcglobal:cbv:er:", "cbv:ER-"),
}
#: ILMD names of a lot and an expiry date (CBV 2.0 §9.2, master data attributes).
_MDA = ("cbvmda:", "urn:epcglobal:cbv:mda:", "https://ref.gs1.org/cbv/mda/",
        "https://gs1.org/voc/")
LOT_NAMES = ("lotNumber",)
EXPIRY_NAMES = ("itemExpirationDate",)
#: Who a shipment goes to, in order of preference: possession is what moves.
DESTINATION_TYPES = ("possessing_party", "owning_party", "location")


class PlanError(ValueError):
    """The document is valid EPCIS but not one the ledger can take: ``problems`` lists
    every reason, each naming its event."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _Refused(ValueError):
    pass


def vocabulary(kind: str, value: Any) -> str | None:
    """A CBV term as its bare name (``shipping``), however it was written."""
    if not isinstance(value, str):
        return None
    for prefix in _VOCABULARY[kind]:
        if value.startswith(prefix):
            return value[len(prefix):]
    return value


def _ilmd(event: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    ilmd = event.get("ilmd")
    if not isinstance(ilmd, Mapping):
        return None
    for key, value in ilmd.items():
        bare = next((key[len(p):] for p in _MDA if key.startswith(p)), key)
        if bare in names:
            return value
    return None


def _expiry(value: Any) -> int:
    """An ILMD ``itemExpirationDate`` (``YYYY-MM-DD``) as ``YYYYMMDD``."""
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-" \
            or not (value[:4] + value[5:7] + value[8:]).isdigit():
        raise _Refused(f"itemExpirationDate {value!r} is not a date YYYY-MM-DD")
    return int(value[:4] + value[5:7] + value[8:])


def _identity(uri: Any) -> Identity:
    if not isinstance(uri, str):
        raise _Refused(f"{uri!r} is not an identifier")
    try:
        return parse(uri)
    except IdentifierError as exc:
        raise _Refused(f"{uri}: {exc}") from None


def _items(uris: Any, what: str) -> list[str]:
    """Item keys of serialised packs (SGTIN) and logistic units (SSCC)."""
    out = []
    for uri in uris or []:
        identity = _identity(uri)
        if identity.kind not in (Kind.SGTIN, Kind.SSCC):
            raise _Refused(f"{what}: {uri} is not a pack (SGTIN) or a case or pallet (SSCC)")
        out.append(item_key(identity))
    if not out:
        raise _Refused(f"{what}: no serialised item")
    return out


def _lot_of(event: Mapping[str, Any], uris: Any, what: str) -> tuple[str, str, int]:
    """(GTIN, lot, expiry) of new packs: one GTIN, lot and expiry from the ILMD."""
    gtins = {_identity(u).gtin for u in uris or []}
    if len(gtins) != 1 or None in gtins:
        raise _Refused(f"{what} names packs of one GTIN (SGTINs), here {len(gtins)}")
    lot, expiry = _ilmd(event, LOT_NAMES), _ilmd(event, EXPIRY_NAMES)
    if not isinstance(lot, str) or expiry is None:
        raise _Refused(f"{what} carries its lot and expiry in its ILMD "
                       "(cbvmda:lotNumber, cbvmda:itemExpirationDate)")
    return gtins.pop(), lot, _expiry(expiry)  # type: ignore[return-value]


def _transactions(event: Mapping[str, Any]) -> set[tuple[str | None, str]]:
    return {(vocabulary("type", t.get("type")) if t.get("type") else None, t.get("bizTransaction"))
            for t in event.get("bizTransactionList") or [] if isinstance(t, Mapping)}


@dataclass(frozen=True)
class _Document:
    events: list[Mapping[str, Any]]
    hashes: list[str]
    party: Callable[[str], str | None]  # GLN-13 -> organisation id

    def sale_of(self, shipping: Mapping[str, Any]) -> int | None:
        """The index of the TransactionEvent selling what ``shipping`` ships."""
        ours = _transactions(shipping)
        for i, event in enumerate(self.events):
            if event.get("type") == "TransactionEvent" and ours & _transactions(event):
                return i
        return None

    def destination(self, event: Mapping[str, Any]) -> str:
        named = {vocabulary("type", d.get("type")): d.get("destination")
                 for d in event.get("destinationList") or [] if isinstance(d, Mapping)}
        for kind in DESTINATION_TYPES:
            if named.get(kind) is not None:
                try:
                    gln = party_gln(str(named[kind]))
                except IdentifierError as exc:
                    raise _Refused(f"destination: {exc}") from None
                org = self.party(gln)
                if org is None:
                    raise _Refused(f"destination GLN {gln} is no registered party "
                                   "(a regulator registers it: supply.register_party)")
                return org
        raise _Refused("a shipment names its destination (destinationList: possessing_party "
                       "or owning_party)")


def _object_step(doc: _Document, event: Mapping[str, Any], h: str) -> dict[str, Any]:
    action, step = event.get("action"), vocabulary("bizStep", event.get("bizStep"))
    disposition = vocabulary("disposition", event.get("disposition"))
    epcs = event.get("epcList")
    if not epcs:  # classes and quantities only: nothing serialised for the ledger to track
        return {"method": "observe", "event": h}
    if action == "ADD" and step == "commissioning":
        gtin, lot, expiry = _lot_of(event, epcs, "a commissioning event")
        return {"method": "commission", "event": h, "gtin": gtin, "lot": lot,
                "expiry": expiry, "items": _items(epcs, "epcList")}
    if step == "shipping":
        args: dict[str, Any] = {"method": "ship", "event": h, "items": _items(epcs, "epcList"),
                                "to": doc.destination(event)}
        sale = doc.sale_of(event)
        if sale is not None:
            args["sale"] = doc.hashes[sale]
        return args
    if step == "receiving":
        return {"method": "receive", "event": h, "items": _items(epcs, "epcList")}
    if step == "dispensing":
        items = _items(epcs, "epcList")
        if len(items) != 1:
            raise _Refused("a dispensing event names one pack")
        return {"method": "dispense", "event": h, "item": items[0]}
    if step in ("decommissioning", "destroying"):
        return {"method": "decommission" if step == "decommissioning" else "destroy",
                "event": h, "items": _items(epcs, "epcList")}
    if disposition == "stolen" or (step == "inspecting" and disposition == "non_conformant"):
        items = _items(epcs, "epcList")
        if len(items) != 1:
            raise _Refused("a report names one item")
        return {"method": "report", "event": h, "item": items[0],
                "status": "stolen" if disposition == "stolen" else "suspect"}
    return {"method": "observe", "event": h}


def _step(doc: _Document, index: int, sales: set[int]) -> dict[str, Any] | None:
    event, h = doc.events[index], doc.hashes[index]
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, Mapping):
        reason = vocabulary("reason", declaration.get("reason")) or "unknown"
        return {"method": "declare_error", "event": h,
                "reason": reason if reason in ERROR_REASONS else "unknown"}
    kind, action = event.get("type"), event.get("action")
    if kind == "ObjectEvent":
        return _object_step(doc, event, h)
    if kind == "AggregationEvent" and action in ("ADD", "DELETE") and event.get("childEPCs"):
        parent = _items([event.get("parentID")] if event.get("parentID") else [], "parentID")
        return {"method": "aggregate", "event": h, "parent": parent[0],
                "children": _items(event.get("childEPCs"), "childEPCs"), "action": action}
    if kind == "TransformationEvent":
        outputs = event.get("outputEPCList")
        gtin, lot, expiry = _lot_of(event, outputs, "a transformation's outputs")
        return {"method": "transform", "event": h,
                "inputs": _items(event.get("inputEPCList"), "inputEPCList"), "gtin": gtin,
                "lot": lot, "expiry": expiry, "outputs": _items(outputs, "outputEPCList")}
    if index in sales:
        return None  # recorded by its shipment's step, as the sale
    return {"method": "observe", "event": h}


def plan(events: Iterable[Mapping[str, Any]], hashes: list[str],
         party: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """The ``supply.capture`` steps of a document's events (in document order) whose CBV
    2.0 hashes are ``hashes``; ``party`` names the organisation of a registered GLN.
    Raises :class:`PlanError` with every problem."""
    doc = _Document(list(events), hashes, party)
    sales = {s for e in doc.events
             if e.get("type") == "ObjectEvent" and vocabulary("bizStep", e.get("bizStep")) == "shipping"
             and not e.get("errorDeclaration") and (s := doc.sale_of(e)) is not None}
    steps, problems = [], []
    for i in range(len(doc.events)):
        try:
            step = _step(doc, i, sales)
        except _Refused as exc:
            problems.append(f"event {i} ({doc.events[i].get('type')}): {exc}")
            continue
        if step is not None:
            steps.append(step)
    if problems:
        raise PlanError(problems)
    return steps
