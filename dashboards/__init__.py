"""What users look at: the self-contained HTML run report (and, beside it, Grafana/Prometheus files)."""
