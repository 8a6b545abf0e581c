"""评分细则（考核评分细则）的导入、发布、复制为新版本，以及数据库记录 → 引擎 RuleSet。

细则按 code + version 区分版本；发布后不可修改，要改只能复制为新版本（草稿）再发布。
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import yaml
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from scoring import engine
from scoring.models import Indicator, Rule, RuleSet, RuleSetStatus
from scoring.rulefile import RuleFile, RuleFileError, load_rulefile
from scoring.rulefile_dump import dump_ruleset_yaml, with_version
from workplan.audit import audit_record
from workplan.models import User


class RuleSetRefused(Exception):
    """细则操作被拒绝（文件有错、已发布不可改……）。message 为中文说明；errors 为逐条错误（带行号与键名）。

    抛出时数据库中没有任何写入。
    """

    def __init__(self, message: str, errors: Iterable[RuleFileError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)

    def __str__(self) -> str:
        return "；".join([self.message, *(str(e) for e in self.errors)])


# ---- reading ---------------------------------------------------------------------------------------------


def engine_ruleset(record: RuleSet) -> engine.RuleSet:
    """数据库中的一版细则 → 引擎用的 RuleSet（指标、规则各一次查询）。"""
    indicators = list(record.indicators.order_by("position", "pk"))
    code_by_pk = {i.pk: i.code for i in indicators}
    rules = list(record.rules.order_by("position", "pk"))
    return engine.RuleSet(
        code=record.code,
        version=record.version,
        name=record.name,
        indicators=tuple(
            engine.Indicator(
                code=i.code,
                name=i.name,
                weight=i.weight,
                parent=i.parent_code or None,
                mode=engine.Mode(i.mode),
            )
            for i in indicators
        ),
        rules=tuple(
            engine.Rule(
                code=r.code,
                indicator=code_by_pk[r.indicator_id],
                kind=engine.Kind(r.kind),
                label=r.label,
                fact=r.fact,
                points=r.points,
                cap=r.cap,
                absent_points=r.absent_points,
                target=r.target,
                blank_points=r.blank_points,
                evidence_required=r.evidence_required,
                measure=r.measure,
            )
            for r in rules
        ),
        base_total=record.base_total,
        bonus_cap=record.bonus_cap,
        bonus_gate=record.bonus_gate,
        # JSON 中的数字按文字转 Decimal（str() 一次），不做浮点运算。
        grade_bands=tuple(
            engine.GradeBand(str(b["name"]), Decimal(str(b["min"]))) for b in record.grade_bands or []
        ),
        period_weights={str(k): Decimal(str(v)) for k, v in (record.period_weights or {}).items()},
        lead_share=record.lead_share,
        responsible_share=record.responsible_share,
    )


def ruleset_check(*, text: str) -> tuple[RuleFile | None, list[RuleFileError]]:
    """导入前的全部检查（不写数据库）：文件本身的校验、必须写明年度、同代码同版本不能是已发布的细则。"""
    rule_file, errors = load_rulefile(text)
    if rule_file is None:
        return None, errors
    rs = rule_file.ruleset
    lines = rule_file.key_lines
    if rule_file.year is None:
        errors.append(RuleFileError(lines.get("code", 1), "year", "导入时须写明细则适用的年度（如 year: 2023）"))
    published = RuleSet.objects.filter(code=rs.code, version=rs.version, status=RuleSetStatus.PUBLISHED)
    if published.exists():
        line = lines.get("version", lines.get("code", 1))
        errors.append(RuleFileError(line, "version", _published_message(rs)))
    return (None if errors else rule_file), errors


def _published_message(rs: engine.RuleSet) -> str:
    return (
        f"细则 {rs.code} v{rs.version} 已发布，不能修改；请把「version」改为新的版本号，"
        f"或在管理后台对该细则使用“复制为新版本”"
    )


# ---- writing ---------------------------------------------------------------------------------------------


def _creator(user: User | None) -> User | None:
    return user if user is not None and user.is_authenticated else None


def _summary(record: RuleSet) -> dict[str, Any]:
    return {
        "code": record.code,
        "version": record.version,
        "name": record.name,
        "year": record.year,
        "status": record.status,
        "indicators": record.indicators.count(),
        "rules": record.rules.count(),
    }


def _assign(record: RuleSet, rule_file: RuleFile, text: str) -> None:
    rs = rule_file.ruleset
    record.code = rs.code
    record.version = rs.version
    record.name = rs.name
    record.year = rule_file.year or 0
    record.unit_type = rule_file.unit_type
    record.base_total = rs.base_total
    record.bonus_cap = rs.bonus_cap
    record.bonus_gate = rs.bonus_gate
    record.lead_share = rs.lead_share
    record.responsible_share = rs.responsible_share
    record.grade_bands = [{"name": b.name, "min": str(b.min_score)} for b in rs.grade_bands]
    record.period_weights = {k: str(v) for k, v in rs.period_weights.items()}
    record.source_text = text


def _write_tree(record: RuleSet, rs: engine.RuleSet) -> None:
    """按文件顺序写入指标（带级别）与规则；先写指标，再按代码对应规则的所属指标。"""
    levels: dict[str, int] = {}
    for ind in rs.indicators:
        levels[ind.code] = levels.get(ind.parent, 0) + 1 if ind.parent else 1
    Indicator.objects.bulk_create(
        [
            Indicator(
                ruleset=record,
                code=ind.code,
                name=ind.name,
                parent_code=ind.parent or "",
                level=levels[ind.code],
                weight=ind.weight,
                mode=ind.mode.value,
                position=position,
            )
            for position, ind in enumerate(rs.indicators, start=1)
        ]
    )
    pk_by_code = dict(record.indicators.values_list("code", "pk"))
    Rule.objects.bulk_create(
        [
            Rule(
                ruleset=record,
                indicator_id=pk_by_code[rule.indicator],
                code=rule.code,
                kind=rule.kind.value,
                label=rule.label,
                fact=rule.fact,
                points=rule.points,
                cap=rule.cap,
                absent_points=rule.absent_points,
                target=rule.target,
                blank_points=rule.blank_points,
                evidence_required=rule.evidence_required,
                measure=rule.measure,
                position=position,
            )
            for position, rule in enumerate(rs.rules, start=1)
        ]
    )


def ruleset_import(*, text: str, user: User | None = None, request: HttpRequest | None = None) -> RuleSet:
    """导入一个细则文件为草稿。

    文件须无任何错误；同代码同版本已发布的拒绝导入（发布后不可改）；已有同版本草稿时用文件内容整体替换它。
    原文保存在 source_text 中。
    """
    rule_file, errors = ruleset_check(text=text)
    if rule_file is None:
        raise RuleSetRefused(f"细则文件有{len(errors)}处错误，未导入", errors)
    rs = rule_file.ruleset
    with transaction.atomic():
        record = RuleSet.objects.select_for_update().filter(code=rs.code, version=rs.version).first()
        if record is not None and record.is_published:
            raise RuleSetRefused(_published_message(rs))
        old: dict[str, Any] | None = None
        if record is None:
            record = RuleSet(status=RuleSetStatus.DRAFT, created_by=_creator(user))
            action = "ruleset.import"
        else:
            old = _summary(record)
            record.indicators.all().delete()  # 规则随指标级联删除
            action = "ruleset.replace"
        _assign(record, rule_file, text)
        record.save()
        _write_tree(record, rs)
        audit_record(action=action, user=user, obj=record, old=old, new=_summary(record), request=request)
    return record


def ruleset_publish(
    *, ruleset: RuleSet, user: User | None = None, request: HttpRequest | None = None
) -> RuleSet:
    """发布草稿：按数据库中的当前内容重新校验，通过后状态改为已发布并记录发布时间。

    草稿导入后若在管理后台改过，source_text 会换成与数据库内容一致的细则文件，保证已发布的原文就是计分所用的细则。
    """
    with transaction.atomic():
        record = RuleSet.objects.select_for_update().get(pk=ruleset.pk)
        if record.is_published:
            raise RuleSetRefused(f"细则 {record.code} v{record.version} 已发布，不能重复发布")
        try:
            rs = engine_ruleset(record)
        except (ValueError, KeyError) as exc:
            raise RuleSetRefused(f"细则内容有误，不能发布：{exc}") from exc
        text = dump_ruleset_yaml(rs, year=record.year, unit_type=record.unit_type)
        checked, errors = load_rulefile(text)
        if checked is None:
            # 行号指生成的文本，对后台用户没有意义；只保留键名与说明。
            raise RuleSetRefused(
                f"细则内容有{len(errors)}处错误，不能发布", [RuleFileError(0, e.key, e.message) for e in errors]
            )
        fields = ["status", "published_at"]
        source, _ = load_rulefile(record.source_text) if record.source_text else (None, [])
        if source != checked:
            record.source_text = text
            fields.append("source_text")
        record.status = RuleSetStatus.PUBLISHED
        record.published_at = timezone.now()
        record.save(update_fields=fields)
        audit_record(
            action="ruleset.publish",
            user=user,
            obj=record,
            old={"status": RuleSetStatus.DRAFT},
            new={"status": RuleSetStatus.PUBLISHED, "source_regenerated": "source_text" in fields},
            request=request,
        )
    return record


def ruleset_new_version(*, ruleset: RuleSet, user: User | None = None,
                        request: HttpRequest | None = None) -> RuleSet:
    """把已发布的细则复制为新版本草稿（版本号 = 该代码现有最高版本 + 1），指标、规则、原文一并复制。

    原文只改「version」一行，保留办公室的写法与注释。
    """
    with transaction.atomic():
        source = RuleSet.objects.select_for_update().get(pk=ruleset.pk)
        if not source.is_published:
            raise RuleSetRefused(f"细则 {source.code} v{source.version} 还是草稿，可以直接修改，不必复制为新版本")
        latest = RuleSet.objects.filter(code=source.code).aggregate(latest=Max("version"))["latest"] or 0
        rs = replace(engine_ruleset(source), version=latest + 1)
        rule_file = RuleFile(ruleset=rs, year=source.year, unit_type=source.unit_type)
        record = RuleSet(status=RuleSetStatus.DRAFT, created_by=_creator(user))
        _assign(record, rule_file, _bumped_text(source.source_text, rule_file))
        record.save()
        _write_tree(record, rs)
        audit_record(
            action="ruleset.new_version",
            user=user,
            obj=record,
            old={"code": source.code, "version": source.version},
            new=_summary(record),
            request=request,
        )
    return record


def _bumped_text(text: str, rule_file: RuleFile) -> str:
    """原文改版本号后仍能读出同一份细则就用它，否则（原文缺失或与数据库不符）按数据库内容重新生成。"""
    try:
        bumped = with_version(text, rule_file.ruleset.version)
    except (ValueError, yaml.YAMLError):
        bumped = ""
    if bumped:
        loaded, _ = load_rulefile(bumped)
        if loaded == rule_file:
            return bumped
    return dump_ruleset_yaml(rule_file.ruleset, year=rule_file.year, unit_type=rule_file.unit_type)
