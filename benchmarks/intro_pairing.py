"""Pairing for reconnect intros: `models.intro.pair_members` on 20,000 opted-in members (target <= 2 s).

    .venv/bin/python -m benchmarks.intro_pairing [--members 20000] [--rounds 10] [--repeat 5] [--seed 1]

Members get a realistic spread: 40 departments (a few large), tenures between 1995 and 2026, 0-8 skills
from 300, and 0-3 wanted overlaps. The history holds the pairs of `--rounds` earlier rounds (what "never the
same pair twice within a year" has to check). Prints, per repeat, the time to pair, then the median and the
worst, groups made, members left out, how many groups share the overlap they were matched on, and a check
that no pair repeats history and no member is in two groups.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from models.intro import WANTS, IntroCandidate, Pairing, pair_members  # noqa: E402

TARGET_SECONDS = 2.0


def make_candidates(count: int, rng: random.Random) -> list[IntroCandidate]:
    departments = [f"dept-{i}" for i in range(40)]
    weights = [10 if i < 5 else 1 for i in range(40)]  # a few big departments
    skills = [f"skill-{i}" for i in range(300)]
    people = []
    for member_id in range(1, count + 1):
        joined = rng.randint(1995, 2024)
        left = min(2026, joined + rng.randint(0, 12))
        people.append(
            IntroCandidate(
                member_id=member_id,
                slack_user_id=f"U{member_id:09d}",
                wants=frozenset(rng.sample(WANTS, rng.randint(0, 3))),
                department=rng.choices(departments, weights)[0],
                joined_year=joined,
                left_year=left,
                topics=frozenset(rng.sample(skills, rng.randint(0, 8))),
            )
        )
    return people


def check(pairings: list[Pairing], history: set[tuple[int, int]]) -> None:
    seen: set[int] = set()
    for pairing in pairings:
        ids = pairing.member_ids
        assert 2 <= len(ids) <= 3, ids
        assert not seen & set(ids), "a member is in two groups"
        seen |= set(ids)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                assert (min(a, b), max(a, b)) not in history, "a pair repeats"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    candidates = make_candidates(args.members, rng)
    history: set[tuple[int, int]] = set()
    started = time.perf_counter()
    for round_index in range(args.rounds):
        for pairing in pair_members(candidates, history=history, seed=f"history-{round_index}"):
            ids = pairing.member_ids
            history |= {(min(a, b), max(a, b)) for i, a in enumerate(ids) for b in ids[i + 1 :]}
    print(
        f"history: {len(history)} pairs from {args.rounds} earlier rounds ({time.perf_counter() - started:.1f} s)"
    )

    timings: list[float] = []
    pairings: list[Pairing] = []
    for repeat in range(args.repeat):
        started = time.perf_counter()
        pairings = pair_members(candidates, history=history, seed=f"bench-{repeat}")
        timings.append(time.perf_counter() - started)
        print(f"  run {repeat + 1}: {timings[-1]:.3f} s")
    check(pairings, history)
    paired = sum(len(p.member_ids) for p in pairings)
    matched = sum(1 for p in pairings if p.overlap)
    threes = sum(1 for p in pairings if len(p.member_ids) == 3)
    print(
        f"pair_members, {args.members} members: median {statistics.median(timings):.3f} s, "
        f"worst {max(timings):.3f} s (target <= {TARGET_SECONDS:.1f} s)"
    )
    print(
        f"groups: {len(pairings)} ({threes} of 3), members paired: {paired}, left out: {args.members - paired}, "
        f"groups matched on a wanted overlap: {matched}; no repeated pair, no member twice"
    )
    if max(timings) > TARGET_SECONDS:
        print("SLOWER THAN TARGET")


if __name__ == "__main__":
    main()
