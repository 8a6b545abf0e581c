"""政务公开任务的页面路由。"""

from django.urls import path

from workplan import (
    views,
    views_applications,
    views_import,
    views_interviews,
    views_jobs,
    views_lists,
    views_notices,
    views_notifications,
    views_progress,
    views_publication,
    views_rectification,
    views_spreadsheet,
)

urlpatterns = [
    path("", views.home, name="home"),
    path("plans/", views.plan_list, name="plan_list"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/source/", views.plan_source_download, name="plan_source_download"),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/mine/", views.my_tasks, name="my_tasks"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/assignments/", views.task_assignments_edit, name="task_assignments_edit"),
    path("sections/", views.section_list, name="section_list"),
    # 列表：进展报送、佐证材料、审计日志
    path("reports/", views_lists.report_list, name="report_list"),
    path("evidence/", views_lists.evidence_list, name="evidence_list"),
    path("audit/", views_lists.audit_list, name="audit_list"),
    # 通知与缺报清单
    path("notifications/", views_notifications.notifications, name="notifications"),
    path("notifications/read/", views_notifications.notifications_mark_read, name="notifications_mark_read"),
    path("missing-reports/", views_notifications.missing_reports, name="missing_reports"),
    # 我的后台任务（后台生成的导出与报告）
    path("jobs/", views_jobs.file_job_list, name="file_job_list"),
    path("jobs/<int:pk>/", views_jobs.file_job_detail, name="file_job_detail"),
    path("jobs/<int:pk>/download/", views_jobs.file_job_download, name="file_job_download"),
    # 进展报送、佐证材料、办公室审核
    path("tasks/<int:pk>/report/", views_progress.report_edit, name="report_edit"),
    path("reports/<int:pk>/evidence/", views_progress.evidence_upload, name="evidence_upload"),
    path("evidence/<int:pk>/remove/", views_progress.evidence_remove, name="evidence_remove"),
    path("evidence/<int:pk>/download/", views_progress.evidence_download, name="evidence_download"),
    path("reviews/", views_progress.review_queue, name="review_queue"),
    path("reports/<int:pk>/review/", views_progress.report_review, name="report_review"),
    # 导入计划（上传 → 预览 → 确认）
    path("imports/", views_import.import_list, name="plan_import_list"),
    path("imports/upload/", views_import.import_upload, name="plan_import_upload"),
    path("imports/<int:pk>/", views_import.import_preview, name="plan_import_preview"),
    path("imports/<int:pk>/confirm/", views_import.import_confirm, name="plan_import_confirm"),
    path("imports/<int:pk>/cancel/", views_import.import_cancel, name="plan_import_cancel"),
    # 表格导出 / 回导
    path("plans/<int:pk>/export/<str:fmt>/", views_spreadsheet.plan_export, name="plan_export"),
    path("plans/<int:pk>/reimport/", views_spreadsheet.plan_reimport, name="plan_reimport"),
    path(
        "plans/<int:pk>/reimport/<int:batch_pk>/",
        views_spreadsheet.plan_reimport_confirm,
        name="plan_reimport_confirm",
    ),
    # 通报批评、整改事项、约谈记录
    path("notices/", views_notices.notice_list, name="notice_list"),
    path("notices/new/", views_notices.notice_create, name="notice_create"),
    path("notices/receive/", views_notices.notice_receive, name="notice_receive"),
    path("notices/<int:pk>/", views_notices.notice_detail, name="notice_detail"),
    path("notices/<int:pk>/edit/", views_notices.notice_edit, name="notice_edit"),
    path("notices/<int:pk>/issue/", views_notices.notice_issue, name="notice_issue"),
    path("notices/<int:pk>/discard/", views_notices.notice_discard, name="notice_discard"),
    path("rectifications/", views_rectification.rectification_list, name="rectification_list"),
    path("rectifications/<int:pk>/", views_rectification.rectification_detail, name="rectification_detail"),
    path(
        "rectifications/<int:pk>/answer/",
        views_rectification.rectification_answer,
        name="rectification_answer",
    ),
    path(
        "rectifications/<int:pk>/verify/",
        views_rectification.rectification_verify,
        name="rectification_verify",
    ),
    path("rectifications/<int:pk>/file/", views_rectification.rectification_file, name="rectification_file"),
    path("interviews/", views_interviews.interview_list, name="interview_list"),
    path("interviews/new/", views_interviews.interview_create, name="interview_create"),
    path("interviews/<int:pk>/", views_interviews.interview_detail, name="interview_detail"),
    path("interviews/<int:pk>/items/", views_interviews.interview_item_add, name="interview_item_add"),
    # 发布信息登记台账：拟稿 → 初审 → 复审 → 终审 → 发布登记（审批卡下载在 scoring/urls.py）
    path("publications/", views_publication.publication_list, name="publication_list"),
    path("publications/new/", views_publication.publication_create, name="publication_create"),
    path("publications/archive/", views_publication.publication_archive, name="publication_archive"),
    path("publications/queue/<str:level>/", views_publication.publication_queue, name="publication_queue"),
    path("publications/<int:pk>/", views_publication.publication_detail, name="publication_detail"),
    path("publications/<int:pk>/edit/", views_publication.publication_edit, name="publication_edit"),
    path("publications/<int:pk>/submit/", views_publication.publication_submit, name="publication_submit"),
    path("publications/<int:pk>/delete/", views_publication.publication_delete, name="publication_delete"),
    path("publications/<int:pk>/review/", views_publication.publication_review, name="publication_review"),
    path("publications/<int:pk>/publish/", views_publication.publication_publish, name="publication_publish"),
    path(
        "publications/<int:pk>/attachment/",
        views_publication.publication_attachment,
        name="publication_attachment",
    ),
    # 依申请公开登记：登记簿、登记与修改、详情（计时经过）、补正、征求意见、延期、答复、行政复议 / 诉讼
    path("applications/", views_applications.application_list, name="application_list"),
    path("applications/new/", views_applications.application_create, name="application_create"),
    path("applications/<int:pk>/", views_applications.application_detail, name="application_detail"),
    path("applications/<int:pk>/edit/", views_applications.application_edit, name="application_edit"),
    path(
        "applications/<int:pk>/correction/",
        views_applications.application_correction,
        name="application_correction",
    ),
    path(
        "applications/<int:pk>/consultation/",
        views_applications.application_consultation,
        name="application_consultation",
    ),
    path(
        "applications/<int:pk>/extension/",
        views_applications.application_extension,
        name="application_extension",
    ),
    path("applications/<int:pk>/reply/", views_applications.application_reply, name="application_reply"),
    path(
        "applications/<int:pk>/appeals/new/",
        views_applications.application_appeal_add,
        name="application_appeal_add",
    ),
    path(
        "applications/appeals/<int:pk>/",
        views_applications.application_appeal_edit,
        name="application_appeal_edit",
    ),
]
