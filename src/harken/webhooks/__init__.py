"""Signed webhooks through an outbox: an org's systems learn of a change at once, at least once."""
