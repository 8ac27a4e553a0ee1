"""Progressive profiling ("digital dating"): each org's question bank, and the rules for asking a customer
one easy question at a time, never twice, never what they already told."""
