"""Learning to listen: a contextual bandit per org over what customers declared and the moment, trained
from the decision log and its feedback, evaluated offline, and served beside the rules only once promoted."""
