"""Learning from what customers do: the learned scorer, its training and its offline evaluation."""
