"""季度报告的成文：一、总体情况（含重点任务推进）二、存在的问题（考核扣分）三、下一步工作，
附件1 重点任务推进情况表、附件2 考核得分表（docx，公文格式）；同样的数据导出为 xlsx。

数据（QuarterlyData）由 quarterly.collect_quarterly 取得，这里不查库。
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import tablib

from scoring.reports.gongwen import GongwenDocument, cn_number
from scoring.reports.quarterly import (
    Deduction,
    QuarterlyData,
    QuarterlyOptions,
    ScoreLine,
    TaskLine,
    fmt_points,
    quarterly_title,
)
from workplan.exporting import build_dataset

# ---- text ----------------------------------------------------------------------------------------------


def default_next_steps(data: QuarterlyData) -> str:
    """“下一步工作”的默认文字（页面上可修改）：未完成与逾期任务、报送、问题整改。"""
    lines = []
    if data.open_count:
        overdue = (
            f"其中{data.overdue_count}项已逾期，要明确完成时限、尽快完成；" if data.overdue_count else ""
        )
        lines.append(
            f"（一）加快推进重点任务。对尚未完成的{data.open_count}项任务，{overdue}"
            "督促牵头股室对照时限要求倒排工期、压实责任，确保按期完成。"
        )
    else:
        lines.append("（一）巩固工作成效。对已完成的任务做好资料归档，持续做好常态化信息公开工作。")
    lines.append(
        "（二）规范季度进展报送。各股室在季度结束后按时报送进展情况，同步上传佐证材料；"
        "被退回的报送及时修改完善后重新报送。"
    )
    if data.deductions:
        lines.append(
            "（三）抓好问题整改。针对本季度考核发现的问题，相关股室逐项整改、按期销号，避免同类问题重复发生。"
        )
    else:
        lines.append("（三）加强日常督促。办公室定期调度任务进展，发现问题及时提醒、督促整改。")
    return "\n".join(lines)


def _opening(data: QuarterlyData) -> str:
    plan = f"《{data.plan_title}》" if data.plan_title else "年度政务公开工作要点"
    if data.plan_doc_number:
        plan += f"（{data.plan_doc_number}）"
    return f"按照{plan}部署，现将{data.unit_name}{data.period_label}政务公开工作情况报告如下："


def _overview_text(data: QuarterlyData) -> str:
    if not data.tasks:
        return "本季度无工作任务。"
    counts = "，".join(f"{label}{n}项" for label, n in data.status_counts)
    overdue = f"；逾期未完成{data.overdue_count}项" if data.overdue_count else ""
    return (
        f"工作要点共有工作任务{data.total}项，截至本季度末已完成{data.done}项，完成率{data.completion_rate}%"
        f"（{counts}）{overdue}。"
    )


def _reports_text(data: QuarterlyData) -> str:
    if not data.reports_total:
        return "本季度无进展报送。"
    return (
        f"各股室本季度共报送进展情况{data.reports_total}份，审核通过{data.reports_accepted}份，"
        f"退回修改{data.reports_returned}份，待审核{data.reports_pending}份。"
    )


def _publishing_text(data: QuarterlyData) -> str:
    parts = []
    if data.published_items is not None:
        parts.append(f"本季度主动公开政府信息{fmt_points(data.published_items)}条")
    else:
        parts.append("本季度无主动公开信息数量记录")
    if data.applications is not None:
        parts.append(f"受理政府信息公开申请{fmt_points(data.applications)}件")
    else:
        parts.append("本季度无政府信息公开申请记录")
    return "；".join(parts) + "。"


def _task_body(task: TaskLine) -> str:
    status = task.status_label + ("（已逾期）" if task.overdue else "")
    narrative = task.narrative or "本季度未报送进展情况。"
    if not narrative.endswith(("。", "！", "？", "…")):
        narrative += "。"
    return (
        f"牵头股室：{task.leads or '未明确'}；进展状态：{status}。{narrative}"
        f"佐证材料{task.evidence_count}份。"
    )


def _problem_groups(data: QuarterlyData) -> list[tuple[str, list[Deduction]]]:
    groups: dict[str, list[Deduction]] = {}
    for d in data.deductions:
        groups.setdefault(d.indicator_name, []).append(d)
    return list(groups.items())


# ---- docx ----------------------------------------------------------------------------------------------

TASK_HEADERS = ["序号", "工作任务", "牵头股室", "责任股室", "进展状态", "截止日期", "佐证材料（份）"]
TASK_WIDTHS = [9, 44, 20, 22, 16, 27, 18]
SCORE_HEADERS = ["名次", "股室", "总分", "等次", "扣分", "备注"]
SCORE_WIDTHS = [14, 40, 22, 22, 22, 36]


def attachment_titles(data: QuarterlyData) -> list[str]:
    return [f"{data.period_label}重点任务推进情况表", f"{data.period_label}政务公开考核得分表"]


def build_quarterly_docx(data: QuarterlyData, options: QuarterlyOptions) -> bytes:
    """生成季度报告 docx（公文格式）。"""
    gw = GongwenDocument()
    gw.letterhead(issuer_mark=f"{data.unit_name}文件", doc_number=options.doc_number)
    gw.title(quarterly_title(data))
    gw.recipients(options.recipients)
    gw.para(_opening(data))

    gw.heading1("一、总体情况")
    gw.heading2("（一）任务完成情况。", _overview_text(data))
    gw.heading2("（二）进展报送情况。", _reports_text(data))
    gw.heading2("（三）信息公开情况。", _publishing_text(data))
    gw.heading2("（四）重点任务推进情况。", "" if data.tasks else "本季度无工作任务。")
    for i, task in enumerate(data.tasks, 1):
        gw.heading3(f"{i}. {task.title.rstrip('。')}。", _task_body(task))

    gw.heading1("二、存在的问题")
    if not data.scored:
        gw.para("本季度尚未进行考核计分，暂无扣分情况。")
    elif not data.deductions:
        gw.para("本季度考核未发现扣分事项。")
    else:
        sections = {d.section for d in data.deductions}
        total = sum((d.points for d in data.deductions), Decimal(0))
        basis = f"（{data.ruleset_name}）" if data.ruleset_name else ""
        gw.para(
            f"本季度考核{basis}共有{len(sections)}个股室被扣分，合计扣{fmt_points(total)}分，主要问题如下："
        )
        for i, (name, items) in enumerate(_problem_groups(data), 1):
            subtotal = sum((d.points for d in items), Decimal(0))
            detail = "；".join(f"{d.section}：{d.reason.rstrip('。')}" for d in items)
            gw.heading2(f"（{cn_number(i)}）{name}。", f"{detail}。该项合计扣{fmt_points(subtotal)}分。")

    gw.heading1("三、下一步工作")
    gw.text_block(options.next_steps)

    titles = attachment_titles(data)
    gw.attachment_note(titles)
    gw.signature(name=data.unit_name, signed_on=options.signed_on)

    gw.attachment(1, titles[0])
    gw.table(TASK_HEADERS, [_task_row(i, t) for i, t in enumerate(data.tasks, 1)], widths_mm=TASK_WIDTHS)
    gw.attachment(2, titles[1])
    gw.table(SCORE_HEADERS, [_score_row(s) for s in data.scores], widths_mm=SCORE_WIDTHS)
    if not data.scores:
        gw.note("本季度尚未计分。")
    elif data.ruleset_name:
        gw.note(f"评分依据：{data.ruleset_name}。")

    gw.imprint(cc=options.cc, printer=f"{data.unit_name}办公室", printed_on=options.signed_on)
    return gw.to_bytes()


def _task_row(i: int, t: TaskLine) -> list[Any]:
    status = t.status_label + ("（逾期）" if t.overdue else "")
    return [i, t.title, t.leads, t.responsibles, status, t.due_date, t.evidence_count]


def _score_row(s: ScoreLine) -> list[Any]:
    return [
        s.rank,
        s.section,
        fmt_points(s.total),
        s.grade,
        fmt_points(s.deducted),
        "一票否决" if s.vetoed else "",
    ]


# ---- xlsx ----------------------------------------------------------------------------------------------


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


TASK_SHEET_HEADERS = [
    "序号",
    "任务编号",
    "层级序号",
    "所属章节",
    "工作任务",
    "牵头股室",
    "责任股室",
    "进展状态",
    "是否逾期",
    "截止日期",
    "佐证材料（份）",
    "本季度进展情况",
]


def build_quarterly_xlsx(data: QuarterlyData) -> bytes:
    """同样的数据导出为 xlsx：两张工作表（任务推进情况、考核得分）；数字为数值，文本防公式注入。"""
    task_sheet = build_dataset(
        TASK_SHEET_HEADERS,
        [
            [i, t.code, t.number, t.chapter, t.title, t.leads, t.responsibles, t.status_label,
             "是" if t.overdue else "否", t.due_date, t.evidence_count, t.narrative]
            for i, t in enumerate(data.tasks, 1)
        ],
        title="任务推进情况",
    )  # fmt: skip
    score_sheet = build_dataset(
        ["名次", "股室", "总分", "等次", "扣分", "一票否决"],
        [
            [s.rank, s.section, _number(s.total), s.grade, _number(s.deducted), "是" if s.vetoed else "否"]
            for s in data.scores
        ],
        title="考核得分",
    )
    payload = tablib.Databook([task_sheet, score_sheet]).export("xlsx")
    return payload if isinstance(payload, bytes) else bytes(payload)


def report_filename(data: QuarterlyData) -> str:
    return quarterly_title(data)


__all__ = [
    "attachment_titles",
    "build_quarterly_docx",
    "build_quarterly_xlsx",
    "default_next_steps",
    "report_filename",
]
