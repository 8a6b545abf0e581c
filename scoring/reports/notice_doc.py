"""通报批评（关于{期间}{事项}情况的通报）生成 Word：主送 → 开头（依据工作要点、评分细则与条例第四十七条）→
一、总体情况 → 二、存在问题（点名股室与扣分）→ 三、处理意见（对…予以通报批评）→ 四、整改要求（期限、整改报告、
联系人）→ 附件说明 → 署名、日期 → 附件（问题及整改事项清单）→ 版记（抄送、印发）。

通报中办公室写好的各部分原样采用；空着的部分按通报的股室、整改事项与该季度台账生成默认文字。
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from scoring.models import LedgerLine, QuarterClose, RuleSet, RuleSetStatus, SnapshotLedgerLine
from scoring.reports.gongwen import GongwenDocument, cn_date, cn_number, docx_response
from scoring.reports.quarterly import fmt_points, official_run
from workplan.audit import audit_record
from workplan.models import CriticismNotice, NoticeUnit, OfficeSettings, RectificationItem, User, WorkPlan

LAW = "《中华人民共和国政府信息公开条例》第四十七条"
CRITICISM = "予以通报批评"
MAX_REASONS = 3


@dataclass(frozen=True)
class UnitDeductions:
    points: Decimal
    reasons: list[str]


def notice_period(notice: CriticismNotice) -> str:
    if notice.period_label.strip():
        return notice.period_label.strip()
    if notice.quarter:
        return f"{notice.year}年第{cn_number(notice.quarter)}季度"
    return f"{notice.year}年"


def notice_title(notice: CriticismNotice) -> str:
    """标题用“关于{期间}{事项}情况的通报”；已按此写好的标题原样使用。"""
    title = notice.title.strip()
    if title.startswith("关于") and title.endswith("通报"):
        return title
    topic = title.removesuffix("的通报").removesuffix("通报").removesuffix("情况").strip()
    topic = topic or "政务公开工作任务落实"
    period = notice_period(notice)
    if period not in topic:
        topic = period + topic
    return f"关于{topic}情况的通报"


def notice_date(notice: CriticismNotice, *, today: datetime.date) -> datetime.date:
    if notice.issued_at is not None:
        return timezone.localdate(notice.issued_at)
    return notice.received_on or today


def _deductions(notice: CriticismNotice, section_ids: list[int]) -> dict[int, UnitDeductions]:
    """被通报股室在该季度台账中的扣分：季度已关账取快照（冲回的不计），否则取正式计分。"""
    if not notice.quarter or not section_ids:
        return {}
    close = QuarterClose.objects.filter(year=notice.year, quarter=notice.quarter).first()
    lines: list[tuple[int, Decimal, str]]
    if close is not None:
        reversed_ids = SnapshotLedgerLine.objects.filter(close=close, reverses__isnull=False).values(
            "reverses_id"
        )
        lines = list(
            SnapshotLedgerLine.objects.filter(
                close=close, section_id__in=section_ids, points__lt=0, reverses__isnull=True
            )
            .exclude(pk__in=reversed_ids)
            .order_by("position")
            .values_list("section_id", "points", "reason")
        )
    else:
        run = official_run(notice.year, notice.quarter)
        if run is None:
            return {}
        lines = list(
            LedgerLine.objects.filter(run=run, section_id__in=section_ids, points__lt=0)
            .order_by("position")
            .values_list("section_id", "points", "reason")
        )
    points: dict[int, Decimal] = defaultdict(Decimal)
    reasons: dict[int, list[str]] = defaultdict(list)
    for section_id, value, reason in lines:
        points[section_id] += -value
        reasons[section_id].append(reason.rstrip("。"))
    return {sid: UnitDeductions(points[sid], reasons[sid]) for sid in points}


def _basis(notice: CriticismNotice) -> str:
    plan = WorkPlan.objects.filter(year=notice.year).order_by("-created_at", "-pk").first()
    rulesets = list(
        RuleSet.objects.filter(year=notice.year, status=RuleSetStatus.PUBLISHED).order_by("-version", "-pk")
    )
    ruleset = next((r for r in rulesets if r.unit_type == "股室"), rulesets[0] if rulesets else None)
    parts = []
    if plan is not None:
        parts.append(f"《{plan.title}》" + (f"（{plan.doc_number}）" if plan.doc_number else ""))
    if ruleset is not None:
        parts.append(f"《{ruleset.name}》")
    return "和".join(parts)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith(("。", "！", "？", "：")) else text + "。"


def build_notice_docx(notice: CriticismNotice, *, today: datetime.date) -> bytes:
    """把一份通报（草稿或已印发）生成公文格式的 docx。"""
    settings = OfficeSettings.current()
    unit = settings.unit_name.strip() or notice.issuer_name.strip() or "本单位"
    issuer = notice.issuer_name.strip() or unit
    units: list[NoticeUnit] = list(
        notice.units.select_related("section").order_by("section__sort_order", "pk")
    )
    items: list[RectificationItem] = list(
        notice.items.select_related("section", "task").order_by("deadline", "section__sort_order", "pk")
    )
    names = [u.section.name for u in units]
    names_text = "、".join(names) or "相关股室"
    period = notice_period(notice)
    deductions = _deductions(notice, [u.section_id for u in units])
    deadline = notice.rectification_deadline or min((i.deadline for i in items), default=None)
    signed_on = notice_date(notice, today=today)

    gw = GongwenDocument()
    doc_number = notice.doc_number.strip() or f"{settings.notice_prefix}〔{notice.year}〕　号"
    gw.letterhead(issuer_mark=f"{issuer}文件", doc_number=doc_number)
    gw.title(notice_title(notice))
    gw.recipients(notice.recipients or "各股室")

    if notice.opening.strip():
        gw.text_block(notice.opening)
    else:
        basis = _basis(notice)
        basis_text = f"根据{basis}，" if basis else ""
        gw.para(
            f"{basis_text}按照{LAW}关于督促整改、通报批评的规定，{issuer}对{period}各股室政务公开工作"
            "任务落实情况进行了检查考核。现将有关情况通报如下："
        )

    gw.heading1("一、总体情况")
    if notice.overview.strip():
        gw.text_block(notice.overview)
    else:
        gw.para(
            f"{period}，各股室按照年度政务公开工作要点推进各项任务。经检查考核，"
            f"{len(units) or '部分'}个股室（{names_text}）存在任务落实不到位的问题。"
        )

    gw.heading1("二、存在问题")
    if notice.problems.strip():
        gw.text_block(notice.problems)
    listed = [u for u in units if u.section.name not in notice.problems]
    for i, u in enumerate(listed, 1):
        body = _sentence(u.problems) or "工作任务落实不到位。"
        found = deductions.get(u.section_id)
        if found is not None:
            shown = "；".join(found.reasons[:MAX_REASONS]) + (
                "等" if len(found.reasons) > MAX_REASONS else ""
            )
            body += f"{period}考核扣{fmt_points(found.points)}分（{shown}）。"
        gw.heading2(f"（{cn_number(i)}）{u.section.name}。", body)

    gw.heading1("三、处理意见")
    opinion = notice.handling_opinion.strip()
    if "通报批评" not in opinion:
        gw.para(f"经研究，决定对{names_text}{CRITICISM}。")
    if opinion:
        gw.text_block(opinion)

    gw.heading1("四、整改要求")
    due = cn_date(deadline) if deadline else ""
    if notice.requirements.strip():
        gw.text_block(notice.requirements)
        if due and due not in notice.requirements:
            gw.para(f"整改期限：{due}前完成整改，并向办公室报送整改报告。")
    else:
        by = f"于{due}前" if due else "在规定期限内"
        gw.heading2(
            "（一）限期整改。", f"被通报股室要高度重视，对照通报指出的问题逐项制定整改措施，{by}整改到位。"
        )
        gw.heading2(
            "（二）报送整改报告。",
            f"被通报股室须{by}向办公室报送书面整改报告，说明整改措施和完成情况，并附佐证材料。",
        )
        gw.heading2(
            "（三）举一反三。",
            "各股室要引以为戒，对照工作要点和考核评分细则全面自查，确保按期保质完成各项任务。",
        )
    if notice.contact.strip() and notice.contact.strip() not in notice.requirements:
        gw.para(f"联系人及电话：{_sentence(notice.contact)}")

    attachment = "被通报股室问题及整改事项清单"
    gw.attachment_note([attachment])
    gw.signature(name=issuer, signed_on=signed_on)

    gw.attachment(None, attachment)
    if items:
        rows = [
            [i, it.section.name, it.description, it.task.title if it.task else "", cn_date(it.deadline)]
            for i, it in enumerate(items, 1)
        ]
    else:
        rows = [
            [i, u.section.name, u.problems.strip(), "", cn_date(deadline) if deadline else ""]
            for i, u in enumerate(units, 1)
        ]
    gw.table(["序号", "股室", "问题及整改内容", "相关任务", "整改期限"], rows, widths_mm=[12, 24, 62, 32, 26])

    gw.imprint(cc=notice.cc, printer=f"{unit}办公室", printed_on=signed_on)
    return gw.to_bytes()


def notice_docx_response(
    notice: CriticismNotice, *, user: User | None = None, request: HttpRequest | None = None
) -> HttpResponse:
    """通报的 docx 下载响应（调用方已做权限检查）；写审计日志 notice.docx。"""
    payload = build_notice_docx(notice, today=timezone.localdate())
    audit_record(
        action="notice.docx",
        user=user if user is not None else getattr(request, "user", None),
        obj=notice,
        new={"status": notice.status, "doc_number": notice.doc_number},
        request=request,
    )
    return docx_response(payload, filename=notice_title(notice))
