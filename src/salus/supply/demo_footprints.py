"""The demo manufacturer's PACT v3 product footprints and the labour on its commissioning
events (issue 16 item 8), so the footprint page has figures to show.

A footprint here is declared per ``piece``, one piece being one pack of the GTIN: the
page's CO2e per pack and per shipment come from that (docs/supply.md, "Footprint and
labour per pack and per shipment"). The figures are illustrative, of the order published
for a pack of tablets; they describe no real product (the demo's GTIN is in GS1's 952
demonstration range).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from salus.supply.labour import COST, CURRENCY, HOURS, NAMESPACE

#: The prefix the demo's documents bind to the labour namespace.
LABOUR_PREFIX = "labour"
LABOUR_CONTEXT = {LABOUR_PREFIX: NAMESPACE}


@dataclass(frozen=True)
class Figures:
    """kg CO2e per pack, as PACT's decimal strings."""

    excluding_biogenic: str
    including_biogenic: str
    fossil: str


#: The product's first footprint, the one that replaced it, and the second lot's own.
FIRST = Figures("0.0912", "0.0905", "0.0861")
CURRENT = Figures("0.0842", "0.0837", "0.0791")
SECOND_LOT = Figures("0.0795", "0.0790", "0.0748")


def footprint(gtin: str, figures: Figures, created: str, preceding: list[str] | None = None
              ) -> dict[str, Any]:
    """A PACT v3 ProductFootprint of one pack of ``gtin``, ``Active``."""
    doc: dict[str, Any] = {
        "id": str(uuid.uuid4()), "specVersion": "3.0.0", "created": created,
        "status": "Active", "validityPeriodStart": created,
        "companyName": "Meridian Pharmaceuticals (demo)",
        "companyIds": ["urn:company:example:meridian-pharma"],
        "productDescription": "Lisinopril 10 mg, 30 tablets, blister pack in a carton",
        "productIds": [f"urn:gtin:{gtin}"],
        "productClassifications": ["urn:pact:productclassification:un-cpc:35260"],
        "productNameCompany": "Lisinopril 10 mg x 30",
        "pcf": {
            "declaredUnitOfMeasurement": "piece", "declaredUnitAmount": "1",
            "productMassPerDeclaredUnit": "0.021",
            "referencePeriodStart": "2025-01-01T00:00:00Z",
            "referencePeriodEnd": "2025-12-31T00:00:00Z",
            "geographyCountry": "IE",
            "boundaryProcessesDescription": "Cradle to gate: active ingredient, excipients, "
                                            "tableting, blister and carton",
            "pcfExcludingBiogenicUptake": figures.excluding_biogenic,
            "pcfIncludingBiogenicUptake": figures.including_biogenic,
            "fossilCarbonContent": "0.002", "biogenicCarbonContent": "0.0003",
            "recycledCarbonContent": "0", "fossilGhgEmissions": figures.fossil,
            "landUseChangeGhgEmissions": "0", "landCarbonLeakage": "0",
            "landManagementFossilGhgEmissions": "0", "landManagementBiogenicCO2Removals": "0",
            "biogenicCO2Uptake": "-0.0005", "biogenicNonCO2Emissions": "0",
            "landAreaOccupation": "0.0001", "aircraftGhgEmissions": "0",
            "packagingEmissionsIncluded": True, "packagingGhgEmissions": "0.0123",
            "packagingBiogenicCarbonContent": "0.0001",
            "ipccCharacterizationFactors": ["AR6"],
            "crossSectoralStandards": ["GHGP-Product", "PACT-3.0"],
            "exemptedEmissionsPercent": "0", "allocationRulesDescription": "Mass allocation",
            "primaryDataShare": "40",
        },
    }
    if preceding:
        doc["precedingPfIds"] = preceding
    return doc


@dataclass(frozen=True)
class LotLabour:
    """Direct labour of making one lot, as the commissioning event states it."""

    hours: str
    cost: str
    currency: str = "EUR"

    def ilmd(self) -> dict[str, str]:
        return {f"{LABOUR_PREFIX}:{HOURS}": self.hours, f"{LABOUR_PREFIX}:{COST}": self.cost,
                f"{LABOUR_PREFIX}:{CURRENCY}": self.currency}


#: Per lot of ten packs: 15 and 18 minutes of direct labour a pack.
LABOUR = (LotLabour("2.5", "118.75"), LotLabour("3", "142.5"))
