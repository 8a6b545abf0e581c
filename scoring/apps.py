"""考核评分应用。"""

from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "考核评分"

    def ready(self) -> None:
        # The annual-report deadline (1 January – publication) joins workplan's daily reminders; workplan
        # never imports scoring, so scoring registers itself.
        from scoring.annual_report import KIND_ANNUAL_REPORT, annual_report_reminders
        from workplan.reminders import register_daily_hook

        register_daily_hook(annual_report_reminders, kinds={KIND_ANNUAL_REPORT: "年度报告公布"})
