"""Drug supply chain on GS1 EPCIS 2.0 (issue 16): the pure foundations.

* :mod:`salus.supply.identifiers`: GTIN/serial/lot/expiry from a DataMatrix element
  string, a GS1 Digital Link or an EPC URN, as one :class:`~.identifiers.Identity`.
* :mod:`salus.supply.event_hash`: the CBV 2.0 §8.9 canonical event hash of an EPCIS event.
* :mod:`salus.supply.document`: an EPCIS 2.0 JSON-LD document read safely and validated
  against GS1's JSON Schema, every reason reported.

GS1's schemas and contexts ship in ``gs1/`` with GS1's notice.
"""
