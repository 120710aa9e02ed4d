"""Values read from, and written to, claims FHIR: exact money and units, coded values,
identifiers and code systems.

Money is integer cents everywhere in Salus. A FHIR ``decimal`` is read from the exact
digits the sender wrote (the Bundle is parsed with :class:`decimal.Decimal`), never
through a binary float, so ``10.005`` is refused as a fraction of a cent rather than
rounded. Amounts are bounded by :data:`MAX_CENTS` (15 digits): written back as JSON
numbers they then read exactly in any reader that uses doubles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: Below $10^13: 15 significant digits, exact as a double.
MAX_CENTS = 10**15 - 1
#: Units of service on one line: far above any real line, far below overflow anywhere.
MAX_UNITS = 1_000_000

#: A code: no spaces, bounded (CPT, HCPCS, ICD-10, NDC, X12 and FHIR codes all fit).
#: Free text where a code belongs is refused, not truncated.
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,31}")
#: CPT (HCPCS Level I, ``99213``, ``0001U``) and HCPCS Level II (``E0424``) codes.
PROCEDURE_CODE = re.compile(r"[0-9A-Z][0-9]{3}[0-9A-Z]")
#: An identifier's value (member id, NPI, claim number): printable, no spaces, bounded.
ID_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/\-]{0,63}")
#: A code system or identifier system: a URI without spaces.
SYSTEM = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[!-~]{1,250}")
#: A full date (a date of service is a day, never just a year or month).
FULL_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
CURRENCY = re.compile(r"[A-Z]{3}")

CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
X12_SERVICE_TYPE = "https://codesystem.x12.org/005010/1365"
PLACE_OF_SERVICE = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
NPI = "http://hl7.org/fhir/sid/us-npi"
#: X12 Claim Adjustment Reason Codes, as CARIN Blue Button names the system.
CARC = "https://x12.org/codes/claim-adjustment-reason-codes"
CARC_CODE = re.compile(r"[A-Z]?[0-9]{1,3}")
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PROCESS_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"

#: Spellings of one code system seen in PAS material, to the one Salus compares.
_SYSTEM_ALIASES = {
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": HCPCS,
    "urn:oid:2.16.840.1.113883.6.285": HCPCS,
    "urn:oid:2.16.840.1.113883.6.12": CPT,
    "http://codesystem.x12.org/005010/1365": X12_SERVICE_TYPE,
    "http://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set":
        PLACE_OF_SERVICE,
}
_CODE_FORMS = {CPT: PROCEDURE_CODE, HCPCS: PROCEDURE_CODE,
               PLACE_OF_SERVICE: re.compile(r"[0-9]{2}")}


def system_of(uri: str) -> str:
    """The system Salus compares for ``uri`` (http/https and OID spellings folded)."""
    return _SYSTEM_ALIASES.get(uri, uri)


def code_form(system: str) -> re.Pattern[str]:
    return _CODE_FORMS.get(system, CODE)


@dataclass(frozen=True, slots=True)
class Identifier:
    system: str | None
    value: str

    def fhir(self) -> dict[str, str]:
        return ({"system": self.system} if self.system else {}) | {"value": self.value}


@dataclass(frozen=True, slots=True)
class Coded:
    """A code of a code system: a service (CPT/HCPCS/...), a place of service."""

    system: str
    code: str

    def concept(self) -> dict[str, Any]:
        return {"coding": [{"system": self.system, "code": self.code}]}


class Inexact(ValueError):
    """A number that is not a whole count of the unit asked for."""


def whole(value: Any, scale: int = 0) -> int:
    """``value`` (an int or an exact Decimal) times 10**scale, if that is a whole number;
    :class:`Inexact` otherwise. Works on the decimal digits, never on a rounded product,
    so 1.000000000000000000000000000001 dollars is a fraction of a cent at any precision."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise Inexact("not a number")
    if isinstance(value, int):
        return value * 10**scale
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise Inexact("not a finite number")
    if len(digits) > 40:  # no amount or count needs more; int() of 4,300+ digits raises
        raise Inexact("too many digits")
    number = int("".join(map(str, digits)) or "0")
    if number == 0:
        return 0
    shift = exponent + scale
    if shift > 18:  # far beyond any bound the callers apply
        raise Inexact("too large")
    if shift >= 0:
        number *= 10**shift
    elif -shift > len(digits):  # 0 < |value| * 10**scale < 1
        raise Inexact("a fraction")
    else:
        number, rest = divmod(number, 10**-shift)
        if rest:
            raise Inexact("a fraction")
    return -number if sign else number


def money(cents: int, currency: str | None) -> dict[str, Any]:
    """A FHIR Money of ``cents``: a JSON integer when whole, else a number with two decimals
    (exact as a double below :data:`MAX_CENTS`)."""
    if not 0 <= cents <= MAX_CENTS:
        raise ValueError(f"an amount must be 0..{MAX_CENTS} cents")
    value: int | float = cents // 100 if cents % 100 == 0 else cents / 100
    return {"value": value} | ({"currency": currency} if currency else {})


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code} | ({"display": display} if display else {})
    return {"coding": [coding]}
