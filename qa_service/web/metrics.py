"""Prometheus metrics, one registry per app (tests create many apps)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass
class Metrics:
    registry: CollectorRegistry
    request_seconds: Histogram
    step_seconds: Histogram
    decisions: Counter
    risk_levels: Counter
    model_failures: Counter

    def observe_answer(self, decision: str, risk: str, timings_ms: dict[str, float],
                       reasons: list[str] | tuple[str, ...] = ()) -> None:
        self.decisions.labels(decision=decision).inc()
        self.risk_levels.labels(level=risk).inc()
        for r in reasons:
            if r.startswith("llm_output_rejected:"):  # the model failed; counted apart from anything the asker did
                self.model_failures.labels(kind=r.split(":", 1)[1]).inc()
        for step, ms in timings_ms.items():
            if step != "total":
                self.step_seconds.labels(step=step).observe(ms / 1000)


def make_metrics() -> Metrics:
    reg = CollectorRegistry()
    return Metrics(
        registry=reg,
        request_seconds=Histogram("qa_http_request_seconds", "HTTP latency by route", ["route", "method", "status"],
                                  registry=reg, buckets=BUCKETS),
        step_seconds=Histogram("qa_answer_step_seconds", "Answer path latency by step", ["step"], registry=reg,
                               buckets=BUCKETS),
        decisions=Counter("qa_answers_total", "Answers by decision (status)", ["decision"], registry=reg),
        risk_levels=Counter("qa_answer_risk_total", "Answers by risk level", ["level"], registry=reg),
        model_failures=Counter("qa_model_failures_total", "Model drafts rejected (the extractive answer was shown), "
                               "by kind: canary, malformed, no_answer, unsupported, timeout, http_5xx ...",
                               ["kind"], registry=reg),
    )
