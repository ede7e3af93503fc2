"""Selectors as keys: the hash kept once worked out must behave as the generated one did."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys

from meshwatch.selector import Matcher, Selector


def _selector() -> Selector:
    return Selector(
        "http_requests_total", (Matcher("job", "=", "cart"), Matcher("code", "=~", "5.."))
    )


def test_equal_selectors_hash_alike_and_find_each_other() -> None:
    first, second = _selector(), _selector()
    assert hash(first) == hash(first) == hash(second)
    assert {first: 1}[second] == 1
    other = first.with_matchers(Matcher("le", "=", "+Inf"))
    assert other != first and {first: 1}.get(other) is None
    renamed = dataclasses.replace(first, metric="grpc_requests_total")
    assert hash(renamed) == hash(Selector("grpc_requests_total", first.matchers))
    assert repr(first) == (
        "Selector(metric='http_requests_total', matchers=(Matcher(label='job', op='=', "
        "value='cart'), Matcher(label='code', op='=~', value='5..')))"
    )


def test_a_copy_or_a_pickle_works_its_hash_out_again() -> None:
    """String hashes differ between processes: a pickled selector must not carry one."""
    original = _selector()
    hash(original)
    for twin in (
        pickle.loads(pickle.dumps(original)),
        copy.copy(original),
        copy.deepcopy(original),
    ):
        assert twin == original and hash(twin) == hash(original)
    script = (
        "import pickle, sys\n"
        "from meshwatch.selector import Selector\n"
        "s = pickle.loads(sys.stdin.buffer.read())\n"
        "fresh = Selector(s.metric, s.matchers)\n"
        "print(hash(s) == hash(fresh) and {fresh: 1}[s] == 1)\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(original),
        capture_output=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    )
    assert found.stdout.strip() == b"True"
