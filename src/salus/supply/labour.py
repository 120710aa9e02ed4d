"""Labour hours and cost of a lot, carried on its EPCIS events in a Salus extension.

EPCIS 2.0 lets an event carry user extensions: names in a namespace the document's (or
the event's) JSON-LD ``@context`` binds to a prefix (EPCIS 2.0 §7.3.6, §8.3). Salus's
labour extension is the namespace :data:`NAMESPACE`, with three names:

* ``labourHours``: the direct labour hours spent making what the event commissions
  (ObjectEvent ADD, bizStep ``commissioning``) or outputs (TransformationEvent), as a
  decimal string (``"12.5"``) or a JSON number;
* ``labourCost``: what that labour cost, the same way, in
* ``labourCostCurrency``: an ISO 4217 alphabetic code (``EUR``); required with a cost.

They go in the event's ``ilmd`` (lot master data: they are facts about the lot being
made) or at the top level of the event, not both. A lot's labour is the sum over the
events that commission its packs; a pack's share is its event's figure over the
number of packs the event names. Example (any prefix; ``salus`` here)::

    "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
                 {"salus": "urn:salus:epcis:labour:1:"}],
    ...
    "ilmd": {"cbvmda:lotNumber": "LOT-A1", "salus:labourHours": "12.5",
             "salus:labourCost": "431.25", "salus:labourCostCurrency": "EUR"}

:func:`labour` reads them as exact integers (no floats anywhere after it): hours in
thousandths (3.6 s), cost in thousandths of the currency unit. A figure finer than that
is refused, never rounded; so is a negative one, or one past 2^53 thousandths. The
figures stay in the capturing organisation's repository: labour cost is trading data,
and the ledger holds none (docs/supply.md, "Decision").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from salus.canonical import MAX_SAFE_INTEGER
from salus.supply.event_hash import expanded_names

NAMESPACE = "urn:salus:epcis:labour:1:"
HOURS, COST, CURRENCY = "labourHours", "labourCost", "labourCostCurrency"
NAMES = (HOURS, COST, CURRENCY)
SCALE = 1000  # thousandths
_DECIMAL = re.compile(r"[0-9]{1,16}(\.[0-9]{1,16})?")
_CURRENCY = re.compile(r"[A-Z]{3}")


class LabourInvalid(ValueError):
    """The event's labour extension cannot be read; ``reasons`` says why, each one."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(reasons))


@dataclass(frozen=True)
class Labour:
    hours_milli: int | None  # thousandths of an hour
    cost_milli: int | None  # thousandths of the currency unit
    currency: str | None  # ISO 4217


def _ours(names: Mapping[str, Any], expand: Any) -> dict[str, Any]:
    """The extension fields of ``names`` in :data:`NAMESPACE`, by local name."""
    found: dict[str, Any] = {}
    for key, value in names.items():
        for local in NAMES:
            if expand(key) == "{" + NAMESPACE + "}" + local:
                found[local] = value
    return found


def _thousandths(value: Any, name: str, reasons: list[str]) -> int | None:
    # a JSON number arrives as a float (read_document keeps decimals): its shortest
    # spelling is the number the document wrote, up to 15 significant digits
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        value = repr(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value.strip()):
        reasons.append(f"{name}: {value!r} is not a non-negative decimal")
        return None
    amount = Decimal(value.strip()) * SCALE
    if amount != amount.to_integral_value():
        reasons.append(f"{name}: {value} is finer than a thousandth")
        return None
    if amount > MAX_SAFE_INTEGER:
        reasons.append(f"{name}: {value} is too large")
        return None
    return int(amount)


def labour(event: Mapping[str, Any], contexts: Iterable[Any] = ()) -> Labour | None:
    """The labour an event states, or None if it states none. ``contexts``: the
    document's ``@context`` (the event's own is added). LabourInvalid, with every reason,
    if what it states cannot be read exactly."""
    expand = expanded_names(event, contexts)
    ilmd = event.get("ilmd")
    in_ilmd = _ours(ilmd, expand) if isinstance(ilmd, Mapping) else {}
    on_event = _ours(event, expand)
    if in_ilmd and on_event:
        raise LabourInvalid(["labour is stated both in the ilmd and on the event: state it "
                             "once"])
    fields = in_ilmd or on_event
    if not fields:
        return None
    reasons: list[str] = []
    hours = _thousandths(fields[HOURS], HOURS, reasons) if HOURS in fields else None
    cost = _thousandths(fields[COST], COST, reasons) if COST in fields else None
    currency = fields.get(CURRENCY)
    if COST in fields and currency is None:
        reasons.append(f"{COST} needs {CURRENCY} (ISO 4217, e.g. EUR)")
    if currency is not None and (not isinstance(currency, str)
                                 or not _CURRENCY.fullmatch(currency)):
        reasons.append(f"{CURRENCY}: {currency!r} is not an ISO 4217 code")
    if currency is not None and COST not in fields:
        reasons.append(f"{CURRENCY} without {COST}")
    if reasons:
        raise LabourInvalid(reasons)
    return Labour(hours, cost, currency)
