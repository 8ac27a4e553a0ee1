"""Makes this folder's slice of the Open Bandit Dataset sample (see README.md) from an unpacked obp
0.5.7 source distribution: `python tests/vectors/obd/make_slice.py /tmp/obp/obp-0.5.7`.

Keeps, of the "all" campaign's random and Bernoulli-TS logs, the columns an estimator needs (item,
position, click, propensity), in the logs' own (time) order; keeps the Bernoulli-TS prior ZOZOTOWN
used at the start of the collection period; and computes from that prior, by a seeded Monte Carlo
simulation of the policy (rank the items by one Beta draw each, show the top three), the probability
of each item at each position: the evaluation policy's distribution.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

HERE = Path(__file__).parent
SIMULATIONS = 200_000
SEED = 16
POSITIONS = 3


def read_prior(path: Path) -> tuple[list[float], list[float]]:
    """The `all:` block of obp's policy/conf/prior_bts.yaml: two lists of floats (parsed by hand)."""
    alpha: list[float] = []
    beta: list[float] = []
    block = key = None
    for line in path.read_text().splitlines():
        if not line.startswith(" "):
            block = line.rstrip(":")
        elif line.strip() in ("alpha:", "beta:"):
            key = line.strip().rstrip(":")
        elif block == "all" and line.strip().startswith("- "):
            (alpha if key == "alpha" else beta).append(float(line.strip()[2:]))
    return alpha, beta


def main(root: Path) -> None:
    obd = root / "obp" / "dataset" / "obd"
    for policy in ("random", "bts"):
        with (obd / policy / "all" / "all.csv").open() as f, (HERE / f"{policy}.csv").open("w") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["item_id", "position", "click", "propensity_score"])
            for row in csv.DictReader(f):
                writer.writerow([row["item_id"], row["position"], row["click"], row["propensity_score"]])
    alpha, beta = read_prior(root / "obp" / "policy" / "conf" / "prior_bts.yaml")
    with (HERE / "bts_prior.csv").open("w") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["item_id", "alpha", "beta"])
        writer.writerows([i, a, b] for i, (a, b) in enumerate(zip(alpha, beta, strict=True)))
    rng = random.Random(SEED)
    counts = [[0] * POSITIONS for _ in alpha]
    items = range(len(alpha))
    for _ in range(SIMULATIONS):
        draws = [rng.betavariate(alpha[i], beta[i]) for i in items]
        for position, item in enumerate(sorted(items, key=draws.__getitem__, reverse=True)[:POSITIONS]):
            counts[item][position] += 1
    with (HERE / "bts_action_dist.csv").open("w") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["item_id", *(f"position_{p + 1}" for p in range(POSITIONS))])
        writer.writerows([i, *(c / SIMULATIONS for c in counts[i])] for i in items)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
