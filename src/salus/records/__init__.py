"""Patient-owned health records: the vault, the gateway, consent and the audit trail.

On the ledger (``records.contracts``): which custodian holds which version of which
record (hashes only), the patient's consent, every access. Off the ledger: each
custodian's encrypted :mod:`~salus.records.vault` and the
:mod:`~salus.records.gateway` that serves it only as the ledger allows.
"""
