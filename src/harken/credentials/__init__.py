"""Portable credentials: SD-JWT VCs (RFC 9901) the hub issues to a customer, who shows a business only
the claims they choose, and the Token Status List that says whether a credential was revoked.
Pure functions over plain data and keys; the clock and the randomness come in as arguments."""
