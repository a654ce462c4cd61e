"""The two profiles: the full comparison and the CI-sized quick one.

A profile names, per scenario, the systems and concurrency levels, the measured window and the
warm-up bounds; ``compare_users`` is the level at which the summary lines and the CI check
compare checkout throughput. Extra phases of the full run: the engine at ``rss_users`` (its
memory with that many open connections) and a paced run at half the engine's peak checkout
throughput (its latency there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENGINES = ("engine-1w", "engine-2w")
BASELINES = ("sync-workers", "sync-threads")
# Run only when named in --systems, wherever engine-1w runs: the engine with one change undone.
VARIANTS = ("engine-litestar",)


@dataclass(frozen=True)
class Stage:
    """One scenario on some systems at some levels."""

    scenario: str
    systems: tuple[str, ...]
    users: tuple[int, ...]
    measure_s: float
    warmup_min_s: float = 5.0
    warmup_max_s: float = 45.0
    min_cycles: float = 2.0  # the window spans at least this many warm-up cycles (see bench/load/common.py)
    measure_max_s: float = 60.0
    offered_per_s: float = 0.0  # > 0: users paced to offer this many flows per second in all


@dataclass(frozen=True)
class Profile:
    """Everything one run of ``python -m bench`` does."""

    name: str
    stages: tuple[Stage, ...]
    compare_users: int
    rss_users: int = 0  # 0: no separate open-connections run
    half_peak: bool = False
    half_peak_users: int = 200
    notes: tuple[str, ...] = field(default_factory=tuple)

    def systems(self) -> list[str]:
        """Every system the profile starts, in the order they run."""
        order = [*ENGINES, *VARIANTS, *BASELINES, "ceiling"]
        wanted = {name for stage in self.stages for name in stage.systems}
        return [name for name in order if name in wanted]

    def stages_for(self, system: str) -> list[Stage]:
        """The stages ``system`` takes part in, in order."""
        return [stage for stage in self.stages if system in stage.systems]


FULL = Profile(
    name="full",
    stages=(
        Stage(
            "checkout",
            (*ENGINES, *BASELINES),
            (50, 200, 500),
            measure_s=30,
            warmup_max_s=60,
            min_cycles=3,
            measure_max_s=120,
        ),
        Stage("create", ("engine-1w", "ceiling"), (50, 200), measure_s=20, warmup_min_s=3, warmup_max_s=15),
        # 50 users: beyond that the single-process sandbox saturates sending webhooks (see the report)
        Stage("mix", ENGINES, (50,), measure_s=30, warmup_max_s=40),
    ),
    compare_users=500,
    rss_users=1000,
    half_peak=True,
)

QUICK = Profile(
    name="quick",
    stages=(
        Stage("checkout", (*ENGINES, *BASELINES), (200,), measure_s=15, warmup_max_s=30, measure_max_s=45),
        Stage("create", ("engine-1w", "ceiling"), (100,), measure_s=10, warmup_min_s=3, warmup_max_s=10),
    ),
    compare_users=200,
)

PROFILES = {"full": FULL, "quick": QUICK}


def custom(base: Profile, users: tuple[int, ...] | None, systems: tuple[str, ...] | None,
           scenarios: tuple[str, ...] | None, measure_s: float | None) -> Profile:  # fmt: skip
    """``base`` narrowed or changed from the command line."""
    stages = []
    for stage in base.stages:
        if scenarios and stage.scenario not in scenarios:
            continue
        variants = VARIANTS if systems and "engine-1w" in stage.systems else ()
        names = tuple(s for s in (*stage.systems, *variants) if not systems or s in systems)
        if not names:
            continue
        stages.append(
            Stage(
                stage.scenario,
                names,
                users or stage.users,
                measure_s or stage.measure_s,
                stage.warmup_min_s,
                stage.warmup_max_s,
                stage.min_cycles,
                stage.measure_max_s,
                stage.offered_per_s,
            )
        )
    compare = base.compare_users if not users else max(users)
    return Profile(base.name, tuple(stages), compare, base.rss_users, base.half_peak, base.half_peak_users)
