"""A contextual bandit per org, in Vowpal Wabbit: the one module that knows VW. Everything else sees a
model as bytes and a `scoring.Scorer`.

The model is VW's `--cb_adf` learner: a regression of each action's cost on the shared features (what
the customer declared and the moment, namespace `s`), the action's own (namespace `a`) and their
products (`-q sa`), trained with the logged propensities (`--cb_type mtr`: each logged cost weighed by
1/propensity). `--cb_explore_adf` is the same learner with an exploration layer on top that turns the
costs into a probability mass function (epsilon-greedy by default); the hub explores already, in
`scoring.choose`, bounded by what the customer allows, so a second exploration here would spend the
customer's patience twice and log a propensity that is not the one the action was taken with. Scoring
therefore reads the learner's predicted costs for every action, and a score is minus the cost: the
expected reward, higher is better, which is what `choose` takes the best of.

Cost = -reward; propensity = the probability the logged policy took the chosen action with.

Pure in the import-linter sense: no database, no web, no clock. A model is written to and read from a
temporary file only because VW's Python binding saves and loads models by path.
"""

from __future__ import annotations

import math
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import pylibvw
import vowpalwabbit

from harken.decisions.scoring import DONT_SEND, Action, Choice, Features

# The learner. -b 18: 262,144 hashed weights (4 MB in memory with the adaptive state kept for training
# on); the saved model keeps only the weights that are not zero.
ARGUMENTS = "--cb_adf --cb_type mtr -q sa -b 18 --quiet"

# What VW's text format reads as syntax in a feature name: a space or tab ends it, ':' starts its
# value, '|' a namespace. Percent-escaped (and '%' itself), so distinct names stay distinct.
_ESCAPE = str.maketrans(
    {"%": "%25", ":": "%3A", "|": "%7C", " ": "%20", "\t": "%09", "\n": "%0A", "\r": "%0D"}
)


class Example(NamedTuple):
    """A logged choice and what it earned: 1 accepted, 0 nothing, a negative penalty for an opt-out."""

    choice: Choice
    reward: float


def escape(name: str) -> str:
    return name.translate(_ESCAPE)


@lru_cache(maxsize=1 << 16)
def _token(name: str, value: float) -> str:
    """One feature as VW reads it (a value of 1 goes without saying). Cached: the same few thousand
    names and values recur in every decision of an org."""
    return escape(name) if value == 1.0 else f"{escape(name)}:{value!r}"


def _features(features: Features) -> str:
    # a zero or a NaN says nothing a weight could use
    return " ".join(
        [_token(name, value) for name, value in features.items() if value and math.isfinite(value)]
    )


def lines(shared: Features, actions: Sequence[Action], label: tuple[int, float, float] | None = None) -> str:
    """A decision as a VW multi-line ADF example: the shared line, then one line per action; `label`
    (chosen index, cost, propensity) marks the action taken when learning."""
    out = [_shared(tuple(shared.items()))]
    written: dict[int, _Own] = {}  # the channels of one offer share one features mapping
    for offer_id, channel, features in actions:
        own = written.get(id(features))
        if own is None:
            own = written[id(features)] = _own(tuple(features), tuple(features.values()))
        out.append(own.lines.get((offer_id, channel)) or own.line(offer_id, channel))
    if label is not None:
        chosen, cost, propensity = label
        out[chosen + 1] = f"0:{cost!r}:{propensity!r} {out[chosen + 1]}"
    return "\n".join(out)


@lru_cache(maxsize=1 << 12)
def _shared(features: tuple[tuple[str, float], ...]) -> str:
    return f"shared |s {_features(dict(features))}"


class _Own:
    """An action's own features as VW reads them, and the line of each action (offer and channel) that
    carries them. Cached by the features' names and values (`_own`): an org's offers and channels recur
    in every decision, in mappings made afresh for each, and the text is the same."""

    __slots__ = ("_names", "_tokens", "lines")

    def __init__(self, names: tuple[str, ...], values: tuple[float, ...]) -> None:
        self._names = names
        self._tokens = _features(dict(zip(names, values, strict=True)))
        self.lines: dict[tuple[str, str | None], str] = {}  # (offer id, channel) → its line, once made

    def line(self, offer_id: str, channel: str | None) -> str:
        """The action's line, made and kept (two threads may both make it: the same text)."""
        identity = _identity(offer_id, channel, f"offer={offer_id}" in self._names)
        found = f"|a {identity} {self._tokens}" if self._tokens else f"|a {identity}"
        self.lines[(offer_id, channel)] = found
        return found


@lru_cache(maxsize=1 << 14)
def _own(names: tuple[str, ...], values: tuple[float, ...]) -> _Own:
    return _Own(names, values)


def _identity(offer_id: str, channel: str | None, named: bool) -> str:
    """The action itself, beside its features: which offer (unless its features name it already) by
    which channel, or not sending."""
    if offer_id == DONT_SEND:
        return "send=no"
    found = {f"channel={channel}": 1.0, f"action={offer_id}@{channel}": 1.0}
    return _features(found if named else {f"offer={offer_id}": 1.0, **found})


def _workspace(model: bytes | None) -> vowpalwabbit.Workspace:
    if model is None:
        return vowpalwabbit.Workspace(ARGUMENTS)
    with tempfile.TemporaryDirectory(prefix="harken-vw-") as directory:
        path = Path(directory) / "model.vw"
        path.write_bytes(model)
        return vowpalwabbit.Workspace(f"--quiet -i {path}")


def _saved(workspace: vowpalwabbit.Workspace) -> bytes:
    with tempfile.TemporaryDirectory(prefix="harken-vw-") as directory:
        path = Path(directory) / "model.vw"
        workspace.save(str(path))
        return path.read_bytes()


# VW's Python `Workspace.learn` and `predict` wrap every line of a multi-line example in a Python object
# (five times the cost of VW's own parsing and prediction: 130 µs against 22 µs for 21 actions). These
# call the binding underneath, as those methods do; tests/learning/test_vw.py checks that the answers
# agree with `Workspace.predict`'s, so a VW upgrade that changed them fails there.
def _learn_one(workspace: Any, text: str) -> None:
    parsed = workspace._parse(text)
    try:
        pylibvw.vw.learn_multi(workspace, parsed)
    finally:
        pylibvw.vw._finish_example_multi_ex(workspace, parsed)


def _costs(workspace: Any, text: str) -> list[float]:
    parsed = workspace._parse(text)
    try:
        pylibvw.vw.predict_multi(workspace, parsed)
        costs: list[float] = parsed[0].get_action_scores()  # one per action, in the actions' order
    finally:
        pylibvw.vw._finish_example_multi_ex(workspace, parsed)
    return costs


def learn(model: bytes | None, examples: Iterable[Example]) -> bytes:
    """`model` (None: a new one) trained further on `examples`, in their order, as new bytes."""
    workspace = _workspace(model)
    try:
        for example in examples:
            choice = example.choice
            propensity = choice.propensity
            if not 0.0 < propensity <= 1.0:
                raise ValueError(f"a logged choice's propensity must be in (0, 1], not {propensity}")
            label = (choice.chosen, -float(example.reward), propensity)
            _learn_one(workspace, lines(choice.shared, choice.actions, label))
        return _saved(workspace)
    finally:
        workspace.finish()


def progressive(examples: Iterable[Example]) -> Iterator[tuple[Example, list[float]]]:
    """Progressive validation: each example with the scores a fresh model gave its actions having learned
    from the examples before it only, then learned. The model at the end is the one `learn(None, …)`
    makes of the same examples, so this judges how that model was made without scoring a decision it
    has already seen."""
    workspace = _workspace(None)
    try:
        for example in examples:
            choice = example.choice
            text = lines(choice.shared, choice.actions)
            yield example, [-cost for cost in _costs(workspace, text)]
            label = (choice.chosen, -float(example.reward), choice.propensity)
            _learn_one(workspace, lines(choice.shared, choice.actions, label))
    finally:
        workspace.finish()


class LearnedScorer:
    """A `scoring.Scorer` over one org's model version: the score of an action is the reward the model
        expects of it (minus its predicted cost). Safe to share between threads (VW's is not: a lock); VW's
    own workspace is released when the scorer is collected."""

    def __init__(self, org_id: str, version: int, model: bytes) -> None:
        self._name = f"vw:{org_id}:{version}"
        self._workspace = _workspace(model)
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    def score(self, shared: Features, actions: Sequence[Action]) -> list[float]:
        if not actions:
            return []
        text = lines(shared, actions)
        with self._lock:
            costs = _costs(self._workspace, text)
        if len(costs) != len(actions):
            raise RuntimeError(f"the model scored {len(costs)} of {len(actions)} actions")
        return [-cost for cost in costs]
