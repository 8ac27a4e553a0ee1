"""Subjects: the customers. One person, known to each org only by that org's own `ref`."""
