"""Delegated grants: the verified person lets an agent of their own (a "Personal AI") act for them,
within the scopes they chose, until expiry or revocation — obtained by OAuth 2.1 with PKCE."""
