"""The business's console."""
