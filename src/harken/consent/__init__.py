"""Consent: the purpose catalogue, orgs' versioned notices, and append-only consent records
whose current state is derived, each with a ledger entry and a signed receipt."""
