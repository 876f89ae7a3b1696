"""The Grafana dashboard asks only for metrics the code publishes, with labels they carry, in PromQL that is
well formed; the dashboard is a loadable Grafana model and covers every published metric."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from alignment.training_metrics import GAUGE_NAMES, TAG_KEYS
from stages.core.metrics import _metrics as stage_metric_objects
from stages.dedup.clusters import EXACT_DUPLICATE, NEAR_DUPLICATE
from stages.registry import DATA_STAGES

REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = REPO_ROOT / "dashboards" / "grafana" / "lmforge.json"
RAY_LABELS = {"Component", "NodeAddress", "SessionName", "Version", "WorkerId", "JobId"}
"""Labels Ray adds to every exported sample (seen on a 2.60 node's endpoint); Prometheus adds these two:"""
PROMETHEUS_LABELS = {"instance", "job"}
PROMQL_FUNCTIONS = {
    "sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile",
    "rate", "irate", "increase", "delta", "deriv",
    "max_over_time", "min_over_time", "avg_over_time", "last_over_time", "sum_over_time",
    "scalar", "vector", "clamp_min", "clamp_max", "abs", "histogram_quantile", "label_replace",
}  # fmt: skip
PROMQL_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
}
GRAFANA_BUILTINS = {"__rate_interval", "__range", "__interval"}
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
MATCHER = re.compile(r'\s*(?P<label>[a-zA-Z_]\w*)\s*(?P<op>=~|!~|!=|=)\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*')
_ONE_MATCHER = r'\s*[a-zA-Z_]\w*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*'
MATCHER_BLOCK = re.compile(rf"(?:{_ONE_MATCHER}(?:,{_ONE_MATCHER})*,?)?\s*")
SELECTOR = re.compile(r"(?P<metric>[a-zA-Z_:][\w:]*)?\s*\{(?P<matchers>[^{}]*)\}")
GROUPING = re.compile(r"\b(?P<keyword>by|without|on|ignoring)\s*\((?P<labels>[^()]*)\)")
VARIABLE = re.compile(r"\$\{?(?P<name>\w+)")


def published_metrics() -> dict[str, set[str]]:
    """Prometheus name → tag keys of everything lmforge publishes, from the publishers' own declarations.
    Ray prefixes `ray_` and, for counters, appends `_total`."""
    published: dict[str, set[str]] = {}
    for metric in stage_metric_objects().values():
        suffix = "_total" if type(metric).__name__ == "Counter" else ""
        published[f"ray_{metric._name}{suffix}"] = set(metric._tag_keys)
    for name in GAUGE_NAMES:
        published[f"ray_{name}"] = set(TAG_KEYS)
    return published


@dataclass
class ParsedQuery:
    metrics: set[str] = field(default_factory=set)
    matchers: list[tuple[str, str, str, str]] = field(default_factory=list)  # (metric, label, op, value)
    grouping_labels: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)


def check_balanced(expr: str) -> None:
    """Brackets and quotes pair up (outside string literals), in the right order."""
    assert expr.count('"') % 2 == 0, f"unbalanced quotes: {expr}"
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in STRING.sub('""', expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            assert stack and stack.pop() == pairs[char], f"unbalanced {char!r}: {expr}"
    assert not stack, f"unclosed {stack}: {expr}"


def parse_promql(expr: str) -> ParsedQuery:
    """A structural reading of a PromQL expression: selectors, matchers, groupings, functions, variables."""
    check_balanced(expr)
    parsed = ParsedQuery(variables={match["name"] for match in VARIABLE.finditer(expr)})
    rest = expr
    for selector in SELECTOR.finditer(expr):
        metric = selector["metric"] or ""
        matchers = selector["matchers"]
        assert MATCHER_BLOCK.fullmatch(matchers), f"bad matcher block {{{matchers}}} in {expr}"
        parsed.matchers += [(metric, m["label"], m["op"], m["value"]) for m in MATCHER.finditer(matchers)]
    rest = SELECTOR.sub(lambda selector: f" {selector['metric'] or ''} ", rest)
    for grouping in GROUPING.finditer(rest):
        labels = [label.strip() for label in grouping["labels"].split(",") if label.strip()]
        assert all(re.fullmatch(r"[a-zA-Z_]\w*", label) for label in labels), f"bad grouping in {expr}"
        parsed.grouping_labels.update(labels)
    rest = GROUPING.sub(" ", rest)
    rest = re.sub(r"\[[^\]]*\]", " ", rest)  # range selectors: [5m], [$__rate_interval]
    rest = STRING.sub(" ", rest)
    for identifier in re.finditer(r"(?<![\w$.])(?P<name>[a-zA-Z_:][\w:]*)(?P<call>\s*\()?", rest):
        name = identifier["name"]
        if identifier["call"]:
            parsed.functions.add(name)
        elif name not in PROMQL_KEYWORDS:
            parsed.metrics.add(name)
    return parsed


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def query_panels() -> list[dict[str, Any]]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def expressions() -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in query_panels() for target in panel["targets"]]


def variable_queries() -> list[str]:
    return [
        variable["query"]["query"]
        for variable in dashboard()["templating"]["list"]
        if variable["type"] == "query"
    ]


@pytest.mark.parametrize(("title", "expr"), expressions(), ids=lambda value: str(value)[:40])
def test_every_expression_queries_published_metrics_with_their_labels(title: str, expr: str) -> None:
    published = published_metrics()
    parsed = parse_promql(expr)
    assert parsed.metrics, f"{title}: no metric in {expr}"
    assert parsed.metrics <= set(published), f"{title}: unpublished {parsed.metrics - set(published)}"
    assert parsed.functions <= PROMQL_FUNCTIONS, f"{title}: unknown function {parsed.functions}"
    for metric, label, _, _ in parsed.matchers:
        assert metric, f"{title}: a bare matcher block in {expr}"
        assert label in published[metric] | RAY_LABELS | PROMETHEUS_LABELS, (
            f"{title}: {metric} has no {label}"
        )
    carried = set().union(*(published[metric] for metric in parsed.metrics))
    assert parsed.grouping_labels <= carried | RAY_LABELS | PROMETHEUS_LABELS, title
    defined = {variable["name"] for variable in dashboard()["templating"]["list"]}
    assert parsed.variables <= defined | GRAFANA_BUILTINS, f"{title}: undefined {parsed.variables - defined}"


def test_variable_queries_name_published_metrics_and_labels() -> None:
    published = published_metrics()
    for query in variable_queries():
        match = re.fullmatch(r"label_values\((?P<selector>.+),\s*(?P<label>\w+)\)", query)
        assert match, query
        parsed = parse_promql(match["selector"])
        (metric,) = parsed.metrics
        assert metric in published and match["label"] in published[metric], query


def test_every_published_metric_has_a_panel() -> None:
    used = set().union(*(parse_promql(expr).metrics for _, expr in expressions()))
    assert set(published_metrics()) <= used, f"no panel for {set(published_metrics()) - used}"


def test_stage_label_values_are_real_stages_and_dedup_reasons_are_the_stage_s() -> None:
    for title, expr in expressions():
        for _metric, label, op, value in parse_promql(expr).matchers:
            if label == "stage" and op == "=":
                assert value in DATA_STAGES, (title, value)
            if label == "reason":
                assert set(value.split("|")) == {EXACT_DUPLICATE, NEAR_DUPLICATE}, (title, value)


def test_required_panels_are_there() -> None:
    titles = " | ".join(panel["title"].lower() for panel in query_panels())
    for needed in (
        "throughput",
        "drops by reason",
        "dedup rate",
        "stage seconds",
        "loss",
        "tokens per second",
        "perplexity",
        "reward",
        "kl",
        "win rate",
    ):
        assert needed in titles, needed
    drops = next(panel for panel in query_panels() if panel["title"] == "Drops by reason")
    assert drops["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "normal"
    assert parse_promql(drops["targets"][0]["expr"]).grouping_labels == {"stage", "reason"}


def test_the_dashboard_is_a_valid_grafana_model() -> None:
    model = dashboard()
    assert model["uid"] == "lmforge" and model["title"] and isinstance(model["schemaVersion"], int)
    assert "id" not in model or model["id"] is None, "a provisioned dashboard must not pin a database id"
    datasource_variables = [v for v in model["templating"]["list"] if v["type"] == "datasource"]
    assert [v["query"] for v in datasource_variables] == ["prometheus"]
    ids = [panel["id"] for panel in model["panels"]]
    assert len(ids) == len(set(ids))
    for panel in model["panels"]:
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24 and position["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["type"] in {"timeseries", "stat", "bargauge"}, panel["type"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"] and panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"] and target["expr"].strip()
    for link in model["links"]:  # links to Ray's generated dashboards by their uids
        uid = link["url"].removeprefix("/d/")
        assert uid in ray_dashboard_uids(), uid


def ray_dashboard_uids() -> set[str]:
    import ray.dashboard.modules.metrics.dashboards as ray_dashboards

    directory = Path(ray_dashboards.__file__).parent
    return {json.loads(path.read_text())["uid"] for path in directory.glob("*_grafana_dashboard_base.json")}


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ('sum(rate(ray_lmforge_rows_in_total{stage="dedup"}[1m])', "unclosed"),
        ('sum(rate(ray_lmforge_rows_in_total{stage="dedup"]}[1m]))', "unbalanced"),
        ("rate(ray_lmforge_rows_in_total{stage=dedup}[1m])", "bad matcher"),
        ('rate(ray_lmforge_rows_in_total{stage="a" reason="b"}[1m])', "bad matcher"),
    ],
)
def test_the_checker_catches_malformed_expressions(expr: str, problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        parse_promql(expr)


def test_the_checker_reads_metrics_labels_and_groupings() -> None:
    parsed = parse_promql(
        'sum by (reason) (rate(ray_lmforge_rows_dropped_total{stage="dedup", reason=~"a|b"}[$__rate_interval]))'
        ' / scalar(sum(rate(ray_lmforge_rows_in_total{stage=~"$stage"}[5m])))'
    )
    assert parsed.metrics == {"ray_lmforge_rows_dropped_total", "ray_lmforge_rows_in_total"}
    assert parsed.grouping_labels == {"reason"} and parsed.functions == {"sum", "rate", "scalar"}
    assert ("ray_lmforge_rows_dropped_total", "reason", "=~", "a|b") in parsed.matchers
    assert parsed.variables == {"__rate_interval", "stage"}
    assert parse_promql("ray_lmforge_rows_in_totl").metrics == {"ray_lmforge_rows_in_totl"}
