"""The Dask cluster a run's load comes from: one this run starts, or one already running.

- `--processes N`: a distributed.LocalCluster of N single-threaded worker processes on
  127.0.0.1, started for the run and stopped after it (its nannies restart a worker that
  dies, so the run goes on with the rest).
- `--cluster tcp://HOST:PORT`: the scheduler of a cluster started by hand
  (`dask scheduler`, `dask worker tcp://HOST:PORT` on each load host).

Either way every worker must run the same sqla-bench, SQLAlchemy and Python as the
coordinator (bench.scale.worker.versions); a worker that does not is refused, naming
the versions. Everything here fails with a ClusterError of one line. Dask is imported
when a cluster is used, not when the command line is read.
"""

from __future__ import annotations

import logging
import re
from typing import Any

ADDRESS = re.compile(r"^(tcp|tls)://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")
LOCAL_START_TIMEOUT = 120.0  # seconds for a LocalCluster's workers to start
LOOPBACK = ("127.", "localhost", "[::1]")
# A Dask worker samples its task threads' stacks every 10 ms (its statistical profiler)
# and, where gilknocker is installed, knocks on the GIL every millisecond: CPU and GIL
# taken from the load it runs. Workers of a LocalCluster get this config from us; workers
# started by hand take the same settings from the environment (see docs/scaling-out.md).
QUIET_WORKER_CONFIG = {"distributed.worker.profile.enabled": False,
                       "distributed.admin.system-monitor.gil.enabled": False}


class ClusterError(Exception):
    """The cluster cannot be used; the message is one line for the user."""


def check_address(address: str) -> str:
    """`tcp://host:port` (or tls://), or a ClusterError saying what it should look like."""
    match = ADDRESS.match(address.strip())
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise ClusterError(f"--cluster takes a scheduler address like tcp://10.0.0.5:8786, "
                           f"not {address!r}")
    return address.strip()


def host_port(address: str) -> str:
    return address.split("://", 1)[-1]


class LoadCluster:
    """A connected Dask client (asynchronous, on the run's event loop) and, for
    --processes, the LocalCluster it started."""

    def __init__(self, client: Any, local: Any, expected: int | None) -> None:
        # Any: Dask types its API as blocking; with asynchronous=True it returns awaitables.
        self.client: Any = client
        self.local: Any = local
        self.expected = expected  # a LocalCluster's size: wait for restarted workers
        self.address = str(self.client.scheduler.address)

    @classmethod
    async def start(cls, processes: int) -> LoadCluster:
        """A LocalCluster of `processes` single-threaded worker processes on 127.0.0.1."""
        import dask
        from distributed import Client, LocalCluster

        dask.config.set(QUIET_WORKER_CONFIG)  # the nannies hand it on to the workers
        local: Any = await LocalCluster(n_workers=processes, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=logging.CRITICAL, asynchronous=True)
        try:
            client: Any = await Client(local, asynchronous=True, set_as_default=False)
            cluster = cls(client, local, processes)
            await cluster.wait_for(processes)
        except BaseException:
            await local.close()
            raise
        return cluster

    @classmethod
    async def open(cls, address: str | None, processes: int | None, timeout: float
                   ) -> LoadCluster:
        """--cluster ADDRESS reached, or --processes N started here; their versions
        checked against this process's."""
        if address is not None:
            cluster = await cls.connect(address, timeout)
        else:
            assert processes is not None
            cluster = await cls.start(processes)
        await cluster.check_versions()
        return cluster

    @classmethod
    async def connect(cls, address: str, timeout: float) -> LoadCluster:
        """The cluster of the scheduler at `address` (tcp://host:port)."""
        from distributed import Client

        address = check_address(address)
        try:
            client: Any = await Client(address, asynchronous=True, timeout=timeout,
                                  set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"no Dask scheduler answers at {host_port(address)} "
                f"({type(exc).__name__}): start one there with `dask scheduler`, or check "
                "--cluster") from None
        cluster = cls(client, None, None)
        if not await cluster.workers():
            await cluster.close()
            raise ClusterError(f"the Dask scheduler at {host_port(address)} has no workers: "
                               f"start some with `dask worker {address} --nthreads 1`")
        return cluster

    async def workers(self) -> list[str]:
        """The addresses of the workers connected now, in a stable order."""
        info: dict[str, Any] = await self.client.scheduler.identity()
        return sorted(info.get("workers", {}))

    async def wait_for(self, count: int, timeout: float = LOCAL_START_TIMEOUT) -> None:
        try:
            await self.client.wait_for_workers(count, timeout=timeout)
        except TimeoutError:
            have = len(await self.workers())
            raise ClusterError(f"the Dask cluster has {have} of the {count} workers asked for "
                               f"after {timeout:.0f} s") from None

    async def ready_workers(self) -> list[str]:
        """The workers to use now: for --processes, all of them again (a worker that died
        is restarted by its nanny under a new address)."""
        if self.expected is not None:
            await self.wait_for(self.expected)
        return await self.workers()

    def all_local(self, workers: list[str]) -> bool:
        return all(host_port(w).startswith(LOOPBACK) for w in workers)

    async def check_versions(self) -> None:
        """Refuse workers whose sqla-bench, SQLAlchemy or Python differ from ours."""
        from bench.scale import worker as loadworker  # imports Dask: only once connected

        ours = loadworker.versions()
        theirs: dict[str, dict[str, str]] = await self.client.run(loadworker.versions)
        for worker, found in sorted(theirs.items()):
            if found != ours:
                def said(versions: dict[str, str]) -> str:
                    return ", ".join(f"{k} {v}" for k, v in versions.items())

                raise ClusterError(
                    f"worker {worker} runs {said(found)}; this run has {said(ours)}: install "
                    "the same versions on every load host")

    async def close(self) -> None:
        try:
            await self.client.close()
        finally:
            if self.local is not None:
                await self.local.close()
