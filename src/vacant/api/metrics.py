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
        yield CounterMetricFamily(
            "vacant_cdr_written", "call records written", value=app.cdr.written
        )
        yield CounterMetricFamily(
            "vacant_cdr_dropped",
            "call records dropped (store unavailable too long)",
            value=app.cdr.dropped,
        )
        yield GaugeMetricFamily(
            "vacant_config_version",
            "configuration version of the routing snapshot",
            value=app.version,
        )
        yield CounterMetricFamily(
            "vacant_config_reloads", "routing snapshots rebuilt", value=app.reloads
        )
