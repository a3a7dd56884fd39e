"""The `ladder` hub target: the strike ladder's band quotes as numbered deltas.

The producer posts the whole band (≈15 strikes) at most every second or so; viewers get
only the rows that changed since the last broadcast, split so each message stays under
2 KB. Every message carries `seq` and the `base` it applies to; `GET /api/ladder` answers
the state as of the last broadcast with its `seq`, so a viewer loads that, then applies
deltas with `base == seq`, and on a gap (missed message, reconnect) reloads. Newer posts
replace unsent ones (latest wins): the ladder slows down under a tight budget, it never
queues.

Message: `{"seq", "base", "t", "s" (spot), "x" (expiry), "f" (forward), "w" (producer's wall
clock, ms), "rows": [row...], "gone": [strike...]}` with rows as in `spy_backend.ladder.ROW_FIELDS`.
"""

from __future__ import annotations

import json

from .smile import smile_message

MAX_BYTES = 1900  # under the broadcaster's 2,000-byte message limit, with framing


class LadderFeed:
    def __init__(self) -> None:
        self.seq = 0
        self._sent: dict | None = None  # full state as of `seq`
        self._latest: dict | None = None  # newest post, not yet broadcast
        self._smile_sent: list | None = None

    def update(self, ladder: dict) -> None:
        self._latest = ladder

    @property
    def pending(self) -> bool:
        return self._latest is not None

    def current(self) -> dict | None:
        """The full ladder as of the last broadcast (what deltas after `seq` apply to)."""
        if self._sent is None:
            return None
        return {"seq": self.seq, **self._sent}

    def commit_unsent(self) -> None:
        """Nobody is watching: the latest post becomes the state without a message."""
        if self._latest is not None:
            self._sent, self._latest = self._latest, None
            self.seq += 1

    def take_smile(self) -> dict | None:
        """The whole smile of the last broadcast state as a `smile` message (columns that fit
        one message: `realtime.smile`), or None when it is empty or the one sent before. Not
        a delta: the fit moves every strike's fitted vol at once."""
        smile = None if self._sent is None else self._sent.get("smile")
        if not smile or smile == self._smile_sent:
            return None
        self._smile_sent = smile
        sent = self._sent
        assert sent is not None
        return smile_message(sent["timestamp"], sent["expiry"], sent["spot"], smile)

    def take(self) -> list[dict]:
        """The delta messages from the last broadcast state to the latest post."""
        latest, self._latest = self._latest, None
        if latest is None:
            return []
        old_rows = {} if self._sent is None else {r[0]: r for r in self._sent["rows"]}
        new_rows = {r[0]: r for r in latest["rows"]}
        changed = [r for k, r in new_rows.items() if old_rows.get(k) != r]
        gone = [k for k in old_rows if k not in new_rows]
        self._sent = latest
        head = {
            "t": latest["timestamp"],
            "s": latest["spot"],
            "x": latest["expiry"],
            "f": latest["forward"],
            "w": latest.get("wall_ms"),
        }
        messages: list[dict] = []
        chunk: list[list] = []
        size = len(json.dumps(head)) + 80 + len(json.dumps(gone))
        for row in changed:
            row_size = len(json.dumps(row, separators=(",", ":"))) + 1
            if chunk and size + row_size > MAX_BYTES:
                messages.append({**head, "rows": chunk, "gone": []})
                chunk, size = [], len(json.dumps(head)) + 80
            chunk.append(row)
            size += row_size
        messages.append({**head, "rows": chunk, "gone": gone})
        for message in messages:
            message["base"] = self.seq
            self.seq += 1
            message["seq"] = self.seq
        return messages
