"""Prometheus metrics, read from the server's counters at scrape time (nothing on the call path).

The call handler, the endpoint and the CDR writer keep plain integer counters; this collector
turns them into metric families when ``/metrics`` is scraped.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vacant.service.app import Application


class ServerCollector(Collector):
    def __init__(self, app: Application) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        app = self.app
        calls = CounterMetricFamily(
            "vacant_calls",
            "INVITEs answered, by decision and final status",
            labels=["decision", "status"],
        )
        handler, endpoint = app.handler, app.endpoint
        if handler is not None:
            for (decision, status), count in sorted(handler.calls.items()):
                calls.add_metric([decision, str(status)], count)
        yield calls
        yield GaugeMetricFamily(
            "vacant_calls_in_progress",
            "INVITEs not yet given a final answer",
            value=0 if handler is None else handler.in_progress,
        )
        yield GaugeMetricFamily(
            "vacant_announcement_calls_in_progress",
            "Announcement calls not yet ended (answering, playing, transferring)",
            value=0 if handler is None else len(handler.announcing),
        )
        outcomes = CounterMetricFamily(
            "vacant_announcement_outcomes",
            "Announcement calls ended, by outcome",
            labels=["outcome"],
        )
        if handler is not None:
            for outcome, count in sorted(handler.outcomes.items()):
                outcomes.add_metric([outcome], count)
        yield outcomes
        yield CounterMetricFamily(
            "vacant_untrusted_invites",
            "INVITEs refused with 403: source not trusted",
            value=0 if handler is None else handler.untrusted,
        )
        yield CounterMetricFamily(
            "vacant_overload_rejections",
            "INVITEs refused with 503 (overload or stopping)",
            value=0 if handler is None else handler.overloaded,
        )
        if endpoint is not None:
            stats = endpoint.stats
            yield CounterMetricFamily(
                "vacant_sip_parse_errors",
                "SIP messages that did not parse",
                value=stats.parse_errors,
            )
            yield CounterMetricFamily(
                "vacant_sip_dropped", "SIP messages dropped unanswered", value=stats.dropped
            )
            yield CounterMetricFamily(
                "vacant_sip_rejected",
                "SIP requests refused by validation (RFC 3261 8.2)",
                value=stats.rejected,
            )
            yield CounterMetricFamily(
                "vacant_sip_retransmissions_sent",
                "SIP retransmissions sent",
                value=stats.retransmissions_sent,
            )
            tx = CounterMetricFamily(
                "vacant_sip_transactions", "SIP transactions created, by kind", labels=["kind"]
            )
            for kind, count in stats.transactions_created.items():
                tx.add_metric([kind.name.lower()], count)
            yield tx
        cdr = app.cdr
        cdr_metrics: tuple[tuple[type[CounterMetricFamily | GaugeMetricFamily], str, str, int], ...]
        cdr_metrics = (
            (CounterMetricFamily, "vacant_cdr_written", "call records written", cdr.written),
            (CounterMetricFamily, "vacant_cdr_dropped",
             "call records dropped (store unavailable too long)", cdr.dropped),
            (GaugeMetricFamily, "vacant_cdr_pending", "call records waiting to be written",
             cdr.pending),
            (CounterMetricFamily, "vacant_cdr_catch_up_batches",
             "batches of call records written at the catch-up priority (the core was too busy)",
             cdr.caught_up),
        )  # fmt: skip
        for family, name, documentation, value in cdr_metrics:
            yield family(name, documentation, value=value)
        yield GaugeMetricFamily(
            "vacant_config_version",
            "configuration version of the routing snapshot",
            value=app.version,
        )
        yield CounterMetricFamily(
            "vacant_config_reloads", "routing snapshots rebuilt", value=app.reloads
        )
        yield from _pool_metrics(app)


def _pool_metrics(app: Application) -> Iterator[Metric]:
    """Configuration notifications, heartbeats and automatic failover (docs/pools.md)."""
    monitor = app.monitor
    yield CounterMetricFamily(
        "vacant_config_notifications",
        "configuration change notifications received (PostgreSQL LISTEN)",
        value=app.notifications,
    )
    yield CounterMetricFamily(
        "vacant_heartbeat_failures",
        "heartbeats of this instance that could not be written",
        value=monitor.heartbeat_failures,
    )
    yield CounterMetricFamily(
        "vacant_worker_fallbacks",
        "reloads, heartbeats and pool checks that waited for an idle core too long",
        value=app.workers.fallbacks,
    )
    transitions = CounterMetricFamily(
        "vacant_pool_transitions",
        "automatic-failover transitions of pools seen by this instance, by pool and new state",
        labels=["pool", "state"],
    )
    for (pool, state), count in sorted(monitor.transitions.items()):
        transitions.add_metric([pool, state], count)
    yield transitions
    covering = GaugeMetricFamily(
        "vacant_pool_covering",
        "1 for each down pool whose ranges this instance answers (automatic failover)",
        labels=["pool"],
    )
    for pool in sorted(monitor.coverage.covering):
        covering.add_metric([pool], 1)
    yield covering
