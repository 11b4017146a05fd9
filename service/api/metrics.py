"""Prometheus metrics: requests, jobs by state (counted in the store at scrape time), extraction seconds.

Each app has its own registry, so several apps in one process (tests) do not clash.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _JobsCollector:
    def __init__(self, store, pool):
        self.store, self.pool = store, pool

    def collect(self):
        jobs = GaugeMetricFamily("nianbao_jobs", "Jobs in the store by state", labels=["state"])
        for state, n in self.store.counts().items():
            jobs.add_metric([state], n)
        yield jobs
        yield GaugeMetricFamily("nianbao_workers_ready", "Worker processes with their models loaded",
                                value=self.pool.ready)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("nianbao_http_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.extraction = Histogram("nianbao_extraction_seconds", "Seconds per extraction job, by outcome",
                                    ["outcome"], registry=self.registry,
                                    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))

    def watch(self, store, pool) -> None:
        self.registry.register(_JobsCollector(store, pool))

    def observe_job(self, outcome: str, seconds: float | None) -> None:
        if seconds is not None:
            self.extraction.labels(outcome).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
