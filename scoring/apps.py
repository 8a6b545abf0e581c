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

        # Background file jobs ("我的后台任务") for scoring's exports and reports, by dotted path: imported
        # only when one is prepared.
        from workplan.file_jobs import register_kind

        register_kind("score_overview", label="考核成绩导出", prepare="scoring.views.score_overview_export")
        register_kind("score_detail", label="扣分明细导出", prepare="scoring.views.score_detail_export")
        register_kind(
            "appraisal", label="绩效考核导出", prepare="scoring.views_closing.appraisal_export_prepare"
        )
        register_kind(
            "report_quarterly",
            label="季度报告",
            prepare="scoring.views_reports.quarterly_report_prepare",
            limit_setting="REPORT_INLINE_TASKS",
        )
