"""One identity for a GS1-identified thing, whichever way it was written.

A pharmacy scanner reads a GS1 DataMatrix element string (``(01)…(21)…(10)…(17)…`` or
the raw form with FNC1/GS separators), a phone reads a GS1 Digital Link URI
(``https://id.gs1.org/01/…/21/…?10=…&17=…``) and an EPCIS document names the same pack
by its EPC URN (``urn:epc:id:sgtin:…``). :func:`parse` turns each into an
:class:`Identity`; two identities are ``==`` when they name the same thing.

Standards (section numbers are those of the editions named):

* GS1 General Specifications 24: §3.2 (the AIs used here: 00 SSCC, 01 GTIN, 10 lot,
  17 expiry, 21 serial, 254 GLN extension, 414 GLN), §3.4 (dates: in AI 17, day ``00``
  means the last day of the month), §7.9 (mod-10 check digits). Element strings and Digital Link
  URIs are parsed by ``biip`` (which implements these), check digits are refused here.
* GS1 Digital Link URI Syntax 1.4: §4.11 (the canonical URI: ``id.gs1.org``, keys and
  key qualifiers in the path, attributes in the query string).
* GS1 EPC Tag Data Standard (TDS) 2.1: §6.3 (the EPC pure identity URIs), §6.4 (the
  ``urn:epc:class:lgtin`` class URI), §6.5 (``urn:epc:idpat`` patterns), §7
  ("Correspondence between EPCs and GS1 Keys", one subsection per scheme) and Table
  I.3.1-1 (the characters a URN component escapes as ``%xx``).

The GS1 Company Prefix length: a URN carries it (the ``.`` after the prefix), a GTIN,
SSCC or GLN does not (TDS §7.2: it is looked up in GS1's prefix table). So
:meth:`Identity.epc_urn` takes it as a parameter when the identity did not come from a
URN; the ledger will keep the table of registered manufacturers' prefixes and supply it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from urllib.parse import quote, unquote

from biip import ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message

CANONICAL_HOST = "https://id.gs1.org"


class IdentifierError(ValueError):
    """A string that names no GS1-identified thing Salus can use."""


class CheckDigitError(IdentifierError):
    """A GTIN, SSCC or GLN whose mod-10 check digit is wrong (GenSpecs §7.9)."""


class Kind(StrEnum):
    SGTIN = "sgtin"   # GTIN + serial: one pack (TDS §6.3.1)
    LGTIN = "lgtin"   # GTIN + lot: a batch, class level (TDS §6.4)
    GTIN = "gtin"     # a product, class level (TDS §6.5 idpat)
    SSCC = "sscc"     # a logistic unit: case, pallet (TDS §6.3.2)
    SGLN = "sgln"     # a location: GLN, maybe with extension (TDS §6.3.3)


@functools.lru_cache(maxsize=1024)  # a document repeats its GTINs and company prefixes
def check_digit(payload: str) -> str:
    """The mod-10 check digit of a numeric GS1 key without it (GenSpecs §7.9.1): weights
    3 and 1 alternate from the rightmost digit."""
    digits = payload[::-1]
    total = 3 * sum(map(int, digits[0::2])) + sum(map(int, digits[1::2]))
    return str((10 - total % 10) % 10)


# -- URN component escaping (TDS Table I.3.1-1) -------------------------------------------
_URN_ESCAPE = {c: f"%{ord(c):02X}" for c in '"%&/<>?'}
_URN_COMPONENT = re.compile(r"^(?:[A-Za-z0-9!'()*+,\-.:;=_]|%[0-9A-Fa-f]{2})+$")


def _urn_escape(value: str) -> str:
    """TDS §6.3 / Table I.3.1-1: a serial or lot in an EPC URI escapes ``" % & / < > ?``."""
    return "".join(_URN_ESCAPE.get(c, c) for c in value)


#: What a serial (AI 21), lot (AI 10) or GLN extension (AI 254) may be: 1-20 characters
#: of GS1's character set 82 (GenSpecs §7.11), however an EPC URN escapes them.
_CS82_20 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")


def _urn_unescape(component: str, what: str) -> str:
    if not _URN_COMPONENT.match(component):
        raise IdentifierError(f"bad {what} in EPC URN: {component!r}")
    value = unquote(component)
    # an escape must not bring in what the element string and Digital Link forms refuse
    # (a non-ASCII or control character, a 21st character): one identity, three spellings
    if not _CS82_20.fullmatch(value):
        raise IdentifierError(f"bad {what} in EPC URN: {component[:40]!r} is not 1-20 "
                              "characters of GS1's character set 82")
    return value


@dataclass(frozen=True, slots=True, eq=False)
class Identity:
    """A pack, batch, product, logistic unit or location, as GS1 keys.

    Equality is that of :attr:`digital_link`, the key and its qualifiers (GTIN + serial,
    GTIN + lot for a batch, SSCC, GLN + extension). A pack's lot and expiry ride along
    (a DataMatrix carries them, an EPC URN does not) and are not part of its identity:
    GenSpecs §3.2 (AI 21) makes GTIN + serial unique on its own, and a verifier compares lot
    and expiry separately (Lightweight Messaging's ``No_match_GTIN_Serial_Lot``)."""

    kind: Kind
    gtin: str | None = None         # GTIN-14, check digit verified
    serial: str | None = None       # AI 21
    lot: str | None = None          # AI 10
    expiry: date | None = None      # AI 17, day 00 already resolved
    sscc: str | None = None         # SSCC-18
    gln: str | None = None          # GLN-13
    gln_extension: str | None = None  # AI 254
    #: Known only when parsed from an EPC URN (TDS §7.2); not part of the identity.
    company_prefix_length: int | None = field(default=None, compare=False)

    # -- the identity ------------------------------------------------------------------
    @property
    def digital_link(self) -> str:
        """The constrained canonical GS1 Digital Link URI (DL URI Syntax §4.11; CBV 2.0
        §8.9 step 17): ``id.gs1.org``, the key and the one qualifier that makes it
        finest, no query string."""
        enc = _dl_escape
        if self.kind is Kind.SGTIN:
            return f"{CANONICAL_HOST}/01/{self.gtin}/21/{enc(self.serial)}"
        if self.kind is Kind.LGTIN:
            return f"{CANONICAL_HOST}/01/{self.gtin}/10/{enc(self.lot)}"
        if self.kind is Kind.GTIN:
            return f"{CANONICAL_HOST}/01/{self.gtin}"
        if self.kind is Kind.SSCC:
            return f"{CANONICAL_HOST}/00/{self.sscc}"
        ext = f"/254/{enc(self.gln_extension)}" if self.gln_extension else ""
        return f"{CANONICAL_HOST}/414/{self.gln}{ext}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Identity):
            return NotImplemented
        return self.digital_link == other.digital_link

    def __hash__(self) -> int:
        return hash(self.digital_link)

    # -- other spellings ---------------------------------------------------------------
    @property
    def element_string(self) -> str:
        """GS1 human-readable element string (GenSpecs §3.1): keys, then lot and expiry
        (an expiry written with its resolved day, never ``00``)."""
        parts: list[tuple[str, str]] = []
        if self.gtin:
            parts.append(("01", self.gtin))
        if self.sscc:
            parts.append(("00", self.sscc))
        if self.gln:
            parts.append(("414", self.gln))
        if self.gln_extension:
            parts.append(("254", self.gln_extension))
        if self.expiry:
            parts.append(("17", self.expiry.strftime("%y%m%d")))
        if self.lot:
            parts.append(("10", self.lot))
        if self.serial:
            parts.append(("21", self.serial))
        return "".join(f"({ai}){value}" for ai, value in parts)

    def epc_urn(self, company_prefix_length: int | None = None) -> str:
        """The EPC URN (TDS §6.3-6.5, §7). The GS1 Company Prefix length comes from the
        URN this identity was parsed from, else from the caller (TDS §7.2: a prefix
        table; on Salus, the manufacturers registered on the ledger)."""
        length = company_prefix_length or self.company_prefix_length
        if length is None:
            raise IdentifierError("the GS1 Company Prefix length is needed to write an EPC URN")
        if not 6 <= length <= 12:
            raise IdentifierError(f"a GS1 Company Prefix has 6 to 12 digits, not {length}")
        if self.kind in (Kind.SGTIN, Kind.LGTIN, Kind.GTIN):
            assert self.gtin is not None
            # TDS §7.3: indicator digit first, then the item reference; no check digit.
            cp, item = self.gtin[1:1 + length], self.gtin[0] + self.gtin[1 + length:13]
            if self.kind is Kind.SGTIN:
                return f"urn:epc:id:sgtin:{cp}.{item}.{_urn_escape(self.serial or '')}"
            if self.kind is Kind.LGTIN:
                return f"urn:epc:class:lgtin:{cp}.{item}.{_urn_escape(self.lot or '')}"
            return f"urn:epc:idpat:sgtin:{cp}.{item}.*"
        if self.kind is Kind.SSCC:
            assert self.sscc is not None
            # TDS §7.4: extension digit moves after the prefix; no check digit.
            return f"urn:epc:id:sscc:{self.sscc[1:1 + length]}.{self.sscc[0]}{self.sscc[1 + length:17]}"
        assert self.gln is not None
        # TDS §7.5: extension "0" stands for "no AI 254".
        ext = _urn_escape(self.gln_extension) if self.gln_extension else "0"
        return f"urn:epc:id:sgln:{self.gln[:length]}.{self.gln[length:12]}.{ext}"


def _dl_escape(value: str | None) -> str:
    """DL URI Syntax §4.10: percent-encode everything outside RFC 3986 unreserved."""
    return quote(value or "", safe="")


# -- parsing ------------------------------------------------------------------------------
#: Symbology identifiers a scanner may prefix (GenSpecs §5.1.2: ]d2 DataMatrix, ]Q3 QR,
#: ]C1 GS1-128, ]e0 DataBar, ]J1 DotCode).
_SYMBOLOGY = re.compile(r"^\](?:d2|Q3|C1|e0|J1)")


def parse(text: str) -> Identity:
    """Any of the three spellings (element string, Digital Link, EPC URN) to an identity.
    Raises :class:`CheckDigitError` for a wrong check digit, :class:`IdentifierError`
    for anything else that is not one."""
    if not isinstance(text, str) or not text.strip():
        raise IdentifierError("empty identifier")
    text = text.strip()
    if len(text) > 512:  # the longest GS1 message a 2D code holds is far shorter
        raise IdentifierError("identifier too long")
    if text.startswith("urn:epc:"):
        return from_epc_urn(text)
    if text.startswith(("https://", "http://")):
        return from_digital_link(text)
    return from_element_string(text)


def from_element_string(text: str) -> Identity:
    """A GS1 element string (GenSpecs §3, §7.8): human-readable ``(01)…(21)…`` or the
    raw data of a GS1 DataMatrix with FNC1 shown as GS (ASCII 29), with or without the
    ``]d2`` symbology identifier and the leading FNC1."""
    raw = _SYMBOLOGY.sub("", text.strip()).lstrip("\x1d")
    try:
        message = GS1Message.parse_hri(raw) if raw.startswith("(") else GS1Message.parse(raw)
    except ParseError as exc:
        raise IdentifierError(f"not a GS1 element string: {exc}") from None
    return _from_elements(message.element_strings)


def from_digital_link(uri: str) -> Identity:
    """A GS1 Digital Link URI (DL URI Syntax §4: any host; key and qualifiers in the path,
    lot/expiry also in the query string)."""
    try:
        link = GS1DigitalLinkURI.parse(uri)
    except ParseError as exc:
        raise IdentifierError(f"not a GS1 Digital Link URI: {exc}") from None
    return _from_elements(link.element_strings)


def _from_elements(elements: list[GS1ElementString]) -> Identity:
    found: dict[str, GS1ElementString] = {}
    for element in elements:
        if element.ai.ai in found:  # GenSpecs §4 (combining element strings): an AI once
            raise IdentifierError(f"AI ({element.ai.ai}) appears twice")
        found[element.ai.ai] = element
    for element in found.values():
        error = element.gtin_error or element.sscc_error or element.gln_error
        if error:
            raise CheckDigitError(error)
    lot = found["10"].value if "10" in found else None
    expiry = found["17"].date if "17" in found else None  # biip resolves day 00 (§3.4)
    if "01" in found:
        gtin = found["01"].value.zfill(14)
        if "21" in found:
            return Identity(Kind.SGTIN, gtin=gtin, serial=found["21"].value, lot=lot, expiry=expiry)
        return Identity(Kind.LGTIN if lot else Kind.GTIN, gtin=gtin, lot=lot, expiry=expiry)
    if "00" in found:
        return Identity(Kind.SSCC, sscc=found["00"].value)
    if "414" in found:
        ext = found["254"].value if "254" in found else None
        return Identity(Kind.SGLN, gln=found["414"].value, gln_extension=ext)
    raise IdentifierError("no GTIN (01), SSCC (00) or GLN (414) in the identifier")


# -- EPC URNs (TDS §6, §7) ---------------------------------------------------------------
_URN = re.compile(r"^urn:epc:(id|class|idpat):([a-z]+):(.+)$")


def _split_key(parts: list[str], total: int, what: str) -> tuple[str, str]:
    """The company prefix and reference of a URN, digits, together ``total`` long."""
    cp, ref = parts[0], parts[1]
    if not (cp.isascii() and cp.isdigit() and 6 <= len(cp) <= 12):
        raise IdentifierError(f"bad GS1 Company Prefix in {what} URN: {cp!r}")
    if not (ref.isascii() and (ref.isdigit() or ref == "")) or len(cp) + len(ref) != total:
        raise IdentifierError(f"bad reference in {what} URN: {ref!r}")
    return cp, ref


@functools.lru_cache(maxsize=4096)  # a capture names each pack in several events
def from_epc_urn(urn: str) -> Identity:
    """``urn:epc:id:sgtin|sscc|sgln``, ``urn:epc:class:lgtin`` and
    ``urn:epc:idpat:sgtin:….*`` to an identity (TDS §6.3, §6.4, §6.5 and §7)."""
    match = _URN.match(urn)
    if not match:
        raise IdentifierError(f"not an EPC URN: {urn[:80]!r}")
    level, scheme, body = match.groups()
    # TDS §6.3: the last component (serial, lot, extension) may itself hold "."
    parts = body.split(".", 2) if scheme in ("sgtin", "lgtin", "sgln") else body.split(".", 1)
    if (level, scheme) == ("id", "sgtin") and len(parts) == 3:
        cp, item = _split_key(parts, 13, "SGTIN")
        gtin = item[0] + cp + item[1:]
        return Identity(Kind.SGTIN, gtin=gtin + check_digit(gtin),
                        serial=_urn_unescape(parts[2], "serial"), company_prefix_length=len(cp))
    if (level, scheme) == ("class", "lgtin") and len(parts) == 3:
        cp, item = _split_key(parts, 13, "LGTIN")
        gtin = item[0] + cp + item[1:]
        return Identity(Kind.LGTIN, gtin=gtin + check_digit(gtin),
                        lot=_urn_unescape(parts[2], "lot"), company_prefix_length=len(cp))
    if (level, scheme) == ("idpat", "sgtin") and len(parts) == 3 and parts[2] == "*":
        cp, item = _split_key(parts, 13, "SGTIN pattern")
        gtin = item[0] + cp + item[1:]
        return Identity(Kind.GTIN, gtin=gtin + check_digit(gtin), company_prefix_length=len(cp))
    if (level, scheme) == ("id", "sscc") and len(parts) == 2:
        cp, ref = _split_key(parts, 17, "SSCC")
        sscc = ref[0] + cp + ref[1:]
        return Identity(Kind.SSCC, sscc=sscc + check_digit(sscc), company_prefix_length=len(cp))
    if (level, scheme) == ("id", "sgln") and len(parts) == 3:
        cp, ref = _split_key(parts, 12, "SGLN")
        ext = _urn_unescape(parts[2], "extension")
        return Identity(Kind.SGLN, gln=cp + ref + check_digit(cp + ref),
                        gln_extension=None if ext == "0" else ext, company_prefix_length=len(cp))
    raise IdentifierError(f"unsupported EPC URN: {urn[:80]!r}")


# -- every EPC scheme, for event hashing (CBV 2.0 §8.9 step 16) --------------------------
def _cp_ref(parts: list[str], check: bool) -> str:
    """Company prefix + reference, with a check digit appended when the key has one."""
    digits = parts[0] + parts[1]
    return digits + check_digit(digits) if check else digits


def _other_epc_to_path(scheme: str, parts: list[str]) -> str | None:
    """The Digital Link path of the EPC schemes :func:`from_epc_urn` does not model
    (TDS §7: GRAI, GIAI, GSRN, GSRNP, GDTI, CPI, SGCN, GINC, GSIN, PGLN, ITIP, UPUI)."""
    two, three = len(parts) == 2, len(parts) == 3
    if scheme == "grai" and three:      # TDS §7 GRAI: "0" + prefix + asset type + check + serial
        return f"/8003/0{_cp_ref(parts, True)}{quote(unquote(parts[2]), safe='')}"
    if scheme == "giai" and two:        # GIAI: prefix + individual asset reference
        return f"/8004/{quote(unquote(parts[0] + parts[1]), safe='')}"
    if scheme == "gsrn" and two:        # GSRN (recipient): 17 digits + check
        return f"/8018/{_cp_ref(parts, True)}"
    if scheme == "gsrnp" and two:       # GSRN (provider)
        return f"/8017/{_cp_ref(parts, True)}"
    if scheme == "gdti" and three:      # GDTI: 12 digits + check + optional serial
        return f"/253/{_cp_ref(parts, True)}{quote(unquote(parts[2]), safe='')}"
    if scheme == "sgcn" and three:      # SGCN: 12 digits + check + serial
        return f"/255/{_cp_ref(parts, True)}{parts[2]}"
    if scheme == "cpi" and three:       # CPI: component/part id, then its serial (8011)
        return f"/8010/{quote(unquote(parts[0] + parts[1]), safe='')}/8011/{parts[2]}"
    if scheme == "ginc" and two:        # GINC: prefix + consignment reference
        return f"/401/{quote(unquote(parts[0] + parts[1]), safe='')}"
    if scheme == "gsin" and two:        # GSIN: 16 digits + check
        return f"/402/{_cp_ref(parts, True)}"
    if scheme == "pgln" and two:        # PGLN: party GLN, 12 digits + check
        return f"/417/{_cp_ref(parts, True)}"
    if scheme == "itip" and len(parts) == 5:  # ITIP: GTIN + piece + total, then serial
        return f"/8006/{_gtin_of(parts)}{parts[2]}{parts[3]}/21/{quote(unquote(parts[4]), safe='')}"
    if scheme == "upui" and three:      # UPUI: GTIN, then the third-party controlled id (235)
        return f"/01/{_gtin_of(parts)}/235/{quote(unquote(parts[2]), safe='')}"
    return None


def _gtin_of(parts: list[str]) -> str:
    """TDS §7 (SGTIN): the indicator digit leads, the check digit closes."""
    digits = parts[1][:1] + parts[0] + parts[1][1:]
    return digits + check_digit(digits)


def _pattern_to_path(scheme: str, parts: list[str]) -> str | None:
    """TDS §6.5: a class-level EPC pattern (``….*``) as the Digital Link of its class."""
    if parts[-1] != "*":
        return None
    if scheme == "grai" and len(parts) == 3:
        return f"/8003/0{_cp_ref(parts, True)}"
    if scheme == "gdti" and len(parts) == 3:
        return f"/253/{_cp_ref(parts, True)}"
    if scheme == "sgcn" and len(parts) == 3:
        return f"/255/{_cp_ref(parts, True)}"
    if scheme == "cpi" and len(parts) == 3:
        return f"/8010/{quote(unquote(parts[0] + parts[1]), safe='')}"
    if scheme == "itip" and len(parts) == 5:
        return f"/8006/{_gtin_of(parts)}{parts[2]}{parts[3]}"
    return None


def epc_uri_to_digital_link(uri: str) -> str | None:
    """The canonical GS1 Digital Link of an EPC pure identity, class or pattern URI, or
    None when the URN is not one TDS defines a GS1 key for (CBV 2.0 §8.9 step 16)."""
    try:
        return from_epc_urn(uri).digital_link
    except IdentifierError:
        pass
    match = _URN.match(uri)
    if not match or match.group(1) == "class":
        return None
    level, scheme, body = match.groups()
    parts = body.split(".")
    # numeric keys: digits only (a 12-digit prefix leaves an empty reference, TDS §7)
    def digits(text: str) -> bool:
        return text.isascii() and text.isdigit()

    numeric = digits(parts[0]) and (
        scheme in ("giai", "ginc", "cpi") or (len(parts) > 1 and (parts[1] == "" or digits(parts[1]))))
    if not numeric:
        return None
    convert = _other_epc_to_path if level == "id" else _pattern_to_path
    path = convert(scheme, parts)
    return CANONICAL_HOST + path if path else None


#: The GS1 keys and key qualifiers a constrained Digital Link keeps (CBV 2.0 §8.9 step
#: 17 (III)), finest qualifier first where there is a choice.
_KEEP: dict[str, tuple[str, ...]] = {
    "00": (), "01": ("21", "10", "235"), "253": (), "255": (), "401": (), "402": (),
    "414": ("254",), "417": (), "8003": (), "8004": (), "8006": ("21", "10"),
    "8010": ("8011",), "8017": (), "8018": (),
}
_PRIMARY_IN_PATH = re.compile(r"/(?:00|01|253|255|401|402|414|417|8003|8004|8006|8010|8017|8018)/")


def constrained_digital_link(uri: str) -> str | None:
    """A GS1 Digital Link URI in its constrained canonical form (CBV 2.0 §8.9 step 17:
    ``https://id.gs1.org``, no query string, only the finest key qualifier), or None
    when ``uri`` is not a Digital Link."""
    if not _PRIMARY_IN_PATH.search(uri):
        return None  # cheap test first: most URIs in an event are no Digital Link
    try:
        link = GS1DigitalLinkURI.parse(uri)
    except (ParseError, ValueError):
        return None
    elements = {e.ai.ai: e.value for e in link.element_strings}
    primary = next((ai for ai in _KEEP if ai in elements), None)
    if primary is None:
        return None
    value = elements[primary].zfill(14) if primary == "01" else elements[primary]
    path = f"/{primary}/{_dl_escape(value)}"
    qualifier = next((q for q in _KEEP[primary] if q in elements), None)
    if qualifier:
        path += f"/{qualifier}/{_dl_escape(elements[qualifier])}"
    return CANONICAL_HOST + path


_PARTY = re.compile(r"/(?:414|417)/([0-9]{13})(?:[/?#]|$)")


def party_gln(uri: str) -> str:
    """The GLN of a party or location as an EPCIS source or destination names it: a PGLN
    or SGLN URN (TDS §6.3.3, §6.3.14) or a Digital Link with AI 417 or 414. The check
    digit is verified (CheckDigitError); anything else raises IdentifierError."""
    link = epc_uri_to_digital_link(uri) if uri.startswith("urn:epc:") else uri
    found = _PARTY.search(link or "")
    if found is None:
        raise IdentifierError(f"{uri!r} names no party or location GLN")
    gln = found.group(1)
    if check_digit(gln[:12]) != gln[12]:
        raise CheckDigitError(f"GLN {gln}: wrong check digit")
    return gln
