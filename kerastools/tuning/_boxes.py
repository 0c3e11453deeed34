"""The geometry of coarse-to-fine search, in unit coordinates: round sizes, clusters, boxes.

Pure functions on plain lists and dicts (no KerasTuner), so that every step of
`CoarseToFineOracle`'s rule can be checked by hand. A point is a pair
``(coords, choices)``: ``coords`` maps each active numerical hyperparameter to
its unit coordinate ``u`` in [0, 1], ``choices`` each active ``hp.Choice`` /
``hp.Boolean`` to its value.
"""

import math



FIRST_ROUND = 0.4


def round_sizes(max_trials, rounds):
    """Trials per round: 40% of `max_trials` (rounded up) for the coarse round 0,
    the rest split as evenly as possible over the other rounds, earlier first.

    The coarse round decides where the later rounds look; with too few points it
    zooms in on a poor region, with too many it leaves little to zoom with
    (measured in ``benchmarks/tuning.py``).
    """
    if rounds == 1:
        return [max_trials]
    first = min(math.ceil(FIRST_ROUND * max_trials), max_trials - (rounds - 1))
    base, extra = divmod(max_trials - first, rounds - 1)
    return [first] + [base + (1 if r < extra else 0) for r in range(rounds - 1)]


def auto_rounds(max_trials):
    """The number of rounds for a budget: one coarse round of 40% of the trials,
    then rounds of about ``sqrt(max_trials) / 1.5`` trials (at least 2) each.

    12 trials: 5 rounds (5, 2, 2, 2, 1); 30: 5 (12, 5, 5, 4, 4); 60: 8 (24, 6,
    5, 5, 5, 5, 5, 5); fewer than 6 trials: one round, i.e. no zooming.
    """
    if max_trials < 6:
        return 1
    later = max_trials - math.ceil(FIRST_ROUND * max_trials)
    per_round = max(2, round(math.sqrt(max_trials) / 1.5))
    return 1 + max(1, round(later / per_round))


def next_width(width, improved, zoom, grow):
    """The boxes' width for the next round: ``min(1, width * grow)`` after a
    round that improved on the best score before it, ``width * zoom`` after one
    that did not (a trust region: it follows progress and closes in on a
    stalled search)."""
    return min(1.0, width * grow) if improved else width * zoom


def schedule(improved, zoom, grow, restart):
    """The width and kind of rounds 1, 2, ...: ``(width, is_restart)`` for
    ``len(improved) + 1`` rounds, where ``improved[j - 1]`` says whether round
    ``j`` improved on the best score before it.

    Round 1 has width `zoom`. After a round of boxes the width follows
    `next_width`. When the first `restart` rounds of boxes since round 0 (or
    since the last restart) all brought no improvement, the next round is a
    restart (width 1: drawn from the whole space), and the round after it
    starts again from `zoom`; ``restart=0`` never restarts. Zooming that has
    found nothing better around its start is given up instead of narrowed
    onto a poor trial.
    """
    rounds = [(zoom, False)]
    stalled = 0  # rounds of boxes since the (re)start, none of which improved; None once one has
    for flag in improved:
        width, was_restart = rounds[-1]
        if was_restart:
            rounds.append((zoom, False))
            stalled = 0
            continue
        stalled = None if (flag or stalled is None) else stalled + 1
        if restart and stalled == restart:
            rounds.append((1.0, True))
        else:
            rounds.append((next_width(width, flag, zoom, grow), False))
    return rounds


def farthest(candidates, seen):
    """The index of the candidate farthest from the points `seen`: the largest
    smallest squared Euclidean distance over the unit coordinates a candidate
    shares with each seen point (the first such candidate on ties; 0 when
    nothing was seen).

    Each is a ``{name: u}`` dict, as the ``coords`` of a point.
    """
    def gap(c):
        return min((sum((c[name] - s[name]) ** 2 for name in c if name in s) for s in seen), default=0.0)

    gaps = [gap(c) for c in candidates]
    return gaps.index(max(gaps))


def split_round(size, explore):
    """``(exploit, explore)`` trials of a later round of `size` trials: the
    explorers are ``floor(explore * size)``, at most ``size - 1``."""
    n_explore = min(size - 1, math.floor(explore * size + 1e-9))
    return size - n_explore, n_explore


def distance(a, b):
    """Chebyshev distance between the unit coordinates two points share (0 when none)."""
    shared = [name for name in a if name in b]
    return max((abs(a[name] - b[name]) for name in shared), default=0.0)


def clusters(points, radius, max_boxes):
    """Group `points` (best first) around leaders: a point joins the first
    cluster whose leader is within `radius` (`distance`), else it leads a new
    cluster while there are fewer than `max_boxes`, else it is left out.

    Returns lists of indices into `points`, each led by its first (best) index.
    """
    groups = []
    for i, (coords, _) in enumerate(points):
        for group in groups:
            if distance(points[group[0]][0], coords) <= radius:
                group.append(i)
                break
        else:
            if len(groups) < max_boxes:
                groups.append([i])
    return groups


def least_width(group, width, lone_width):
    """The least width of a cluster's box: `width`, except ``lone_width * width``
    for a cluster of one trial other than the first (best) cluster.

    A good trial with no good trial near it is a lucky draw or the edge of a
    narrow basin; a box as wide as the best cluster's spends its few trials
    far from it, and finds neither. (Measured in ``benchmarks/tuning.py``: on
    the deceptive objective the narrow basin is found more often.)
    """
    return lone_width * width if len(group) == 1 and group[0] != 0 else width


def interval(centre, members, width):
    """The interval of one parameter in a box: centred on `centre`, wide enough
    to hold every member (``2 * max |u - centre|``) and at least `width`, never
    more than 1, then shifted (not cut) into [0, 1]."""
    half = max(0.5 * width, max((abs(u - centre) for u in members), default=0.0))
    span = min(1.0, 2.0 * half)
    lo = min(max(centre - 0.5 * span, 0.0), 1.0 - span)
    return [lo, lo + span]


def box(points, group, width, choice_values, prune_choices):
    """The box of one cluster: an interval per numerical parameter active in a
    member (centred on the middle of the members' coordinates) and, with
    `prune_choices`, the values of each choice seen in the members, in the order
    of `choice_values` (``{name: [all values]}``)."""
    intervals, choices = {}, {}
    for i in group:
        for name in points[i][0]:
            if name not in intervals:
                members = [points[j][0][name] for j in group if name in points[j][0]]
                intervals[name] = interval(0.5 * (min(members) + max(members)), members, width)
    if prune_choices:
        for name, values in choice_values.items():
            seen = {points[j][1][name] for j in group if name in points[j][1]}
            if seen:
                choices[name] = [v for v in values if v in seen]
    return {"intervals": intervals, "choices": choices}
