"""Portable credentials: SD-JWT VCs (RFC 9901) the hub issues to a customer, who shows a business only
the claims they choose, and the Token Status List that says whether a credential was revoked. jws, sdjwt
and statuslist are pure (keys, time and randomness come in as arguments); service, api and cli serve them."""
