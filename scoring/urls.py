"""考核评分的页面路由（挂在 /scoring/ 下）。"""

from django.urls import path

from scoring import (
    views,
    views_annual,
    views_closing,
    views_dashboard,
    views_publication_card,
    views_reports,
    views_triggers,
)

urlpatterns = [
    path("", views.score_overview, name="score_overview"),
    path("scores/<int:pk>/", views.score_detail, name="score_detail"),
    path("lines/<int:pk>/", views.ledger_line_detail, name="ledger_line_detail"),
    path("manual/", views.manual_facts, name="manual_facts"),
    path("manual/save/", views.manual_fact_save, name="manual_fact_save"),
    path("manual/<int:pk>/delete/", views.manual_fact_delete, name="manual_fact_delete"),
    path("manual/<int:pk>/evidence/", views.manual_fact_evidence, name="manual_fact_evidence"),
    path("compute/", views.compute, name="score_compute"),
    path("compute/run/", views.compute_run, name="score_compute_run"),
    path("whatif/", views.whatif, name="score_whatif"),
    path("whatif/run/", views.whatif_run, name="score_whatif_run"),
    path("dashboard/", views_dashboard.dashboard, name="quarter_dashboard"),
    path("reports/quarterly/", views_reports.quarterly_report, name="report_quarterly"),
    path(
        "reports/quarterly/download/",
        views_reports.quarterly_report_download,
        name="report_quarterly_download",
    ),
    path("notice_docx/<int:pk>/", views_reports.notice_docx, name="notice_docx"),
    # 季度关账、申诉、绩效考核导出（scoring/views_closing.py）
    path("closing/", views_closing.close_list, name="close_list"),
    path("closing/close/", views_closing.close_create, name="close_create"),
    path("closing/<int:pk>/", views_closing.close_detail, name="close_detail"),
    path("closing/<int:pk>/finalize/", views_closing.close_finalize, name="close_finalize"),
    path("closing/lines/<int:pk>/appeal/", views_closing.appeal_new, name="appeal_new"),
    path("appeals/", views_closing.appeal_list, name="appeal_list"),
    path("appeals/<int:pk>/", views_closing.appeal_detail, name="appeal_detail"),
    path("appeals/<int:pk>/decide/", views_closing.appeal_decide, name="appeal_decide"),
    path("appeals/<int:pk>/evidence/", views_closing.appeal_evidence, name="appeal_evidence"),
    path("appraisal/", views_closing.appraisal_export, name="appraisal_export"),
    # 按触发条件起草通报批评（scoring/views_triggers.py）
    path("notice-triggers/", views_triggers.notice_triggers_page, name="notice_triggers"),
    path("notice-triggers/run/", views_triggers.notice_triggers_run, name="notice_triggers_run"),
    # 《上网信息审批卡》（发布信息登记台账，scoring/views_publication_card.py）
    path("publications/<int:pk>/card/", views_publication_card.publication_card, name="publication_card"),
    # 政府信息公开工作年度报告（scoring/views_annual.py）
    path("reports/annual/", views_annual.annual_report, name="annual_report"),
    path("reports/annual/<int:year>/save/", views_annual.annual_report_save_view, name="annual_report_save"),
    path(
        "reports/annual/<int:year>/publish/",
        views_annual.annual_report_publish_view,
        name="annual_report_publish",
    ),
    path(
        "reports/annual/<int:year>/download/<str:fmt>/",
        views_annual.annual_report_download,
        name="annual_report_download",
    ),
]
