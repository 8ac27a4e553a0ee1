"""The ledger: an append-only, hash-chained log of every change, with signed checkpoints
and signed per-record receipts that anyone holding the hub's public key can verify."""
