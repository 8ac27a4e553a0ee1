"""The Preference Centre: the customer's own window onto everything Harken holds about them."""
