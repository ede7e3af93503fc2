"""The embedded engine's counter history as JSON bytes, kept over a restart of meshwatch.

Only the accumulated history of each track is kept, not the per-series last values: the
first scrape after a restore is a baseline, so events while meshwatch was down are not
counted (never counted twice either).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from meshwatch.collectors.scrape_history import CounterHistory, Tier
from meshwatch.collectors.scrape_tracks import Track
from meshwatch.model import Matcher, Selector

SNAPSHOT_FORMAT = "meshwatch-scrape-store/1"


def encode(tracks: Iterable[Track]) -> bytes:
    """Every track's groups (times, accumulated values, floor) as JSON bytes."""
    items = [
        {
            "metric": track.selector.metric,
            "matchers": [[m.label, m.op, m.value] for m in track.selector.matchers],
            "group_by": track.group_by,
            "groups": {
                group: dict(zip(("times", "accs"), history.points(), strict=True))
                | {"floor": history.floor}
                for group, history in track.history.items()
            },
        }
        for track in tracks
    ]
    return json.dumps({"format": SNAPSHOT_FORMAT, "tracks": items}).encode()


def restore_into(
    tracks: Mapping[tuple[Selector, str | None], Track], data: bytes, tiers: tuple[Tier, ...]
) -> int:
    """Load `data` into the matching `tracks` (others are skipped); how many were restored.

    ValueError on a snapshot of another format.
    """
    state = json.loads(data)
    if not isinstance(state, dict) or state.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"not a {SNAPSHOT_FORMAT} snapshot")
    restored = 0
    for item in state["tracks"]:
        matchers = tuple(Matcher(label, op, value) for label, op, value in item["matchers"])
        track = tracks.get((Selector(item["metric"], matchers), item["group_by"]))
        if track is None:
            continue
        for group, points in item["groups"].items():
            track.history[group] = CounterHistory.restore(
                float(points["floor"]), points["times"], points["accs"], tiers
            )
            track.acc[group] = float(points["accs"][-1]) if points["accs"] else 0.0
        restored += 1
    return restored
