"""The run report: one self-contained `RUN_DIR/report.html` built from what a pipeline run leaves on disk."""

from dashboards.report.render import REPORT_FILE, report_command, write_report

__all__ = ["REPORT_FILE", "report_command", "write_report"]
