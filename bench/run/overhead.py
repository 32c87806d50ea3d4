"""How much the harness itself costs: `python -m bench.run.overhead --driver asyncpg`.

Runs `SELECT 1` on the bare driver two ways in one process and one event loop:
through the runner (raw_queries / raw_driver / select_1: RawConnection wrapper,
statement counting, perf_counter_ns per round) and in a plain hand-written loop
calling the driver's own API. Prints both rates and their ratio; 1.00 means the
harness adds nothing measurable, and the target is >= 0.95.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.api.family import RAW_VARIANT, load_families
from bench.db.database import resolve_url
from bench.db.drivers import Driver, get_driver
from bench.run.runner import RunConfig, Runner


async def measure(driver: Driver, url_text: str | None, ops: int, rounds: int,
                  repeats: int) -> dict[str, float]:
    url = resolve_url(driver, url_text)
    families = load_families()
    hand_rates, runner_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(repeats):  # interleaved, so drift hits both sides alike
            raw = await driver.open_raw(url, 10.0)
            try:
                await raw.native_select_1(ops)  # warmup
                samples = []
                for _ in range(rounds):
                    start = time.perf_counter_ns()
                    await raw.native_select_1(ops)
                    samples.append(time.perf_counter_ns() - start)
            finally:
                await raw.close()
            hand_rates.append(ops / (statistics.median(samples) / 1e9))
            config = RunConfig(
                driver=driver, url=url, families=[families["raw_queries"]], warmup=1,
                rounds=rounds, variants=[RAW_VARIANT],
                overrides={"raw_queries": {"query": ["select_1"], "ops": [ops]}},
                output=Path(tmp) / f"overhead{repeat}.json", count_calls=False,
            )
            doc = await Runner(config).run()
            if len(doc["cases"]) != 1 or doc["cases"][0]["status"] != "ok":
                raise RuntimeError(f"the runner's raw_driver select_1 case did not run: "
                                   f"{[(c['status'], c['error']) for c in doc['cases']]}")
            rate = doc["cases"][0]["throughput_per_s"]
            assert rate is not None  # an ok case has its throughput
            runner_rates.append(rate)
    hand, runner = statistics.median(hand_rates), statistics.median(runner_rates)
    return {"hand_loop_per_s": hand, "runner_per_s": runner, "ratio": runner / hand}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run.overhead", description=__doc__)
    parser.add_argument("--driver", default="aiosqlite")
    parser.add_argument("--url")
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    result = asyncio.run(measure(get_driver(args.driver), args.url, args.ops, args.rounds,
                                 args.repeats))
    print(f"{args.driver}: hand-written loop {result['hand_loop_per_s']:,.0f} SELECT 1/s, "
          f"runner raw_driver {result['runner_per_s']:,.0f}/s, ratio {result['ratio']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
