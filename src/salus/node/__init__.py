"""The embedded node: ingress, ordering, commit and the receipts clients wait for."""
