"""管理命令：考核评分预览——用评分细则文件（YAML）和事实文件（JSON）试算各单位得分、等次、名次与扣分台账，不访问数据库。"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring import engine
from scoring.factsfile import FactsFileError, check_facts, load_facts_text
from scoring.rulefile import load_ruleset_text


class Command(BaseCommand):
    help = "考核评分预览：按评分细则文件和事实文件试算各单位得分与扣分台账（只读文件，不访问数据库）"
    # 只读两个文件，不需要数据库与系统检查。
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rules", required=True, help="评分细则文件（YAML）路径")
        parser.add_argument(
            "--facts",
            required=True,
            help="事实文件（JSON）路径，格式见 README“事实文件格式（score_preview）”",
        )
        parser.add_argument(
            "--format", choices=["json", "text"], default="text", help="输出格式（默认 text）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rules_text = _read(Path(options["rules"]), "评分细则文件")
        facts_text = _read(Path(options["facts"]), "事实文件")
        errors: list[str] = []
        warnings: list[str] = []

        ruleset, rule_errors = load_ruleset_text(rules_text)
        errors += [f"评分细则文件{e}" if e.line else f"评分细则文件：{e.message}" for e in rule_errors]
        units, fact_errors = load_facts_text(facts_text)
        if ruleset is not None:
            fact_errors += check_facts(ruleset, units)
        errors += [_facts_message(e) for e in fact_errors if not e.warning]
        warnings += [_facts_message(e) for e in fact_errors if e.warning]

        results: list[engine.UnitResult] = []
        if ruleset is not None:
            rejected = _units_with_errors(fact_errors)
            for unit in units:
                if unit.unit in rejected:
                    continue
                try:
                    results.append(engine.score_unit(ruleset, unit))
                except engine.ScoringError as exc:
                    errors.append(f"{unit.unit}：无法计分（{exc}）")
        ranks = engine.rank(results)

        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    _as_json(ruleset, results, ranks, errors, warnings),
                    ensure_ascii=False,
                    indent=2,
                    default=str,
                )
            )
        else:
            self._print_text(ruleset, results, ranks, errors, warnings)
        if errors:
            raise CommandError(f"评分预览有{len(errors)}处错误，见上方说明")

    def _print_text(
        self,
        ruleset: engine.RuleSet | None,
        results: list[engine.UnitResult],
        ranks: dict[str, int],
        errors: list[str],
        warnings: list[str],
    ) -> None:
        if ruleset is not None:
            self.stdout.write(f"评分细则：{ruleset.name}（{ruleset.label}）")
        for result in results:
            vetoed = "（一票否决）" if result.vetoed else ""
            self.stdout.write("")
            self.stdout.write(
                f"【{result.unit}】{result.period} 总分 {result.total} 分，"
                f"等次 {result.grade or '—'}{vetoed}，"
                f"名次 {ranks[result.unit]}"
            )
            for line in result.lines:
                where = "/".join(part for part in (line.indicator, line.rule) if part) or "—"
                self.stdout.write(f"  {_signed(line.points):>8}  {where:<12} {line.reason}")
        if warnings:
            self.stdout.write("")
            self.stdout.write("提醒：")
            for message in warnings:
                self.stdout.write(f"  - {message}")
        if errors:
            self.stderr.write("错误：")
            for message in errors:
                self.stderr.write(f"  - {message}")


def _read(path: Path, what: str) -> str:
    if not path.is_file():
        raise CommandError(f"{what}不存在：{path}")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{what}不是 UTF-8 编码的文本：{path}") from exc
    except OSError as exc:
        raise CommandError(f"{what}无法读取：{path}（{exc.strerror}）") from exc


def _facts_message(error: FactsFileError) -> str:
    return f"事实文件 {error}" if error.path else f"事实文件：{error.message}"


def _units_with_errors(problems: list[FactsFileError]) -> set[str]:
    """check_facts 的路径形如 units[综合股].facts.x：形态不符的单位不计分，免得错当成“无”而误扣分。"""
    names: set[str] = set()
    for problem in problems:
        if not problem.warning and problem.path.startswith("units[") and "]" in problem.path:
            names.add(problem.path[len("units[") : problem.path.index("]")])
    return names


def _signed(points: Decimal) -> str:
    """文本输出的分值：带正负号；折算产生的长尾数显示为两位小数并标“≈”（JSON 输出保留全精度）。"""
    shown = engine.round_score(points)
    text = engine.fmt(shown)
    signed = text if text.startswith("-") or text == "0" else f"+{text}"
    return signed if shown == points else f"≈{signed}"


def _as_json(
    ruleset: engine.RuleSet | None,
    results: list[engine.UnitResult],
    ranks: dict[str, int],
    errors: list[str],
    warnings: list[str],
) -> dict[str, Any]:
    return {
        "ruleset": ruleset.label if ruleset is not None else "",
        "units": [
            {
                "unit": r.unit,
                "period": r.period,
                "total": str(r.total),
                "grade": r.grade,
                "rank": ranks[r.unit],
                "vetoed": r.vetoed,
                "lines": [
                    {
                        "indicator": line.indicator,
                        "rule": line.rule,
                        "points": engine.fmt(line.points),
                        "reason": line.reason,
                        "facts": dict(line.facts),
                    }
                    for line in r.lines
                ],
            }
            for r in results
        ],
        "errors": errors,
        "warnings": warnings,
    }
