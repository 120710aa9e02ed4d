"""Verifiable credentials for health professionals (W3C VC 2.0, eddsa-jcs-2022).

On the ledger (:mod:`salus.credentials.contracts`): batch anchors, status lists and the
policy of who may issue what. Off the ledger: Data Integrity proofs
(:mod:`~salus.credentials.data_integrity`), batch trees (:mod:`~salus.credentials.batch`),
the status list codec (:mod:`~salus.credentials.status_list`) and the credential types
(:mod:`~salus.credentials.types`).
"""
