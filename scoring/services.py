"""考核评分的写操作：计分（正式 / 模拟）、模拟与正式成绩的对比、办公室录入考核事实。

每个服务一次事务、写审计日志；计分结果只由 scores_compute 写入（替换该批次的全部得分与台账）。
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from scoring import engine
from scoring.engine import Kind
from scoring.fact_values import facts_digest, manual_value
from scoring.facts import COMPUTED_FACT_LABELS, COMPUTED_FACTS, MANUAL_ALLOWED_COMPUTED, collect_facts
from scoring.models import (
    Indicator,
    LedgerLine,
    ManualFact,
    Rule,
    RuleSet,
    RuleSetStatus,
    ScoreRun,
    UnitScore,
)
from scoring.periods import FactError, period_window
from workplan import uploads
from workplan.audit import audit_record
from workplan.models import OfficeSettings, Section, User

ZERO = Decimal(0)
BOOL_KINDS = (Kind.CONDITION, Kind.WHOLE_ITEM, Kind.PRESENCE, Kind.VETO, Kind.NOT_APPLICABLE)
TRUE_WORDS = {"是", "有", "true", "yes", "y", "1", "✓"}
FALSE_WORDS = {"否", "无", "false", "no", "n", "0"}


def scoring_sections() -> QuerySet[Section]:
    """参加考核的股室：全部启用的股室（按排序）。"""
    return Section.objects.filter(is_active=True).order_by("sort_order", "name")


def _engine_ruleset(record: RuleSet) -> engine.RuleSet:
    from scoring.rulesets import engine_ruleset  # written alongside; imported late to keep the module light

    return engine_ruleset(record)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if all(type(v) is str for v in value):  # event refs and notes: thousands of plain strings
            return list(value)
        return [_jsonable(v) for v in value]
    return value


# ---- computing -----------------------------------------------------------------------------------------


def scores_compute(
    *,
    ruleset_record: RuleSet,
    year: int,
    period: str,
    user: User | None = None,
    what_if: bool = False,
    today: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> ScoreRun:
    """计分：收集事实（scoring.facts）→ 引擎逐股室计分 → 名次 → 替换该（细则、年度、期间、正式/模拟）批次的
    全部股室得分与台账（bulk_create），写审计日志。

    - 正式计分只能用已发布的细则；草稿（或任何细则）可以做模拟计分（what_if=True），模拟批次与正式批次
      分开保存，模拟计分从不改动正式成绩；
    - 幂等：输入相同则台账相同（同样的行、同样的顺序），输入指纹（事实规范 JSON 的 sha256）不变；
    - 录入事实与细则不符、酌情分越界等无法计分的情况抛出 ValidationError，原有成绩不变。
    """
    if not what_if and ruleset_record.status != RuleSetStatus.PUBLISHED:
        raise ValidationError("草稿细则不能正式计分：请先发布，或使用模拟计分")
    today = today or timezone.localdate()
    try:
        period_window(year, period)
        rs = _engine_ruleset(ruleset_record)
        sections = list(scoring_sections())
        units = collect_facts(ruleset=rs, year=year, period=period, sections=sections, today=today)
        results = engine.score_all(rs, units)
    except (FactError, engine.ScoringError) as exc:
        raise ValidationError(str(exc)) from exc
    ranks = engine.rank(results)
    digest = facts_digest(units)
    by_pk = {str(s.pk): s for s in sections}

    with transaction.atomic():
        run, _ = ScoreRun.objects.get_or_create(
            ruleset=ruleset_record, year=year, period=period, is_what_if=what_if
        )
        # Two deliveries of the same task: the second waits here (PostgreSQL) or at BEGIN (SQLite IMMEDIATE).
        run = ScoreRun.objects.select_for_update().get(pk=run.pk)
        old = {
            "inputs_digest": run.inputs_digest,
            "totals": {name: str(total) for name, total in run.scores.values_list("section__name", "total")},
        }
        LedgerLine.objects.filter(run=run).delete()
        UnitScore.objects.filter(run=run).delete()
        UnitScore.objects.bulk_create(
            [
                UnitScore(
                    run=run,
                    section=by_pk[r.unit],
                    total=r.total,
                    grade=r.grade,
                    rank=ranks[r.unit],
                    vetoed=r.vetoed,
                    base_score=r.base_score,
                    bonus=r.bonus,
                    penalty=r.penalty,
                    indicator_scores={k: str(v) for k, v in r.indicator_scores.items()},
                )
                for r in results
            ]
        )
        LedgerLine.objects.bulk_create(
            [
                LedgerLine(
                    run=run,
                    section=by_pk[r.unit],
                    indicator_code=line.indicator,
                    rule_code=line.rule,
                    period=line.period,
                    points=line.points,
                    reason=line.reason,
                    facts=_jsonable(line.facts),
                    ruleset_label=line.ruleset,
                    position=i,
                )
                for r in results
                for i, line in enumerate(r.lines, 1)
            ],
            batch_size=2000,
        )
        run.inputs_digest = digest
        run.computed_by = user if user is not None and user.is_authenticated else None
        run.save(update_fields=["inputs_digest", "computed_by", "computed_at"])
        audit_record(
            action="scores.whatif" if what_if else "scores.compute",
            user=user,
            obj=run,
            old=old,
            new={
                "inputs_digest": digest,
                "totals": {by_pk[r.unit].name: str(r.total) for r in results},
                "lines": sum(len(r.lines) for r in results),
            },
            request=request,
        )
    return run


# ---- what-if comparison --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorDelta:
    code: str
    name: str
    official: Decimal | None
    whatif: Decimal | None

    @property
    def delta(self) -> Decimal:
        return (self.whatif or ZERO) - (self.official or ZERO)


@dataclass(frozen=True)
class SectionDelta:
    """一个股室的模拟计分与正式计分之差（模拟 − 正式）。某一边没有该股室时为 None。"""

    section: Section
    official_total: Decimal | None
    whatif_total: Decimal | None
    official_grade: str
    whatif_grade: str
    official_rank: int | None
    whatif_rank: int | None
    indicators: tuple[IndicatorDelta, ...]

    @property
    def delta(self) -> Decimal:
        return (self.whatif_total or ZERO) - (self.official_total or ZERO)

    @property
    def changed_indicators(self) -> tuple[IndicatorDelta, ...]:
        return tuple(i for i in self.indicators if i.delta)


def _indicator_names(ruleset_ids: Sequence[int]) -> list[tuple[str, str]]:
    rows = Indicator.objects.filter(ruleset_id__in=ruleset_ids).order_by("ruleset_id", "position")
    seen: dict[str, str] = {}
    for code, name in rows.values_list("code", "name"):
        seen.setdefault(code, name)
    return list(seen.items())


def scores_whatif_compare(*, official_run: ScoreRun | None, whatif_run: ScoreRun) -> list[SectionDelta]:
    """模拟计分与正式计分逐股室对比：总分、等次、名次，以及每个指标的得分之差。

    指标按代码对应（两版细则都有的指标直接相减，只在一边出现的另一边记为空）；没有正式批次时正式一栏为空。
    查询次数固定（两批次的得分各一次、指标名称一次）。
    """
    official = (
        {s.section_id: s for s in UnitScore.objects.filter(run=official_run).select_related("section")}
        if official_run is not None
        else {}
    )
    whatif = {s.section_id: s for s in UnitScore.objects.filter(run=whatif_run).select_related("section")}
    ruleset_ids = [r.ruleset_id for r in (official_run, whatif_run) if r is not None]
    names = _indicator_names(ruleset_ids)
    sections = sorted({**official, **whatif}.values(), key=lambda s: (s.section.sort_order, s.section.name))
    out: list[SectionDelta] = []
    for score in sections:
        o = official.get(score.section_id)
        w = whatif.get(score.section_id)
        o_ind = o.indicator_scores if o else {}
        w_ind = w.indicator_scores if w else {}
        indicators = tuple(
            IndicatorDelta(
                code,
                name,
                Decimal(o_ind[code]) if code in o_ind else None,
                Decimal(w_ind[code]) if code in w_ind else None,
            )
            for code, name in names
            if code in o_ind or code in w_ind
        )
        out.append(
            SectionDelta(
                section=score.section,
                official_total=o.total if o else None,
                whatif_total=w.total if w else None,
                official_grade=o.grade if o else "",
                whatif_grade=w.grade if w else "",
                official_rank=o.rank if o else None,
                whatif_rank=w.rank if w else None,
                indicators=indicators,
            )
        )
    return out


def official_run_for(*, year: int, period: str, code: str = "") -> ScoreRun | None:
    """某年度、期间的正式计分批次：优先同一细则代码的，其次最近计算的。"""
    runs = ScoreRun.objects.filter(year=year, period=period, is_what_if=False).select_related("ruleset")
    if code:
        same = runs.filter(ruleset__code=code).order_by("-computed_at", "-pk").first()
        if same is not None:
            return same
    return runs.order_by("-computed_at", "-pk").first()


# ---- manual facts --------------------------------------------------------------------------------------


def _engine_rule(rule: Rule) -> engine.Rule:
    return engine.Rule(
        code=rule.code,
        indicator=rule.indicator.code,
        kind=Kind(rule.kind),
        label=rule.label,
        fact=rule.fact,
        points=rule.points,
        cap=rule.cap,
        absent_points=rule.absent_points,
        target=rule.target,
        blank_points=rule.blank_points,
        evidence_required=rule.evidence_required,
        measure=rule.measure,
    )


def rulesets_for_year(year: int) -> list[RuleSet]:
    """录入事实时对照的细则：该年度各细则代码的最新已发布版本；该年度没有已发布细则时用最新草稿。"""
    records = list(RuleSet.objects.filter(year=year).order_by("code", "-version"))
    published = [r for r in records if r.status == RuleSetStatus.PUBLISHED]
    chosen: dict[str, RuleSet] = {}
    for r in published or records:
        chosen.setdefault(r.code, r)
    return list(chosen.values())


def manual_fact_rules(*, fact: str, rulesets: Sequence[RuleSet]) -> list[Rule]:
    """读取该事实的规则（各细则中按顺序）。"""
    return list(
        Rule.objects.filter(ruleset__in=list(rulesets), fact=fact)
        .select_related("indicator")
        .order_by("ruleset_id", "position")
    )


VALUE_HINTS = [
    (Kind.PER_OCCURRENCE, "按次扣分：填次数或每行一项"),
    (Kind.CONDITION, "条件：填 是/否"),
    (Kind.WHOLE_ITEM, "此项不得分：填 是/否"),
    (Kind.PRESENCE, "有无：填 有/无"),
    (Kind.QUANTITY, "数量：填数字，或用逗号分隔的各期数量"),
    (Kind.PER_ITEM, "按项得分：填项数或每行一项"),
    (Kind.DISCRETIONARY, "酌情分：填分值并写明理由"),
    (Kind.BONUS, "加分：每行一项事项，附证明材料"),
    (Kind.NOTICE, "通报批评：填次数或每行一个文号"),
    (Kind.VETO, "一票否决：填 是/否"),
    (Kind.NOT_APPLICABLE, "不适用：填 是/否"),
]


def manual_fact_choices(*, year: int) -> list[tuple[str, str]]:
    """可录入的事实名称（该年度细则中读取的、不由系统计算的事实）及说明，用于录入页面的下拉选择。"""
    rows = (
        Rule.objects.filter(ruleset__in=rulesets_for_year(year))
        .exclude(fact="")
        .order_by("ruleset_id", "position")
        .values_list("fact", "label", "kind")
    )
    choices: dict[str, str] = {}
    for fact, label, kind in rows:
        if fact in COMPUTED_FACTS and fact not in MANUAL_ALLOWED_COMPUTED:
            continue
        choices.setdefault(fact, f"{fact}（{label}，{dict(VALUE_HINTS).get(kind, kind)}）")
    return list(choices.items())


def parse_value_text(kind: Kind, text: str) -> Any:
    """页面上录入的文字按规则类型转成 JSON 取值（格式见 scoring.fact_values.manual_value）。"""
    raw = text.strip()
    if kind in BOOL_KINDS:
        word = raw.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValidationError({"value": "请填写 是/否（或 有/无）"})
    if kind == Kind.QUANTITY:
        parts = [p.strip() for p in raw.replace("，", ",").replace("、", ",").split(",")]
        if len(parts) > 1:
            return parts
        return raw
    if kind == Kind.DISCRETIONARY:
        return raw
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    if len(lines) == 1 and lines[0].isdigit():
        return int(lines[0])
    return lines


def _number_json(value: Any) -> Any:
    number = Decimal(str(value).strip())
    return int(number) if number == number.to_integral_value() else str(number.normalize())


def _normalized(kind: Kind, value: Any) -> Any:
    """已通过检查的取值存成整齐的 JSON：数量、酌情分存为数字（小数存为字符串以免二进制误差）。"""
    if kind == Kind.QUANTITY:
        return [_number_json(v) for v in value] if isinstance(value, list) else _number_json(value)
    if kind == Kind.DISCRETIONARY:
        raw = value.get("points") if isinstance(value, dict) else value
        return _number_json(raw)
    return value


def _snapshot(mf: ManualFact | None) -> dict[str, Any] | None:
    if mf is None:
        return None
    return {
        "value": mf.value,
        "reason": mf.reason,
        "evidence": mf.evidence.name if mf.evidence else "",
        "evidence_note": mf.evidence_note,
    }


def _check_value(rule: Rule, value: Any, *, reason: str, evidence: str) -> None:
    """对照一条规则检查录入值：形态相符；酌情分须附理由且在 0..权重（有上限时为上限）之间；
    加分规则要求证明材料时每一项都要有。"""
    try:
        converted = manual_value(_engine_rule(rule), value, reason=reason, evidence=evidence)
    except FactError as exc:
        raise ValidationError({"value": f"规则 {rule.code}（{rule.label}）：{exc}"}) from exc
    if isinstance(converted, engine.Assessment):
        limit = rule.cap if rule.cap is not None else rule.indicator.weight
        if not reason.strip():
            raise ValidationError({"reason": f"规则 {rule.code}（{rule.label}）是酌情评分，须写明理由"})
        if not ZERO <= converted.points <= limit:
            raise ValidationError(
                {"value": f"规则 {rule.code}（{rule.label}）的酌情分应在 0–{engine.fmt(limit)} 分之间"}
            )
    if rule.kind == Kind.BONUS and rule.evidence_required and isinstance(converted, tuple):
        if not converted:
            raise ValidationError({"value": "请至少填写一项加分事项"})
        if any(isinstance(i, engine.BonusItem) and not i.evidence for i in converted):
            raise ValidationError(
                {"evidence": f"规则 {rule.code}（{rule.label}）要求证明材料：请上传文件或填写证明材料说明"}
            )


def manual_fact_set(
    *,
    section: Section,
    year: int,
    period: str,
    fact: str,
    value: Any,
    reason: str,
    evidence: UploadedFile | None = None,
    evidence_note: str = "",
    user: User,
    ruleset_record: RuleSet | None = None,
    request: HttpRequest | None = None,
) -> ManualFact:
    """录入（或修改）某股室某期间的一项考核事实，写审计日志（原值 → 新值）。规则：

    - 期间为 Q1–Q4、年终或年度；系统根据任务数据计算的事实不能录入（通报批评两项在其模块上线前可录入）；
    - 对照读取该事实的规则（给定细则，否则该年度各细则的最新发布版本）检查取值的形态；
      value 为文字时按规则类型解析（是/否、数字、逗号分隔的各期数量、每行一项）；
    - 酌情评分须附理由，分值在 0..指标权重（规则有上限时为上限）之间；
    - 加分规则要求证明材料时，须上传文件或填写证明材料说明（事项自带的证明材料亦可）；
    - 证明材料文件只收 pdf、docx、xlsx、jpg、png，大小不超过办公室设置的上限；修改时不上传新文件则保留原文件。
    """
    try:
        period_window(year, period)
    except FactError as exc:
        raise ValidationError({"period": str(exc)}) from exc
    fact = fact.strip()
    if not fact:
        raise ValidationError({"fact": "请选择事实"})
    if fact in COMPUTED_FACTS and fact not in MANUAL_ALLOWED_COMPUTED:
        raise ValidationError(
            {"fact": f"“{COMPUTED_FACT_LABELS[fact]}”（{fact}）由系统根据任务与报送数据计算，不能手工录入"}
        )
    rulesets = [ruleset_record] if ruleset_record is not None else rulesets_for_year(year)
    rules = manual_fact_rules(fact=fact, rulesets=rulesets)
    if not rules:
        raise ValidationError({"fact": f"{year}年的评分细则中没有规则读取事实“{fact}”"})
    kind = Kind(rules[0].kind)
    if isinstance(value, str):
        value = parse_value_text(kind, value)
    reason = reason.strip()
    evidence_note = evidence_note.strip()[:255]

    original_name = ""
    if evidence is not None:
        max_mb = OfficeSettings.current().max_evidence_mb
        original_name, error = uploads.check_upload(evidence, max_mb=max_mb)
        if error:
            raise ValidationError({"evidence": error})

    existing = ManualFact.objects.filter(section=section, year=year, period=period, fact=fact).first()
    kept_file = existing.evidence.name.rsplit("/", 1)[-1] if existing and existing.evidence else ""
    evidence_label = evidence_note or original_name or kept_file
    for rule in rules:
        _check_value(rule, value, reason=reason, evidence=evidence_label)

    value = _normalized(kind, value)
    old = _snapshot(existing)
    with transaction.atomic():
        mf = existing or ManualFact(section=section, year=year, period=period, fact=fact)
        mf.value = value
        mf.reason = reason
        mf.evidence_note = evidence_note
        mf.entered_by = user
        stored = ""
        if evidence is not None:
            # Keep the uploader's file name (it is what the ledger shows as 证明材料), in a random folder.
            mf.evidence.save(f"{uuid.uuid4().hex[:12]}/{original_name}", evidence, save=False)
            stored = mf.evidence.name or ""
        with uploads.kept_only_if_saved(mf.evidence.storage, stored):
            mf.save()
            audit_record(
                action="manualfact.set", user=user, obj=mf, old=old, new=_snapshot(mf), request=request
            )
    return mf


@transaction.atomic
def manual_fact_delete(*, manual_fact: ManualFact, user: User, request: HttpRequest | None = None) -> None:
    """删除一项录入事实（证明材料文件随之删除），写审计日志。已算出的成绩不变，重新计分后生效。"""
    old = _snapshot(manual_fact)
    audit_record(action="manualfact.delete", user=user, obj=manual_fact, old=old, new=None, request=request)
    name = manual_fact.evidence.name if manual_fact.evidence else ""
    storage = manual_fact.evidence.storage
    manual_fact.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))


# ---- read helpers for the pages ------------------------------------------------------------------------


def latest_official_run() -> ScoreRun | None:
    return (
        ScoreRun.objects.filter(is_what_if=False)
        .select_related("ruleset")
        .order_by("-computed_at", "-pk")
        .first()
    )


def find_official_run(*, year: int, period: str, ruleset: RuleSet | None = None) -> ScoreRun | None:
    """成绩总览选中的正式批次：指定细则的，否则该期间最近计算的。"""
    runs = ScoreRun.objects.filter(year=year, period=period, is_what_if=False).select_related("ruleset")
    if ruleset is not None:
        runs = runs.filter(ruleset=ruleset)
    return runs.order_by("-computed_at", "-pk").first()


def recent_runs(limit: int = 20) -> QuerySet[ScoreRun]:
    return ScoreRun.objects.select_related("ruleset", "computed_by").order_by("-computed_at", "-pk")[:limit]


def ruleset_labels(ruleset_id: int) -> tuple[dict[str, str], dict[str, str], dict[str, Decimal]]:
    """细则的指标名称、规则说明与指标权重（两次查询），台账显示用。"""
    names: dict[str, str] = {}
    weights: dict[str, Decimal] = {}
    for code, name, weight in Indicator.objects.filter(ruleset_id=ruleset_id).values_list(
        "code", "name", "weight"
    ):
        names[code] = name
        weights[code] = weight
    labels = dict(Rule.objects.filter(ruleset_id=ruleset_id).values_list("code", "label"))
    return names, labels, weights


def ledger_lines(score: UnitScore) -> QuerySet[LedgerLine]:
    """一个股室在一次计分中的全部台账行（按计分顺序）。"""
    return LedgerLine.objects.filter(run_id=score.run_id, section_id=score.section_id).order_by("position")


def manual_facts_list(*, year: int, period: str = "", section: Section | None = None) -> QuerySet[ManualFact]:
    facts = ManualFact.objects.filter(year=year).select_related("section", "entered_by")
    if period:
        facts = facts.filter(period=period)
    if section is not None:
        facts = facts.filter(section=section)
    return facts.order_by("period", "section__sort_order", "fact")
