"""Harken: a zero-party context, preference and consent hub.

Customers tell businesses who they are right now, what matters, what they like and
what they consent to; businesses ask Harken before they act. Every consent is provable.
"""

__version__ = "0.1.0"
