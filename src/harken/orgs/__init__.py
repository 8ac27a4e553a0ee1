"""Orgs: the businesses (tenants) using the hub, and their API keys, kept only as hashes."""
