"""表单模糊测试的登记表 SPECS：workplan/urls.py 与 scoring/urls.py 中接受 POST 的每个地址一行 FormSpec（由哪个
有权限的角色提交、地址参数、表单读取的键、文件键、一份有效的底稿）；新增接受 POST 的页面时在此加一行。"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.forms import BaseForm


def _pk(obj: Any) -> str:
    return str(obj.pk)


UNIT_KEYS = (
    "units-TOTAL_FORMS",
    "units-INITIAL_FORMS",
    "units-MIN_NUM_FORMS",
    "units-MAX_NUM_FORMS",
    "units-0-section",
    "units-0-problems",
    "units-1-section",
    "units-2-problems",
)


@dataclass(frozen=True)
class FormSpec:
    """一个接受 POST 的地址：由谁提交（有权限的角色）、地址参数、表单读取的键、文件键、一份有效的底稿。"""

    url: str
    persona: str
    kwargs: Callable[[Any], dict[str, Any]]
    fields: tuple[str, ...]
    files: tuple[str, ...] = ()
    baseline: Callable[[Any], dict[str, Any]] = lambda w: {}


def keys(*form_classes: type[BaseForm], extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    names: list[str] = []
    for form_class in form_classes:
        names += [n for n in form_class.base_fields if n not in names]
    return (*names, *extra)


def _forms() -> dict[str, type[BaseForm]]:
    from scoring import views_annual, views_closing, views_reports, views_triggers
    from scoring.forms import ComputeForm, ManualFactForm, WhatIfForm
    from workplan import forms_applications as fa
    from workplan import forms_notices as fn
    from workplan import forms_progress as fp
    from workplan import forms_publication as fpub
    from workplan.forms import AssignmentForm
    from workplan.views_import import ConfirmForm, UploadForm
    from workplan.views_spreadsheet import SheetUploadForm

    return {
        "assign": AssignmentForm,
        "report": fp.ReportForm,
        "evidence": fp.EvidenceForm,
        "review": fp.ReviewForm,
        "upload": UploadForm,
        "confirm": ConfirmForm,
        "sheet": SheetUploadForm,
        "notice": fn.NoticeForm,
        "received": fn.ReceivedNoticeForm,
        "action": fn.NoticeActionForm,
        "answer": fn.AnswerForm,
        "verify": fn.VerifyForm,
        "interview": fn.InterviewForm,
        "followup": fn.FollowUpForm,
        "publication": fpub.PublicationForm,
        "version": fpub.VersionForm,
        "pubreview": fpub.PublicationReviewForm,
        "publish": fpub.PublishForm,
        "application": fa.ApplicationForm,
        "correction": fa.CorrectionSendForm,
        "correction_return": fa.CorrectionReturnForm,
        "consult": fa.ConsultationStartForm,
        "consult_end": fa.ConsultationEndForm,
        "extension": fa.ExtensionForm,
        "reply": fa.ReplyForm,
        "app_appeal": fa.AppealForm,
        "manual": ManualFactForm,
        "compute": ComputeForm,
        "whatif": WhatIfForm,
        "quarterly": views_reports.QuarterlyReportForm,
        "close": views_closing.CloseForm,
        "finalize": views_closing.FinalizeForm,
        "appeal": views_closing.AppealForm,
        "decide": views_closing.DecideForm,
        "triggers": views_triggers.TriggerRunForm,
        "annual": views_annual.AnnualReportForm,
        "annual_publish": views_annual.PublishForm,
    }


F = _forms()
NO_ARGS: Callable[[Any], dict[str, Any]] = lambda w: {}  # noqa: E731
D2023 = "2023-03-01"


def _annual_keys() -> tuple[str, ...]:
    return tuple(F["annual"]().fields)


SPECS: list[FormSpec] = [
    FormSpec(
        "task_assignments_edit",
        "office",
        lambda w: {"pk": w.task.pk},
        keys(F["assign"]),
        baseline=lambda w: {"leads": [_pk(w.sections["lead"])], "responsibles": [_pk(w.sections["resp"])]},
    ),
    FormSpec(
        "notifications_mark_read", "lead", NO_ARGS, ("id",), baseline=lambda w: {"id": _pk(w.notification)}
    ),
    FormSpec(
        "report_edit",
        "lead",
        lambda w: {"pk": w.task.pk},
        keys(F["report"]),
        baseline=lambda w: {"year": "2023", "quarter": "2", "status": "in_progress", "narrative": "进展"},
    ),
    FormSpec(
        "evidence_upload",
        "lead",
        lambda w: {"pk": w.report.pk},
        keys(F["evidence"], extra=("next",)),
        files=("file",),
        baseline=lambda w: {
            "kind": "link",
            "url": "https://www.example.gov.cn/a.html",
            "published_on": D2023,
        },
    ),
    FormSpec("evidence_remove", "lead", lambda w: {"pk": w.evidence.pk}, ("next",)),
    FormSpec(
        "report_review",
        "office",
        lambda w: {"pk": w.report.pk},
        keys(F["review"]),
        baseline=lambda w: {"version": str(w.report.version), "decision": "return", "comment": "补充"},
    ),
    FormSpec("plan_import_upload", "office", NO_ARGS, keys(F["upload"]), files=("file",)),
    FormSpec(
        "plan_import_confirm",
        "office",
        lambda w: {"pk": w.document.pk},
        keys(F["confirm"], extra=("action_0", "section_0", "alias_0", "new_name_0", "action_1")),
        baseline=lambda w: {"title": "工作要点", "year": "2024", "action_0": "create"},
    ),
    FormSpec("plan_import_cancel", "office", lambda w: {"pk": w.document.pk}, ()),
    FormSpec("plan_reimport", "office", lambda w: {"pk": w.plan.pk}, keys(F["sheet"]), files=("file",)),
    FormSpec("plan_reimport_confirm", "office", lambda w: {"pk": w.plan.pk, "batch_pk": w.batch.pk}, ()),
    FormSpec(
        "notice_create",
        "office",
        NO_ARGS,
        keys(F["notice"], extra=UNIT_KEYS),
        baseline=lambda w: {
            "year": "2023",
            "title": "通报",
            "units-TOTAL_FORMS": "1",
            "units-INITIAL_FORMS": "0",
            "units-0-section": _pk(w.sections["lead"]),
            "units-0-problems": "逾期",
        },
    ),
    FormSpec(
        "notice_receive",
        "office",
        NO_ARGS,
        keys(F["received"], extra=UNIT_KEYS),
        baseline=lambda w: {
            "issuer_level": "county",
            "issuer_name": "县政府办",
            "doc_number": "樟府办〔2023〕1号",
            "title": "通报",
            "received_on": D2023,
            "units-TOTAL_FORMS": "1",
            "units-INITIAL_FORMS": "0",
            "units-0-section": _pk(w.sections["lead"]),
        },
    ),
    FormSpec(
        "notice_edit",
        "office",
        lambda w: {"pk": w.notice_draft.pk},
        keys(F["notice"], extra=UNIT_KEYS),
        baseline=lambda w: {
            "year": "2023",
            "title": "通报",
            "version": str(w.notice_draft.version),
            "units-TOTAL_FORMS": "1",
            "units-INITIAL_FORMS": "0",
            "units-0-section": _pk(w.sections["lead"]),
        },
    ),
    FormSpec("notice_issue", "office", lambda w: {"pk": w.notice_draft.pk}, keys(F["action"])),
    FormSpec("notice_discard", "office", lambda w: {"pk": w.notice_draft.pk}, keys(F["action"])),
    FormSpec(
        "rectification_answer",
        "lead",
        lambda w: {"pk": w.item_open.pk},
        keys(F["answer"]),
        files=("file",),
        baseline=lambda w: {
            "version": str(w.item_open.version),
            "response": "已整改",
            "link": "https://www.example.gov.cn/b.html",
        },
    ),
    FormSpec(
        "rectification_verify",
        "office",
        lambda w: {"pk": w.item_answered.pk},
        keys(F["verify"]),
        baseline=lambda w: {"version": str(w.item_answered.version), "decision": "return", "comment": "不全"},
    ),
    FormSpec(
        "interview_create",
        "office",
        NO_ARGS,
        keys(F["interview"]),
        baseline=lambda w: {
            "held_on": D2023,
            "sections": [_pk(w.sections["lead"])],
            "interviewer": "李局长",
            "subject": "约谈",
        },
    ),
    FormSpec(
        "interview_item_add",
        "office",
        lambda w: {"pk": w.interview.pk},
        keys(F["followup"]),
        baseline=lambda w: {
            "section": _pk(w.sections["lead"]),
            "description": "整改",
            "deadline": "2023-12-01",
        },
    ),
    FormSpec(
        "publication_create",
        "lead",
        NO_ARGS,
        keys(F["publication"]),
        files=("attachment",),
        baseline=lambda w: {"title": "公报", "column": "statistics", "formed_on": D2023, "body": "正文"},
    ),
    FormSpec(
        "publication_edit",
        "lead",
        lambda w: {"pk": w.pub_draft.pk},
        keys(F["publication"]),
        files=("attachment",),
        baseline=lambda w: {
            "version": str(w.pub_draft.version),
            "title": "公报",
            "column": "statistics",
            "formed_on": D2023,
        },
    ),
    FormSpec("publication_submit", "lead", lambda w: {"pk": w.pub_draft.pk}, keys(F["version"])),
    FormSpec("publication_delete", "lead", lambda w: {"pk": w.pub_draft.pk}, keys(F["version"])),
    FormSpec(
        "publication_review",
        "lead",
        lambda w: {"pk": w.pub_first.pk},
        keys(F["pubreview"]),
        baseline=lambda w: {
            "version": str(w.pub_first.version),
            "level": "first",
            "decision": "return",
            "comment": "改",
        },
    ),
    FormSpec(
        "publication_publish",
        "office",
        lambda w: {"pk": w.pub_ok.pk},
        keys(F["publish"]),
        baseline=lambda w: {
            "version": str(w.pub_ok.version),
            "publish_url": "https://www.example.gov.cn/c.html",
            "published_on": "2023-10-09",
        },
    ),
    FormSpec(
        "application_create",
        "office",
        NO_ARGS,
        keys(F["application"]),
        baseline=lambda w: {
            "channel": "in_person",
            "submitted_on": D2023,
            "applicant_type": "natural_person",
            "applicant_name": "李四",
            "content": "申请",
            "section": _pk(w.sections["lead"]),
        },
    ),
    FormSpec(
        "application_edit",
        "office",
        lambda w: {"pk": w.application.pk},
        keys(F["application"]),
        baseline=lambda w: {
            "channel": "post",
            "submitted_on": D2023,
            "applicant_type": "business",
            "applicant_name": "某公司",
            "content": "申请",
            "section": _pk(w.sections["lead"]),
        },
    ),
    FormSpec(
        "application_correction",
        "office",
        lambda w: {"pk": w.application.pk},
        keys(F["correction"], F["correction_return"]),
        baseline=lambda w: {"action": "send", "sent_on": D2023},
    ),
    FormSpec(
        "application_consultation",
        "office",
        lambda w: {"pk": w.application.pk},
        keys(F["consult"], F["consult_end"]),
        baseline=lambda w: {"action": "start", "party": "第三方企业", "started_on": D2023},
    ),
    FormSpec(
        "application_extension",
        "office",
        lambda w: {"pk": w.application.pk},
        keys(F["extension"]),
        baseline=lambda w: {"approved_by": "王主任", "approved_on": "2023-03-20", "reason": "需协调"},
    ),
    FormSpec(
        "application_reply",
        "office",
        lambda w: {"pk": w.application.pk},
        keys(F["reply"]),
        baseline=lambda w: {"replied_on": "2023-03-20", "result": "granted"},
    ),
    FormSpec(
        "application_appeal_add",
        "office",
        lambda w: {"pk": w.application.pk},
        keys(F["app_appeal"]),
        baseline=lambda w: {"kind": "review", "filed_on": "2023-05-02", "result": "pending"},
    ),
    FormSpec(
        "application_appeal_edit",
        "office",
        lambda w: {"pk": w.app_appeal.pk},
        keys(F["app_appeal"]),
        baseline=lambda w: {
            "kind": "review",
            "filed_on": "2023-05-01",
            "result": "upheld",
            "decided_on": "2023-06-01",
        },
    ),
    FormSpec(
        "manual_fact_save",
        "office",
        NO_ARGS,
        keys(F["manual"]),
        files=("evidence",),
        baseline=lambda w: {
            "section": _pk(w.sections["lead"]),
            "year": "2023",
            "period": "Q1",
            "fact": "quality_assessment",
            "value": "9",
            "reason": "好",
        },
    ),
    FormSpec("manual_fact_delete", "office", lambda w: {"pk": w.fact.pk}, ()),
    FormSpec(
        "score_compute_run",
        "office",
        NO_ARGS,
        keys(F["compute"]),
        baseline=lambda w: {"ruleset": _pk(w.ruleset), "year": "2023", "period": "Q1"},
    ),
    FormSpec(
        "score_whatif_run",
        "office",
        NO_ARGS,
        keys(F["whatif"]),
        baseline=lambda w: {"ruleset": _pk(w.ruleset), "year": "2023", "period": "Q2"},
    ),
    FormSpec(
        "report_quarterly_download",
        "office",
        NO_ARGS,
        keys(F["quarterly"]),
        baseline=lambda w: {"year": "2023", "quarter": "1", "plan": _pk(w.plan), "format": "xlsx"},
    ),
    FormSpec(
        "close_create",
        "office",
        NO_ARGS,
        keys(F["close"]),
        baseline=lambda w: {"year": "2023", "quarter": "2", "run": _pk(w.run)},
    ),
    FormSpec("close_finalize", "office", lambda w: {"pk": w.close.pk}, keys(F["finalize"])),
    FormSpec(
        "appeal_new",
        "lead",
        lambda w: {"pk": w.line.pk},
        keys(F["appeal"]),
        files=("evidence",),
        baseline=lambda w: {"reason": "已按期完成"},
    ),
    FormSpec(
        "appeal_decide",
        "office",
        lambda w: {"pk": w.appeal.pk},
        keys(F["decide"]),
        baseline=lambda w: {"decision": "reject", "reason": "理由不足"},
    ),
    FormSpec(
        "notice_triggers_run",
        "office",
        NO_ARGS,
        keys(F["triggers"]),
        baseline=lambda w: {"year": "2023", "quarter": "1"},
    ),
    FormSpec(
        "annual_report_save",
        "office",
        lambda w: {"year": 2023},
        _annual_keys(),
        baseline=lambda w: {"overview": "总体情况"},
    ),
    FormSpec(
        "annual_report_publish",
        "office",
        lambda w: {"year": 2023},
        keys(F["annual_publish"]),
        baseline=lambda w: {"published_on": "2024-01-20"},
    ),
]
SPEC_BY_URL = {spec.url: spec for spec in SPECS}
