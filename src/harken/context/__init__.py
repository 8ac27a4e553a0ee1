"""What the customer tells, and what happens: personas, expiring context, preferences (each datum with
its provenance and who may see it), the customer's sharing choices, and events such as purchases."""
