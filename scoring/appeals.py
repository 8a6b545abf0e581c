"""关账后的申诉：股室在申诉期内对扣分提出异议，办公室采纳（追加冲回行）或驳回。

申诉采纳时只追加一条冲回行，并按冲回后的台账重算该股室的调整后总分、等次与全部股室的名次；
原台账行与原总分不变。
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.utils import timezone

from scoring import engine
from scoring.access import require_office
from scoring.close_access import appeal_window_open, can_appeal, close_title, quarter_period
from scoring.models import (
    Appeal,
    AppealStatus,
    QuarterClose,
    QuarterCloseStatus,
    SnapshotLedgerLine,
    SnapshotScore,
)
from scoring.rulesets import engine_ruleset
from workplan import uploads
from workplan.audit import audit_record
from workplan.models import OfficeSettings, User

ZERO = Decimal(0)


def appeal_refusal(line: SnapshotLedgerLine, *, today: datetime.date | None = None) -> str:
    """该台账行现在不能申诉的原因（中文）；可以申诉时为空串。不查权限，只看关账状态与该行本身。"""
    close = line.close
    if close.status == QuarterCloseStatus.FINAL:
        return f"{close_title(close)}已定稿，不能再提出申诉"
    if not appeal_window_open(close, today=today):
        return f"申诉期已于{close.appeal_deadline:%Y-%m-%d}结束，不能再提出申诉"
    if line.reverses_id is not None:
        return "冲回行不能申诉"
    if line.points >= 0:
        return "只能对扣分的台账行提出申诉"
    return ""


def _appeal_snapshot(appeal: Appeal) -> dict[str, Any]:
    return {
        "line": appeal.line_id,
        "status": appeal.status,
        "reason": appeal.reason,
        "evidence": appeal.evidence_name,
        "decision_reason": appeal.decision_reason,
        "reversal": appeal.reversal_id,
    }


def appeal_submit(
    *,
    line: SnapshotLedgerLine,
    user: User,
    reason: str,
    evidence: UploadedFile | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    """股室对关账台账中的一条扣分提出申诉（理由必填，可附材料），写审计日志。规则：

    - 只能由该行所属股室的人员提出（其他人 403）；只能在申诉期内（关账日至申诉截止日，按日期含当日）、
      尚未定稿时提出；
    - 只能对扣分行（分值为负）申诉，冲回行不能申诉；
    - 同一行同时只能有一件待处理的申诉；已采纳（已冲回）的行不能再申诉；被驳回后可在申诉期内重新申诉；
    - 材料只收 pdf、docx、xlsx、jpg、png，大小不超过办公室设置的上限。
    """
    if not can_appeal(user, line):
        raise PermissionDenied("只有该台账行所属股室的人员可以申诉")
    line.close = QuarterClose.objects.get(pk=line.close_id)  # the caller's copy may predate a finalize
    refusal = appeal_refusal(line)
    if refusal:
        raise ValidationError(refusal)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "请填写申诉理由"})
    original_name = ""
    if evidence is not None:
        max_mb = OfficeSettings.current().max_evidence_mb
        original_name, error = uploads.check_upload(evidence, max_mb=max_mb)
        if error:
            raise ValidationError({"evidence": error})

    with transaction.atomic():
        # A second submission for the line, or a finalize, waits here (PostgreSQL) or at BEGIN (SQLite
        # IMMEDIATE); then the window is checked again.
        line.close = QuarterClose.objects.select_for_update().get(pk=line.close_id)
        refusal = appeal_refusal(line)
        if refusal:
            raise ValidationError(refusal)
        existing = set(Appeal.objects.filter(line=line).values_list("status", flat=True))
        if AppealStatus.PENDING in existing:
            raise ValidationError("该台账行已有待处理的申诉")
        if AppealStatus.ACCEPTED in existing or line.reversals.exists():
            raise ValidationError("该台账行的申诉已采纳并冲回")
        appeal = Appeal(
            close_id=line.close_id,
            line=line,
            section_id=line.section_id,
            reason=reason,
            evidence_name=original_name,
            submitted_by=user,
        )
        stored = ""
        if evidence is not None:
            appeal.evidence.save(f"{uuid.uuid4().hex[:12]}/{original_name}", evidence, save=False)
            stored = appeal.evidence.name or ""
        with uploads.kept_only_if_saved(appeal.evidence.storage, stored):
            appeal.save()
            audit_record(
                action="appeal.submit", user=user, obj=appeal, new=_appeal_snapshot(appeal), request=request
            )
    return appeal


def reversal_reason(line: SnapshotLedgerLine, decision: str) -> str:
    """冲回行的理由：申诉采纳：〈处理意见〉，冲回「原理由」。"""
    head = f"申诉采纳：{decision}，" if decision else "申诉采纳："
    return f"{head}冲回「{line.reason}」"


def snapshot_rescore(close: QuarterClose) -> list[SnapshotScore]:
    """按冲回行重算调整后总分：调整后总分 = 关账时总分 + 该股室全部冲回行之和（四舍五入两位），没有冲回的股室
    保持原总分；等次按细则的等次线（被否决的仍为不合格）；名次按调整后总分重排（同分同名次，被否决的排最后）。
    只改有变化的行（adjusted_total、grade、rank）；原总分与原台账行不变。"""
    scores = list(SnapshotScore.objects.filter(close=close).order_by("pk"))
    if not scores:
        return []
    # Added to the frozen total rather than re-summing every line: stored lines carry 4 decimals, so a
    # re-sum could move a section that has no reversal by 0.01.
    reversed_points = dict(
        SnapshotLedgerLine.objects.filter(close=close, reverses__isnull=False)
        .values("section_id")
        .order_by("section_id")
        .annotate(points=Sum("points"))
        .values_list("section_id", "points")
    )
    rs = engine_ruleset(close.run.ruleset) if close.run is not None else None
    period = close.run.period if close.run is not None else quarter_period(close.quarter)
    results = []
    for s in scores:
        adjusted = engine.round_score(s.total + (reversed_points.get(s.section_id) or ZERO))
        if s.vetoed:
            grade = engine.FAIL_GRADE
        elif rs is not None:
            grade = engine.grade(rs, adjusted)  # the rule set's grade bands, as the engine applies them
        else:
            grade = s.grade
        results.append(_result(str(s.section_id), period, adjusted, grade, s.vetoed))
    ranks = engine.rank(results)
    changed = []
    for s, r in zip(scores, results, strict=True):
        new = (r.total, r.grade, ranks[r.unit])
        if (s.adjusted_total, s.grade, s.rank) != new:
            s.adjusted_total, s.grade, s.rank = new
            changed.append(s)
    if changed:
        SnapshotScore.objects.bulk_update(changed, ["adjusted_total", "grade", "rank"])
    return changed


def _result(unit: str, period: str, total: Decimal, grade: str, vetoed: bool) -> engine.UnitResult:
    """只有总分的引擎结果（用于名次、年度汇总）。"""
    return engine.UnitResult(unit, period, total, grade, vetoed, ZERO, ZERO, ZERO, {}, (), total)


def appeal_decide(
    *,
    appeal: Appeal,
    accept: bool,
    reason: str,
    user: User,
    request: HttpRequest | None = None,
) -> Appeal:
    """办公室处理申诉（定稿前），写审计日志：

    - 采纳：追加一条冲回行（分值为原行的相反数，理由“申诉采纳：…，冲回「原理由」”，指向被冲回的行），
      按冲回后的台账重算该股室的调整后总分与等次，并重排全部股室的名次；原台账行与原总分不变；
    - 驳回：成绩不变，必须写明理由；
    - 只能处理待处理的申诉；不能处理本人提出的申诉。
    """
    require_office(user, "处理申诉")
    reason = reason.strip()
    if not accept and not reason:
        raise ValidationError({"reason": "驳回申诉须写明理由"})
    with transaction.atomic():
        # The status update is conditional on "still pending": a second decision (another tab, a double
        # click) updates no row and is refused, on SQLite as on PostgreSQL.
        current = Appeal.objects.select_related("close__run__ruleset", "line").get(pk=appeal.pk)
        if current.status != AppealStatus.PENDING:
            raise ValidationError("该申诉已处理")
        if current.close.status == QuarterCloseStatus.FINAL:
            raise ValidationError(f"{close_title(current.close)}已定稿，不能再处理申诉")
        if current.submitted_by_id is not None and current.submitted_by_id == user.pk:
            raise ValidationError("不能处理本人提出的申诉")
        old = _appeal_snapshot(current)
        reversal = None
        if accept:
            line = current.line
            last = SnapshotLedgerLine.objects.filter(
                close_id=current.close_id, section_id=line.section_id
            ).aggregate(m=Max("position"))["m"]
            reversal = SnapshotLedgerLine.objects.create(
                close_id=current.close_id,
                section_id=line.section_id,
                indicator_code=line.indicator_code,
                rule_code=line.rule_code,
                period=line.period,
                points=ZERO - line.points,
                reason=reversal_reason(line, reason),
                facts={"appeal": current.pk, "reverses": line.pk},
                ruleset_label=line.ruleset_label,
                position=(last or 0) + 1,
                reverses=line,
            )
        now = timezone.now()
        status = AppealStatus.ACCEPTED if accept else AppealStatus.REJECTED
        updated = Appeal.objects.filter(pk=current.pk, status=AppealStatus.PENDING).update(
            status=status,
            decided_by=user,
            decided_at=now,
            decision_reason=reason,
            reversal=reversal,
        )
        if updated != 1:
            raise ValidationError("该申诉已处理")
        current.status, current.decided_by, current.decided_at = status, user, now
        current.decision_reason, current.reversal = reason, reversal
        changed = snapshot_rescore(current.close) if accept else []
        new = _appeal_snapshot(current)
        if reversal is not None:
            new["reversal_points"] = str(reversal.points)
            new["rescored"] = {str(s.section_id): [str(s.adjusted_total), s.grade, s.rank] for s in changed}
        audit_record(action="appeal.decide", user=user, obj=current, old=old, new=new, request=request)
    appeal.refresh_from_db()
    return appeal
