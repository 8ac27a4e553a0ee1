"""Decisions: an org's offers, the answer to "may I contact this customer now, how, with what?" (a pure
engine over a snapshot the service builds), the log every customer can read, and feedback."""
