"""《上网信息审批卡》（发布信息登记台账的流转载体）生成 Word：信息基本情况、
“三审”各环节的签名/结果/意见/时间、保密审查事项、发布登记（网址、日期）。
版式用 scoring/reports/gongwen.py 的公文版心与表格。"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.utils import timezone

from scoring.reports.gongwen import GongwenDocument, cn_date
from workplan.models import PublicationItem, PublicationReview

CARD_TITLE = "上网信息审批卡"
CHECKED, UNCHECKED = "☑ 已确认", "☐ 未确认"
STEP_HEADERS = ("环节", "签名", "结果", "意见", "时间")


def card_time(at: datetime.datetime) -> str:
    """审批时间：本地时间，精确到分（2023年10月9日 15:04）。"""
    local = timezone.localtime(at)
    return f"{cn_date(local.date())} {local:%H:%M}"


def approval_card_filename(item: PublicationItem) -> str:
    return f"{CARD_TITLE}-{item.pk}-{item.title[:30]}"


def build_approval_card(
    item: PublicationItem, steps: Sequence[PublicationReview], *, unit_name: str = ""
) -> bytes:
    """一条信息的审批卡（docx 字节）。

    steps 为该信息的全部审批步骤（按时间先后）：每一轮的拟稿提交、初审、复审、终审（通过或退回及意见）
    与发布登记都列出，签名取步骤上保存的当时的姓名。保密审查取终审时逐项确认的结果。
    """
    doc = GongwenDocument()
    doc.title(f"{unit_name.strip()}{CARD_TITLE}")
    doc.heading1("一、信息基本情况")
    basics: list[tuple[str, str]] = [
        ("标题", item.title),
        ("栏目", item.get_column_display()),
        ("承办股室", item.section.name),
        ("信息形成日期", cn_date(item.formed_on)),
        ("公开时限", f"{cn_date(item.due_on)}前（形成之日起20个工作日）"),
    ]
    if item.task_id is not None and item.task is not None:
        basics.append(("对应任务", str(item.task)))
    if item.attachment_name:
        basics.append(("附件", item.attachment_name))
    doc.table(("项目", "内容"), basics, widths_mm=(36, 120))

    doc.heading1("二、审核流程（初审、复审、终审）")
    rows = [
        (
            f"第{step.review_round}轮 {step.get_level_display()}",
            step.signer,
            step.get_decision_display(),
            step.comment,
            card_time(step.at),
        )
        for step in steps
    ]
    doc.table(STEP_HEADERS, rows or [("—", "", "", "尚未提交送审", "")], widths_mm=(34, 22, 18, 50, 32))

    doc.heading1("三、保密审查")
    checklist = [(label, CHECKED if ok else UNCHECKED) for label, ok in item.confidentiality_rows()]
    doc.table(("审查事项", "终审确认"), checklist, widths_mm=(116, 40))

    doc.heading1("四、发布登记")
    publish_rows = [
        ("发布网址", item.publish_url or "尚未发布"),
        ("发布日期", cn_date(item.published_on) if item.published_on else "尚未发布"),
    ]
    if item.published_on is not None:
        publish_rows.append(("是否按时", "逾期发布" if item.published_on > item.due_on else "按时发布"))
    doc.table(("项目", "内容"), publish_rows, widths_mm=(36, 120))
    doc.note(f"本卡由系统根据审批记录生成，生成时间：{card_time(timezone.now())}。")
    return doc.to_bytes()
