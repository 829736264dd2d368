"""The worker (`paycore worker`): periodic jobs over every physical shard.

    job.py      the Job protocol (name, interval_seconds, async run(engine) -> processed) and
                ShardJob, a job declared as its name, its interval and one call on a shard
    runner.py   Worker: a loop per job and shard, jitter, metrics, graceful stop, run_once
    jobs.py     the jobs shipped, each a ShardJob declaration
    metrics.py  per-job Prometheus counters and histogram
    process.py  the process: platform, jobs, signals, metrics endpoint

Jobs are registered in one place, paycore.app.build_jobs(platform).
"""

from paycore.worker.job import Job
from paycore.worker.runner import Worker

__all__ = ["Job", "Worker"]
