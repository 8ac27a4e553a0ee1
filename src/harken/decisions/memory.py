"""What one process remembers between decisions: each (org, person)'s basis and each org's offers as
engine objects. Nothing here is trusted on its own: a decision reads the person's change counter (and
the catalogue's) in its own transaction, and uses what is remembered only when the counter is the one
it was read at. The database bumps the counters in the same transaction as every write that changes
what a decision may see (migration 0015), so a withdrawal through any process or node applies to the
very next decision everywhere.

Bounded (least recently used first out) and thread-safe: on PostgreSQL units of work run on several
threads at once.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable

from harken.decisions import snapshot as engine
from harken.decisions.basis import Basis

People = tuple[uuid.UUID, uuid.UUID]  # (org, the org's subject)


class Memory:
    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._bases: OrderedDict[People, Basis] = OrderedDict()
        self._offers: dict[uuid.UUID, tuple[int, dict[str, engine.Offer]]] = {}
        self.hits = self.misses = 0

    def basis(self, key: People, stamp: tuple[uuid.UUID, int]) -> Basis | None:
        """The remembered basis, if it was read at this stamp."""
        with self._lock:
            found = self._bases.get(key)
            if found is None or found.stamp != stamp:
                self.misses += 1
                return None
            self._bases.move_to_end(key)
            self.hits += 1
            return found

    def keep(self, key: People, basis: Basis) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._bases[key] = basis
            self._bases.move_to_end(key)
            while len(self._bases) > self.size:
                self._bases.popitem(last=False)

    def forget(self, key: People) -> None:
        """Drop what is held about this person (they were erased: nothing of them stays in memory)."""
        with self._lock:
            self._bases.pop(key, None)

    def clear(self) -> None:
        """Forget everything (a batch that read uncommitted changes did not commit)."""
        with self._lock:
            self._bases.clear()
            self._offers.clear()

    def offers(
        self,
        org_id: uuid.UUID,
        version: int,
        ids: Iterable[str],
        read: Callable[[list[str]], dict[str, engine.Offer]],
    ) -> dict[str, engine.Offer]:
        """The org's offers among `ids` as engine objects, at catalogue `version`; `read` fetches those
        not remembered (missing ids are simply absent from the answer)."""
        wanted = list(dict.fromkeys(ids))
        with self._lock:
            held_version, held = self._offers.get(org_id, (version, {}))
            known = dict(held) if held_version == version else {}
        missing = [i for i in wanted if i not in known]
        if missing:
            known.update(read(missing))
            if self.size > 0:
                with self._lock:
                    current = self._offers.get(org_id)
                    if current is None or current[0] <= version:
                        merged = current[1] if current and current[0] == version else {}
                        self._offers[org_id] = (version, {**merged, **known})
        return {i: known[i] for i in wanted if i in known}
