"""Shares: the customer tells several businesses at once what each needs, for a purpose and a time."""
