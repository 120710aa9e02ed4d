"""A product's carbon footprint (PACT v3 ``ProductFootprint``), checked, and the key
figures the ledger keeps of it as integers.

Rules:

1. A footprint is valid when it fits the ``ProductFootprint`` schema of the PACT v3
   OpenAPI document (``pact/openapi-v3.yaml``, shipped unmodified with its licence;
   OpenAPI 3.1 schemas are JSON Schema 2020-12). Every reason is reported with its path.
2. PACT states quantities as decimal strings (``Decimal``: ``^[+-]?\\d+(\\.\\d+)?$``), and
   the ledger takes no floats (contracts are deterministic): each key figure is kept as an
   integer in a small unit, converted exactly with :class:`decimal.Decimal`, and refused
   when it has more precision than that unit holds (never rounded silently).
   - ``pcfExcludingBiogenicUptake``, ``pcfIncludingBiogenicUptake``,
     ``fossilGhgEmissions``: kg CO2e per declared unit -> micrograms CO2e (x 10^9)
   - ``declaredUnitAmount``: -> thousandths of the declared unit (x 10^3)
3. The ledger keeps the footprint's hash (SHA-256 of its RFC 8785 bytes) and these key
   figures, never the document (company and product names, descriptions, comments).
4. A footprint file is read as hostile input (:func:`read_footprint`): at most
   :data:`MAX_BYTES`, UTF-8, no duplicate keys, no NaN, nested at most :data:`MAX_DEPTH`.
5. Attached to a GTIN (:func:`for_gtin`), a footprint must be ``Active`` and name that
   GTIN among its ``productIds`` (``urn:gtin:<GTIN-8/12/13/14>``, or an EPC class or
   pattern URN of it), so that one product's figures are not filed under another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
import yaml

from salus.canonical import MAX_SAFE_INTEGER, JSONError, jcs, loads_strict
from salus.supply.identifiers import IdentifierError, check_digit, from_epc_urn

#: PACT key figure -> (the ledger's name for it, units per PACT unit).
FIGURES: dict[str, tuple[str, int]] = {
    "pcfExcludingBiogenicUptake": ("pcf_excluding_biogenic_ug", 10**9),
    "pcfIncludingBiogenicUptake": ("pcf_including_biogenic_ug", 10**9),
    "fossilGhgEmissions": ("fossil_ghg_ug", 10**9),
    "declaredUnitAmount": ("declared_amount_milli", 10**3),
}
#: Past 2^53 a ledger transaction cannot carry an integer exactly (I-JSON, RFC 7493):
#: 9 x 10^6 kg CO2e per declared unit, refused as implausible.
MAX_FIGURE = MAX_SAFE_INTEGER
#: A footprint is a few kilobytes (PACT's examples are under 4 KB).
MAX_BYTES = 256 * 1024
MAX_DEPTH = 16


class FootprintInvalid(ValueError):
    """A footprint that is not a valid PACT v3 ProductFootprint; ``reasons`` says why."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(reasons[:5]))


@dataclass(frozen=True)
class KeyFigures:
    """What the ledger keeps of a footprint (rule 3)."""

    footprint_hash: str  # hex SHA-256 of the footprint's RFC 8785 bytes
    declared_unit: str  # PACT's declaredUnitOfMeasurement code, e.g. "kilogram"
    figures: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"footprint_hash": self.footprint_hash, "declared_unit": self.declared_unit,
                **self.figures}


@cache
def _validator() -> jsonschema_rs.Draft202012Validator:
    """ProductFootprint, with the rest of the OpenAPI document there for its ``$ref``s."""
    text = (resources.files("salus.supply") / "pact" / "openapi-v3.yaml").read_text("utf-8")
    document = yaml.safe_load(text)
    schema = {"$ref": "#/components/schemas/ProductFootprint",
              "components": document["components"]}
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def validate(footprint: Any) -> list[str]:
    """Every reason ``footprint`` is not a PACT v3 ProductFootprint (rule 1)."""
    return [f"{'/'.join(str(p) for p in e.instance_path) or '$'}: {e.message}"
            for e in _validator().iter_errors(footprint)][:100]


def _exact(value: str, scale: int, name: str) -> int:
    try:
        amount = Decimal(value) * scale
    except InvalidOperation:
        raise FootprintInvalid([f"pcf/{name}: {value!r} is not a decimal"]) from None
    if amount != amount.to_integral_value():
        raise FootprintInvalid([f"pcf/{name}: {value} is finer than the ledger keeps "
                                f"(1/{scale} of PACT's unit)"])
    if abs(amount) > MAX_FIGURE:
        raise FootprintInvalid([f"pcf/{name}: {value} is too large"])
    return int(amount)


def key_figures(footprint: Any) -> KeyFigures:
    """The footprint's hash and key figures (rules 2, 3); FootprintInvalid, with every
    reason, if it is not valid or a figure cannot be kept exactly."""
    if reasons := validate(footprint):
        raise FootprintInvalid(reasons)
    pcf = footprint["pcf"]
    figures: dict[str, int] = {}
    for name, (ledger_name, scale) in FIGURES.items():
        if name in pcf:
            try:
                figures[ledger_name] = _exact(pcf[name], scale, name)
            except FootprintInvalid as exc:
                reasons += exc.reasons
    if reasons:
        raise FootprintInvalid(reasons)
    digest = hashlib.sha256(jcs(footprint)).hexdigest()
    return KeyFigures(digest, pcf["declaredUnitOfMeasurement"], figures)


def read_footprint(data: bytes) -> Any:
    """A footprint file's JSON (rule 4); FootprintInvalid if it cannot be read safely."""
    if len(data) > MAX_BYTES:
        raise FootprintInvalid([f"$: the file is {len(data)} bytes; a footprint is at most "
                                f"{MAX_BYTES}"])
    try:
        # decimals: a number where PACT wants a decimal string is the schema's to name
        return loads_strict(data, decimals=True, max_depth=MAX_DEPTH)
    except JSONError as exc:
        raise FootprintInvalid([f"$: not acceptable JSON: {exc}"]) from None


def _gtin_of(product_id: Any) -> str | None:
    """The GTIN-14 a PACT product id names, if it names one (rule 5)."""
    if not isinstance(product_id, str):
        return None
    if product_id.startswith("urn:gtin:"):
        digits = product_id.removeprefix("urn:gtin:")
        if digits.isascii() and digits.isdigit() and len(digits) in (8, 12, 13, 14):
            gtin = digits.zfill(14)
            return gtin if check_digit(gtin[:13]) == gtin[13] else None
        return None
    if product_id.startswith(("urn:epc:class:lgtin:", "urn:epc:idpat:sgtin:")):
        try:
            return from_epc_urn(product_id).gtin
        except IdentifierError:
            return None
    return None


def for_gtin(footprint: Any, gtin: str) -> KeyFigures:
    """:func:`key_figures` of a footprint to attach to ``gtin`` (rule 5); FootprintInvalid
    with every reason otherwise."""
    reasons: list[str] = []
    try:
        figures = key_figures(footprint)
    except FootprintInvalid as exc:
        reasons, figures = exc.reasons, None
    if isinstance(footprint, dict):
        if footprint.get("status", "Active") != "Active":
            reasons.append(f"status: the footprint is {footprint.get('status')!r}; attach an "
                           "Active one")
        ids = footprint.get("productIds")
        if isinstance(ids, list) and gtin not in {_gtin_of(i) for i in ids}:
            reasons.append(f"productIds: none names GTIN {gtin} (urn:gtin:{gtin} would)")
    if reasons or figures is None:
        raise FootprintInvalid(reasons)
    return figures
