"""Block-interval statistics (network.block_interval_stats) against a per-block simulation of
the same setup, and the chain tip's time of day (network.start_hour_utc)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from scipy import stats

from builders import CHAIN_2026, base_doc, build
from hashfleet.network.retarget import bits_to_difficulty_array, next_bits_array
from hashfleet.runner import simulate

DAYS = 12  # the test chain's epoch ends after ~1043 blocks (~7 days): one retarget inside
HASHRATE_EHS = 1000.0


def _scenario(n_paths: int, **network: object):  # type: ignore[no-untyped-def]
    d = base_doc(horizon_days=DAYS, paths=n_paths)
    d["network"]["hashrate"] = {
        "model": "growth",
        "start_ehs": HASHRATE_EHS,
        "growth_per_year": 0.0,
        "noise_sigma": 0.0,
    }
    d["network"]["block_interval_stats"] = True
    d["network"].update(network)
    d["fleet"]["cohorts"] = d["fleet"]["cohorts"][:1]  # always profitable: H constant
    return build(d)


def _per_block(n_paths: int, seed: int, start_unix: float) -> dict[str, np.ndarray]:
    """Exponential gaps block by block, with Core's retarget at the epoch's last block."""
    rng = np.random.default_rng(seed)
    h = np.full(n_paths, CHAIN_2026["height"], dtype=np.int64)
    bits = np.full(n_paths, CHAIN_2026["bits"], dtype=np.int64)
    diff = bits_to_difficulty_array(bits)
    epoch_start = np.full(
        n_paths,
        int(dt.datetime.fromisoformat(CHAIN_2026["epoch_start_time"]).timestamp()),
        dtype=np.int64,
    )
    t = np.zeros(n_paths)
    end = DAYS * 86400.0
    gaps: list[np.ndarray] = []
    alive = np.ones(n_paths, dtype=bool)
    while alive.any():
        lam = HASHRATE_EHS * 1e18 / (diff * 2.0**32)
        g = rng.exponential(1.0 / lam)
        t_new = t + g
        alive &= t_new < end
        gaps.append(np.where(alive, g, np.nan))
        t = np.where(alive, t_new, t)
        h = np.where(alive, h + 1, h)
        stamp = np.floor(start_unix + t).astype(np.int64)
        first = alive & (h % 2016 == 0)
        epoch_start[first] = stamp[first]
        last = alive & (h % 2016 == 2015)
        if last.any():
            bits[last] = next_bits_array(bits[last], stamp[last] - epoch_start[last])
            diff[last] = bits_to_difficulty_array(bits[last])
    G = np.array(gaps)  # (blocks, paths), NaN past the end
    n = np.sum(~np.isnan(G), axis=0)
    return {
        "mean": np.nanmean(G, axis=0),
        "std": np.nanstd(G, axis=0, ddof=1),
        "max": np.nanmax(G, axis=0),
        "over1h": np.nansum(G > 3600, axis=0).astype(float),
        "n": n.astype(float),
    }


def test_interval_statistics_match_a_per_block_simulation() -> None:
    n = 2000
    res = simulate(_scenario(n), paths=n, seed=11)
    pp = res.per_path
    start_unix = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    ref = _per_block(n, 12, start_unix)
    got = {
        "mean": pp["final_block_time_mean_s"].to_numpy(),
        "std": pp["final_block_time_std_s"].to_numpy(),
        "max": pp["final_block_gap_max_s"].to_numpy(),
        "over1h": pp["total_block_gaps_over_1h"].to_numpy(),
    }
    # two independent samples of 2000 paths: reject only at p < 1e-3 (a wrong law — e.g.
    # block times spread evenly, or a retarget at the wrong block — gives p ~ 0)
    for k, v in got.items():
        p = stats.ks_2samp(v, ref[k]).pvalue
        assert p > 1e-3, (k, p, float(np.mean(v)), float(np.mean(ref[k])))


def test_every_block_is_one_interval_and_the_intervals_add_up() -> None:
    n = 250
    res = simulate(_scenario(n), paths=n, seed=3)
    pp = res.per_path
    blocks = pp["total_blocks"].to_numpy()
    mean = pp["final_block_time_mean_s"].to_numpy()
    # the intervals of a path sum to the time of its last block: within the run, and the
    # run's last block is less than the longest gap before the end
    span = blocks * mean
    assert (span <= DAYS * 86400 + 1e-6).all()
    assert (span >= DAYS * 86400 - pp["final_block_gap_max_s"].to_numpy() * 3).all()
    assert 560 < mean.mean() < 640  # ~600 s around a retarget at constant hashrate
    assert (pp["total_block_gaps_over_1h"] >= pp["total_block_gaps_over_2h"]).all()
    assert (pp["total_block_gaps_over_2h"] >= pp["total_block_gaps_over_3h"]).all()


def test_interval_statistics_change_no_other_output() -> None:
    a = simulate(_scenario(250), paths=250, seed=3)
    off = _scenario(250).model_copy(
        update={
            "network": _scenario(250).network.model_copy(update={"block_interval_stats": False})
        }
    )
    b = simulate(off, paths=250, seed=3)
    for v in b.paths.data_vars:
        np.testing.assert_array_equal(a.paths[v].to_numpy(), b.paths[v].to_numpy())


def test_deterministic_blocks_have_equal_gaps_between_retargets() -> None:
    res = simulate(_scenario(250, blocks="deterministic"), paths=250, seed=3)
    pp = res.per_path
    std = pp["final_block_time_std_s"].to_numpy()
    mean = pp["final_block_time_mean_s"].to_numpy()
    assert (std < 0.1 * mean).all()  # only the retarget changes the (fixed) gap


def test_start_hour_shifts_the_tip_time() -> None:
    # deterministic blocks: the same blocks at the same times since t=0 (with Poisson blocks
    # a retarget's new difficulty changes how many draws the stream block makes afterwards)
    a = simulate(_scenario(250, blocks="deterministic"), paths=250, seed=3)
    b = simulate(_scenario(250, blocks="deterministic", start_hour_utc=12.0), paths=250, seed=3)
    ra, rb = a.retargets, b.retargets
    assert len(ra) == len(rb) and len(ra) > 0
    # same heights; the timestamps are 12 h later, so the timespan the retarget measures from
    # the (fixed) epoch start is 43,200 s longer and the new difficulty lower
    np.testing.assert_array_equal(ra["height"].to_numpy(), rb["height"].to_numpy())
    np.testing.assert_allclose(
        rb["last_block_time"].to_numpy() - ra["last_block_time"].to_numpy(), 43_200, atol=1
    )
    assert (rb["new_difficulty"].to_numpy() < ra["new_difficulty"].to_numpy()).all()
