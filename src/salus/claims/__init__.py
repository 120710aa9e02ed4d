"""Claims and prior authorisation (issue 17): payers' published rules, coverage, and the
decisions on requests and claims, on the ledger; the claims themselves stay in vaults.

* :mod:`salus.claims.rules`: a payer's rule set, a versioned decision table;
* :mod:`salus.claims.adjudicate`: the one pure function from (claim, rules, ledger facts)
  to a decision per item;
* :mod:`salus.claims.contracts`: the ``claims`` contract (rules CL1-CL15);
* :mod:`salus.claims.verify`: re-adjudication of a stored decision by whoever holds the
  claim;
* :mod:`salus.claims.pas` (and ``pas_request``, ``pas_response``), :mod:`salus.claims.eob`:
  the HL7 Da Vinci PAS mapping and the patient's ExplanationOfBenefit, pure functions.
"""
