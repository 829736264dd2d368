"""The worker (`paycore worker`): periodic jobs over every physical shard.

    job.py      the Job protocol: name, interval_seconds, async run(engine) -> processed
    runner.py   Worker: a loop per job and shard, jitter, metrics, graceful stop, run_once
    jobs.py     ShardJob (a name, an interval, one call on the shard) and the jobs shipped as such
    metrics.py  per-job Prometheus counters and histogram
    process.py  the process: platform, jobs, signals, metrics endpoint

Jobs are registered in one place, paycore.app.build_jobs(platform).
"""

from paycore.worker.job import Job
from paycore.worker.runner import Worker

__all__ = ["Job", "Worker"]
