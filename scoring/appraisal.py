"""绩效考核导出：某年度某季度（或年度汇总）各股室的总分、等次、名次与各指标小计（第一张表“成绩”），
以及全部台账明细（第二张表“台账明细”）。xlsx 含两张表，csv 为第一张表。

季度成绩取关账快照（申诉调整后总分、含冲回行）；尚未关账的季度取正式计分，并在表中注明。年度成绩按细则的
期间权重汇总各期间得分（engine.roll_up）。数字保持为数字单元格，以公式字符开头的文字加前缀（防公式注入）。
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import tablib
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from scoring import engine
from scoring.access import require_read_all
from scoring.models import (
    Indicator,
    LedgerLine,
    QuarterClose,
    RuleSet,
    ScoreRun,
    SnapshotLedgerLine,
    SnapshotScore,
    UnitScore,
)
from scoring.periods import PERIOD_LABELS, QUARTER_PERIODS
from scoring.rulesets import engine_ruleset
from workplan.audit import audit_record
from workplan.exporting import CONTENT_TYPES, attachment_response, build_dataset, dataset_bytes, neutralize
from workplan.file_jobs import FileResult, JobContext
from workplan.models import Section, User

ZERO = Decimal(0)
YEAR = "年度"
APPRAISAL_PERIODS: list[tuple[str, str]] = [
    *((p, PERIOD_LABELS[p]) for p in QUARTER_PERIODS),
    (YEAR, "年度（按期间权重汇总）"),
]
SOURCE_CLOSE = "关账快照"
SOURCE_RUN = "正式计分（未关账）"
SOURCE_ROLLUP = "年度汇总"
SCORE_SHEET = "成绩"
LEDGER_SHEET = "台账明细"
LEDGER_HEADERS = ["股室", "期间", "指标", "指标名称", "规则", "分值", "理由", "细则版本", "来源", "冲回行"]
NO_INDICATOR = ""  # 不属于任何指标的行（不适用指标折算）


@dataclass(frozen=True)
class Source:
    """一个期间的成绩来源：关账快照，或（未关账时）正式计分批次。"""

    period: str
    kind: str  # SOURCE_CLOSE / SOURCE_RUN
    close: QuarterClose | None = None
    run: ScoreRun | None = None

    @property
    def ruleset_id(self) -> int | None:
        run = self.close.run if self.close is not None else self.run
        return run.ruleset_id if run is not None else None


@dataclass
class PeriodScore:
    total: Decimal
    grade: str
    rank: int
    vetoed: bool


@dataclass
class LineRow:
    section_id: int
    period: str
    indicator_code: str
    rule_code: str
    points: Decimal
    reason: str
    ruleset_label: str
    source: str
    is_reversal: bool = False


@dataclass
class SectionRow:
    section_id: int
    name: str
    total: Decimal
    grade: str
    rank: int
    vetoed: bool
    indicators: dict[str, Decimal] = field(default_factory=dict)
    period_totals: dict[str, Decimal | None] = field(default_factory=dict)


@dataclass
class Appraisal:
    """导出的内容（纯数据）：成绩行、指标列、期间列、台账行与说明。"""

    year: int
    period: str
    sections: list[SectionRow]
    indicator_columns: list[tuple[str, str]]
    periods: list[str]
    lines: list[LineRow]
    notes: list[str]
    section_names: dict[int, str]

    @property
    def title(self) -> str:
        label = "年度" if self.period == YEAR else PERIOD_LABELS.get(self.period, self.period)
        return f"{self.year}年{label}绩效考核"


# ---- loading a period ------------------------------------------------------------------------------------


def _official_run(year: int, period: str, code: str = "") -> ScoreRun | None:
    from scoring.services import official_run_for

    return official_run_for(year=year, period=period, code=code)


def period_source(year: int, period: str, *, code: str = "") -> Source | None:
    """期间的成绩来源：季度已关账（且冻结了成绩）用快照，否则用该期间的正式计分；都没有为 None。"""
    if period in QUARTER_PERIODS:
        close = (
            QuarterClose.objects.filter(year=year, quarter=QUARTER_PERIODS[period], run__isnull=False)
            .select_related("run__ruleset")
            .first()
        )
        if close is not None:
            return Source(period, SOURCE_CLOSE, close=close)
    run = _official_run(year, period, code)
    return Source(period, SOURCE_RUN, run=run) if run is not None else None


def _load(source: Source) -> tuple[dict[int, PeriodScore], list[LineRow]]:
    """一个来源的各股室成绩与台账行（两次查询）。快照取调整后总分并含冲回行。"""
    if source.close is not None:
        scores = {
            sid: PeriodScore(total, grade, rank, vetoed)
            for sid, total, grade, rank, vetoed in SnapshotScore.objects.filter(
                close=source.close
            ).values_list("section_id", "adjusted_total", "grade", "rank", "vetoed")
        }
        rows = (
            SnapshotLedgerLine.objects.filter(close=source.close)
            .order_by("section_id", "position", "pk")
            .values_list(
                "section_id",
                "indicator_code",
                "rule_code",
                "points",
                "reason",
                "ruleset_label",
                "reverses_id",
            )
        )
    else:
        scores = {
            sid: PeriodScore(total, grade, rank, vetoed)
            for sid, total, grade, rank, vetoed in UnitScore.objects.filter(run=source.run).values_list(
                "section_id", "total", "grade", "rank", "vetoed"
            )
        }
        rows = (
            LedgerLine.objects.filter(run=source.run)
            .order_by("section_id", "position", "pk")
            .values_list(
                "section_id", "indicator_code", "rule_code", "points", "reason", "ruleset_label", "pk"
            )
        )
    lines = [
        LineRow(
            section_id=sid,
            period=source.period,
            indicator_code=ind,
            rule_code=rule,
            points=points,
            reason=reason,
            ruleset_label=label,
            source=source.kind,
            is_reversal=source.close is not None and extra is not None,
        )
        for sid, ind, rule, points, reason, label, extra in rows
    ]
    return scores, lines


def _subtotals(lines: list[LineRow]) -> dict[int, dict[str, Decimal]]:
    """各股室各指标的小计 = 该指标下台账行（含冲回行）之和；各列相加即总分（取整前）。"""
    out: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for line in lines:
        out[line.section_id][line.indicator_code] += line.points
    return out


def _indicator_columns(ruleset_ids: set[int], codes: set[str]) -> list[tuple[str, str]]:
    """指标列：台账中出现的指标，按细则中的顺序；名称取细则（多个版本时取第一个有该代码的）。"""
    names: dict[str, str] = {}
    order: list[str] = []
    for code, name in (
        Indicator.objects.filter(ruleset_id__in=ruleset_ids)
        .order_by("ruleset_id", "position")
        .values_list("code", "name")
    ):
        if code not in names:
            names[code] = name
            order.append(code)
    columns = [(code, names[code]) for code in order if code in codes]
    columns += [(code, "") for code in sorted(codes - set(order) - {NO_INDICATOR})]
    if NO_INDICATOR in codes:
        columns.append((NO_INDICATOR, "不适用指标折算"))
    return columns


def _section_names(ids: set[int]) -> dict[int, str]:
    return dict(Section.objects.filter(pk__in=ids).order_by("sort_order", "name").values_list("pk", "name"))


def _quarter(year: int, period: str) -> Appraisal:
    source = period_source(year, period)
    if source is None:
        raise ValidationError(f"{year}年{PERIOD_LABELS.get(period, period)}尚未正式计分，没有可导出的成绩")
    scores, lines = _load(source)
    notes = []
    if source.kind == SOURCE_RUN:
        notes.append(f"注：{period}尚未关账，成绩取自正式计分，关账前可能变动。")
    else:
        notes.append(f"注：{period}成绩取自关账快照，总分为申诉调整后总分。")
    subtotals = _subtotals(lines)
    names = _section_names(set(scores))
    rows = [
        SectionRow(
            section_id=sid,
            name=names.get(sid, str(sid)),
            total=s.total,
            grade=s.grade,
            rank=s.rank,
            vetoed=s.vetoed,
            indicators=dict(subtotals.get(sid, {})),
        )
        for sid, s in scores.items()
    ]
    codes = {line.indicator_code for line in lines}
    ruleset_ids = {i for i in [source.ruleset_id] if i is not None}
    return Appraisal(
        year=year,
        period=period,
        sections=_ordered(rows, names),
        indicator_columns=_indicator_columns(ruleset_ids, codes),
        periods=[],
        lines=lines,
        notes=notes,
        section_names=names,
    )


def _ordered(rows: list[SectionRow], names: dict[int, str]) -> list[SectionRow]:
    order = {sid: i for i, sid in enumerate(names)}  # names are in section order
    return sorted(rows, key=lambda r: (r.rank, order.get(r.section_id, len(order))))


def _year_ruleset(year: int) -> RuleSet:
    """年度汇总用的细则：最近一次关账所用的细则，否则该年度最近一次正式计分的细则。"""
    close = (
        QuarterClose.objects.filter(year=year, run__isnull=False)
        .select_related("run__ruleset")
        .order_by("-quarter")
        .first()
    )
    if close is not None and close.run is not None:
        return close.run.ruleset
    run = (
        ScoreRun.objects.filter(year=year, is_what_if=False)
        .select_related("ruleset")
        .order_by("-computed_at", "-pk")
        .first()
    )
    if run is None:
        raise ValidationError(f"{year}年没有正式计分，没有可导出的成绩")
    return run.ruleset


def _year(year: int) -> Appraisal:
    record = _year_ruleset(year)
    rs = engine_ruleset(record)
    if not rs.period_weights:
        raise ValidationError(f"评分细则 {rs.label} 未设期间权重，无法汇总年度成绩")
    periods = list(rs.period_weights)
    sources: dict[str, Source] = {}
    loaded: dict[str, tuple[dict[int, PeriodScore], list[LineRow]]] = {}
    for p in periods:
        source = period_source(year, p, code=record.code)
        if source is not None:
            sources[p] = source
            loaded[p] = _load(source)
    if not sources:
        raise ValidationError(f"{year}年各期间均未正式计分，没有可导出的成绩")

    notes = []
    closed = [p for p in periods if p in sources and sources[p].kind == SOURCE_CLOSE]
    live = [p for p in periods if p in sources and sources[p].kind == SOURCE_RUN]
    missing = [p for p in periods if p not in sources]
    weights = "、".join(f"{p} {engine.fmt(w * 100)}%" for p, w in rs.period_weights.items())
    notes.append(f"注：年度得分按细则 {rs.label} 的期间权重（{weights}）汇总各期间得分。")
    if closed:
        notes.append(f"注：{'、'.join(closed)}取自关账快照（申诉调整后总分）。")
    if live:
        notes.append(f"注：{'、'.join(live)}尚未关账，取自正式计分，关账前可能变动。")
    if missing:
        notes.append(f"注：{'、'.join(missing)}没有成绩，按0分计。")

    section_ids = {sid for scores, _ in loaded.values() for sid in scores}
    names = _section_names(section_ids)
    rolled: dict[int, engine.RolledUp] = {}
    for sid in section_ids:
        results = [
            engine.UnitResult(str(sid), p, s.total, s.grade, s.vetoed, ZERO, ZERO, ZERO, {}, (), s.total)
            for p, (scores, _) in loaded.items()
            if (s := scores.get(sid)) is not None
        ]
        rolled[sid] = engine.roll_up(rs, str(sid), results, period=YEAR)
    ranks = engine.rank(
        [
            engine.UnitResult(str(sid), YEAR, r.total, r.grade, r.vetoed, ZERO, ZERO, ZERO, {}, (), r.total)
            for sid, r in rolled.items()
        ]
    )

    indicators: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    lines: list[LineRow] = []
    for p, (_scores, period_lines) in loaded.items():
        weight = rs.period_weights[p]
        for sid, subtotal in _subtotals(period_lines).items():
            for code, points in subtotal.items():
                indicators[sid][code] += points * weight
        lines.extend(period_lines)
    for sid, r in rolled.items():
        lines.extend(
            LineRow(sid, YEAR, "", "", line.points, line.reason, line.ruleset, SOURCE_ROLLUP)
            for line in r.lines
        )
    period_order = {p: i for i, p in enumerate([*periods, YEAR])}
    section_order = {sid: i for i, sid in enumerate(names)}
    lines.sort(key=lambda line: (section_order.get(line.section_id, 0), period_order.get(line.period, 0)))

    rows = [
        SectionRow(
            section_id=sid,
            name=names.get(sid, str(sid)),
            total=r.total,
            grade=r.grade,
            rank=ranks[str(sid)],
            vetoed=r.vetoed,
            indicators={code: engine.round_score(v) for code, v in indicators.get(sid, {}).items()},
            period_totals={
                p: (scores[sid].total if sid in scores else None) for p, (scores, _) in loaded.items()
            },
        )
        for sid, r in rolled.items()
    ]
    codes = {line.indicator_code for p in loaded for line in loaded[p][1]}
    ruleset_ids = {i for s in sources.values() if (i := s.ruleset_id) is not None}
    return Appraisal(
        year=year,
        period=YEAR,
        sections=_ordered(rows, names),
        indicator_columns=_indicator_columns(ruleset_ids, codes),
        periods=periods,
        lines=lines,
        notes=notes,
        section_names=names,
    )


def appraisal_rows(year: int, period: str = YEAR) -> Appraisal:
    """绩效考核的全部行：period 为 Q1–Q4（该季度）或“年度”（按期间权重汇总）。没有成绩时抛出 ValidationError。

    - 季度：已关账（且冻结了成绩）的取快照（申诉调整后总分、含冲回行），否则取该季度的正式计分并注明；
    - 年度：按最近一次关账（或正式计分）所用细则的期间权重，用 engine.roll_up 汇总各期间得分：季度取关账快照，
      未关账的取正式计分，都没有的按 0 分计，并分别注明；名次按年度得分重排；
    - 指标小计 = 该指标下台账行之和（年度为各期间小计 × 权重之和），与总分同一口径。
    """
    if period in QUARTER_PERIODS:
        return _quarter(year, period)
    if period == YEAR:
        return _year(year)
    raise ValidationError(f"未知的考核期间“{period}”，应为 Q1–Q4 或年度")


# ---- sheets ---------------------------------------------------------------------------------------------


def _number(value: Decimal | None, *, rounded: bool = True) -> Decimal | None:
    """数字单元格（xlsx 中为数值）：成绩表四舍五入到两位，台账保留原精度；去掉多余的 0，仍是 Decimal。"""
    if value is None:
        return None
    if rounded:
        value = engine.round_score(value)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def score_sheet(appraisal: Appraisal) -> tablib.Dataset:
    """第一张表“成绩”：股室、总分、等次、名次、（年度：各期间得分）、各指标小计，末尾为说明。"""
    headers = ["股室", "总分", "等次", "名次"]
    headers += [f"{p}得分" for p in appraisal.periods]
    headers += [f"{code} {name}".strip() if code else name for code, name in appraisal.indicator_columns]
    rows: list[list[Any]] = []
    for s in appraisal.sections:
        grade = f"{s.grade}（否决）" if s.vetoed else s.grade
        row: list[Any] = [s.name, _number(s.total), grade, s.rank]
        row += [_number(s.period_totals.get(p)) for p in appraisal.periods]
        row += [_number(s.indicators.get(code, ZERO)) for code, _ in appraisal.indicator_columns]
        rows.append(row)
    width = len(headers)
    if appraisal.notes:
        rows.append([None] * width)
        rows += [[note] + [None] * (width - 1) for note in appraisal.notes]
    data = build_dataset([neutralize(h) for h in headers], rows, title=SCORE_SHEET)
    return data


def ledger_sheet(appraisal: Appraisal, indicator_names: dict[str, str]) -> tablib.Dataset:
    """第二张表“台账明细”：每一条台账行（含冲回行；年度另有各期间加权汇总行）。"""
    rows = [
        [
            appraisal.section_names.get(line.section_id, str(line.section_id)),
            line.period,
            line.indicator_code,
            indicator_names.get(line.indicator_code, ""),
            line.rule_code,
            _number(line.points, rounded=False),
            line.reason,
            line.ruleset_label,
            line.source,
            "是" if line.is_reversal else "",
        ]
        for line in appraisal.lines
    ]
    return build_dataset(LEDGER_HEADERS, rows, title=LEDGER_SHEET)


def appraisal_book(appraisal: Appraisal) -> tablib.Databook:
    names = {code: name for code, name in appraisal.indicator_columns}
    return tablib.Databook([score_sheet(appraisal), ledger_sheet(appraisal, names)])


@dataclass
class AppraisalFile:
    """准备好的绩效考核导出（workplan.file_jobs 的“待生成文件”）：行数多于 EXPORT_INLINE_ROWS 时
    在后台生成。"""

    appraisal: Appraisal
    fmt: str
    unit: str = "行"

    @property
    def title(self) -> str:
        return f"{self.appraisal.title}.{self.fmt}"

    @property
    def size(self) -> int:
        """文件的行数：成绩表各股室，xlsx 另加台账明细。"""
        sections = len(self.appraisal.sections)
        return sections + len(self.appraisal.lines) if self.fmt == "xlsx" else sections

    def build(self, ctx: JobContext) -> FileResult:
        appraisal = self.appraisal
        book = appraisal_book(appraisal)
        ctx.report_progress(50)
        data: tablib.Dataset | tablib.Databook = book if self.fmt == "xlsx" else book.sheets()[0]
        payload = dataset_bytes(data, fmt=self.fmt)
        audit_record(
            action="appraisal.export",
            user=ctx.user,
            new={
                "year": appraisal.year,
                "period": appraisal.period,
                "format": self.fmt,
                "sections": len(appraisal.sections),
                "lines": len(appraisal.lines),
                "notes": appraisal.notes,
            },
            request=ctx.request,
            object_repr=appraisal.title,
        )
        return FileResult(self.title, payload, CONTENT_TYPES[self.fmt])


def appraisal_file(*, year: int, period: str, fmt: str, user: User) -> AppraisalFile:
    """绩效考核导出（仅办公室、局长）：xlsx 含“成绩”“台账明细”两张表，csv 为“成绩”表；生成时写审计日志
    （appraisal.export）。数字为数值单元格；以 = + - @ 制表符 回车 开头的文字加前缀单引号。"""
    require_read_all(user, "导出绩效考核")
    if fmt not in CONTENT_TYPES:
        raise ValidationError(f"不支持的导出格式：{fmt}")
    return AppraisalFile(appraisal_rows(year, period), fmt)


def appraisal_export(
    *,
    year: int,
    period: str,
    fmt: str,
    user: User,
    request: HttpRequest | None = None,
) -> HttpResponse:
    """在请求里生成绩效考核导出并作为附件返回（见 appraisal_file）。"""
    prepared = appraisal_file(year=year, period=period, fmt=fmt, user=user)
    return attachment_response(prepared.build(JobContext(user=user, params={}, request=request)))
