"""管理命令 score_preview（考核评分预览）：细则文件 + 事实文件 → 各单位总分、等次、名次与台账；不访问数据库。

本文件的测试都不带 db 夹具：pytest-django 在没有 db 夹具时拒绝任何数据库访问，命令一旦查库即报错。
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[2]

RULES = """\
code: section-2023
name: 股室考核评分细则
version: 2
base_total: 100
bonus: {cap: 8, gate: 80}
task_split: {lead: 0.7, responsible: 0.3}
grades:
  - {name: 优秀, min: 90}
  - {name: 良好, min: 80}
  - {name: 合格, min: 60}
  - {name: 不合格, min: 0}
indicators:
  - code: A
    name: 任务落实
    weight: 60
    rules:
      - {code: A1, kind: per_occurrence, label: 逾期未报送进展, fact: tasks_overdue, points: 1}
      - {code: A2, kind: veto, label: 发生泄密事件, fact: leak}
  - code: B
    name: 年度报告
    weight: 10
    mode: earn
    rules:
      - code: B1
        kind: presence
        label: 按时发布年度报告
        fact: annual_report_published
        points: 10
        absent_points: 2
  - code: C
    name: 信息质量
    weight: 30
    mode: earn
    rules:
      - {code: C1, kind: discretionary, label: 信息公开质量, fact: quality}
  - code: X
    name: 加分项
    weight: 0
    rules:
      - {code: X1, kind: bonus, label: 受到表彰, fact: awards, points: 3, evidence_required: true}
"""

FACTS = {
    "period": "2023Q1",
    "units": [
        {
            "unit": "综合股",
            "facts": {
                "tasks_overdue": [{"ref": "task:12", "role": "lead"}, "task:15"],
                "annual_report_published": True,
                "quality": {"points": 27, "reason": "信息要素齐全"},
                "awards": [{"ref": "award:1", "reason": "市级表彰", "evidence": "樟统字〔2023〕5号"}],
            },
        },
        {
            "unit": "法规股",
            "facts": {
                "annual_report_published": False,
                "quality": {"points": 25, "reason": "个别信息更新不及时"},
            },
        },
        {
            "unit": "农业股",
            "facts": {"annual_report_published": False, "quality": {"points": 25, "reason": "一般"}},
        },
        {"unit": "投资股", "facts": {"leak": True}},
    ],
}


@pytest.fixture
def files(tmp_path):
    def make(rules: str = RULES, facts: object = FACTS) -> tuple[str, str]:
        rules_path = tmp_path / "rules.yaml"
        facts_path = tmp_path / "facts.json"
        rules_path.write_text(rules, encoding="utf-8")
        facts_path.write_text(
            facts if isinstance(facts, str) else json.dumps(facts, ensure_ascii=False), "utf-8"
        )
        return str(rules_path), str(facts_path)

    return make


def run(rules: str, facts: str, *extra: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("score_preview", "--rules", rules, "--facts", facts, *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(rules: str, facts: str, *extra: str) -> tuple[str, str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("score_preview", "--rules", rules, "--facts", facts, *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), str(exc.value)


def test_it_prints_total_grade_rank_and_every_ledger_line_as_text(files):
    out, err = run(*files())
    assert err == ""
    assert out.splitlines() == [
        "评分细则：股室考核评分细则（section-2023 v2）",
        "",
        "【综合股】2023Q1 总分 98.30 分，等次 优秀，名次 1",
        "       +60  A            任务落实：基础分60分",
        "      -1.7  A/A1         逾期未报送进展2项，按分担比例折算为牵头1项×0.7+1项×1=1.7项，"
        "每项扣1分，共扣1.7分",
        "       +10  B/B1         按时发布年度报告：有，得10分",
        "       +27  C/C1         信息公开质量：信息要素齐全，得27分",
        "        +3  X/X1         受到表彰（市级表彰），加3分",
        "",
        "【法规股】2023Q1 总分 83.00 分，等次 良好，名次 2",
        "       +60  A            任务落实：基础分60分",
        "        -2  B/B1         按时发布年度报告：无，扣2分",
        "       +25  C/C1         信息公开质量：个别信息更新不及时，得25分",
        "",
        "【农业股】2023Q1 总分 83.00 分，等次 良好，名次 2",
        "       +60  A            任务落实：基础分60分",
        "        -2  B/B1         按时发布年度报告：无，扣2分",
        "       +25  C/C1         信息公开质量：一般，得25分",
        "",
        "【投资股】2023Q1 总分 0.00 分，等次 不合格（一票否决），名次 4",
        "         0  A/A2         一票否决：发生泄密事件，评为不合格，不再计分",
    ]


def test_it_prints_one_json_object_with_decimals_as_strings(files):
    out, err = run(*files(), "--format", "json")
    data = json.loads(out)
    assert set(data) == {"ruleset", "units", "errors", "warnings"}
    assert data["ruleset"] == "section-2023 v2"
    assert (data["errors"], data["warnings"]) == ([], [])
    summary = [(u["unit"], u["total"], u["grade"], u["rank"], u["vetoed"]) for u in data["units"]]
    assert summary == [
        ("综合股", "98.30", "优秀", 1, False),
        ("法规股", "83.00", "良好", 2, False),
        ("农业股", "83.00", "良好", 2, False),
        ("投资股", "0.00", "不合格", 4, True),
    ]
    first = data["units"][0]
    assert first["lines"][1] == {
        "indicator": "A",
        "rule": "A1",
        "points": "-1.7",
        "reason": "逾期未报送进展2项，按分担比例折算为牵头1项×0.7+1项×1=1.7项，每项扣1分，共扣1.7分",
        "facts": {
            "refs": ["task:12", "task:15"],
            "count": 2,
            "weighted": "1.7",
            "groups": [{"share": "0.7", "count": 1, "role": "lead"}, {"share": "1", "count": 1}],
        },
    }
    for unit in data["units"]:
        assert all(isinstance(line["points"], str) for line in unit["lines"])
        # 台账之和等于总分（这里各单位都没有需要四舍五入的尾数）。
        assert sum(Decimal(line["points"]) for line in unit["lines"]) == Decimal(unit["total"])


def test_it_warns_about_facts_no_rule_reads(files):
    facts = {"period": "Q1", "units": [{"unit": "综合股", "facts": {"annual_report_publised": True}}]}
    out, err = run(*files(facts=facts), "--format", "json")
    data = json.loads(out)
    assert data["warnings"] == [
        "事实文件 units[综合股].facts.annual_report_publised："
        "评分细则中没有规则读取这项事实（是否拼写有误？）"
    ]
    assert data["errors"] == []
    text, _ = run(*files(facts=facts))
    assert "提醒：" in text and "annual_report_publised" in text


@pytest.mark.parametrize(
    ("which", "message"),
    [("rules", "评分细则文件不存在："), ("facts", "事实文件不存在：")],
)
def test_missing_file_is_a_command_error(files, tmp_path, which, message):
    rules, facts = files()
    missing = str(tmp_path / "nope.txt")
    args = (missing, facts) if which == "rules" else (rules, missing)
    _, _, error = run_failing(*args)
    assert error == message + missing


def test_file_that_is_not_utf8_is_a_command_error(files, tmp_path):
    rules, _ = files()
    facts = tmp_path / "gbk.json"
    facts.write_bytes('{"period": "一季度"}'.encode("gbk"))
    _, _, error = run_failing(rules, str(facts))
    assert error == f"事实文件不是 UTF-8 编码的文本：{facts}"


def test_rule_file_errors_stop_scoring_and_name_the_line(files):
    bad = RULES.replace("kind: presence", "kind: presense")
    out, err, error = run_failing(*files(rules=bad), "--format", "json")
    data = json.loads(out)
    assert data["units"] == [] and data["ruleset"] == ""
    assert len(data["errors"]) == 1
    line = next(i for i, text in enumerate(bad.splitlines(), start=1) if "presense" in text)
    assert data["errors"][0].startswith(f"评分细则文件第{line}行「kind」：")
    assert "presense" in data["errors"][0]
    assert error == "评分预览有1处错误，见上方说明"


def test_rule_file_errors_in_text_mode_go_to_stderr(files):
    out, err, _ = run_failing(*files(rules="code: [unclosed"))
    assert out == ""
    assert err.startswith("错误：\n  - 评分细则文件第1行：YAML 格式错误")


def test_facts_errors_are_listed_and_the_other_units_still_scored(files):
    facts = {
        "period": "2023Q1",
        "units": [
            {"unit": "综合股", "facts": {"quality": {"points": "好", "reason": "x"}}},
            {"unit": "法规股", "facts": {"annual_report_published": 1}},
            {"unit": "农业股", "facts": {"annual_report_published": True}},
        ],
    }
    out, _, error = run_failing(*files(facts=facts), "--format", "json")
    data = json.loads(out)
    assert data["errors"] == [
        "事实文件 units[0].facts.quality.points：酌情分“好”不是数",
        "事实文件 units[法规股].facts.annual_report_published：规则 B1（按时发布年度报告）需要true/false，"
        "这里是数量或分期数量列表",
    ]
    assert [(u["unit"], u["total"], u["rank"]) for u in data["units"]] == [("农业股", "70.00", 1)]
    assert error == "评分预览有2处错误，见上方说明"


def test_invalid_json_facts_file_is_reported_in_chinese(files):
    out, err, _ = run_failing(*files(facts='{"period": "Q1", "units": [}'))
    assert "事实文件：不是有效的 JSON：第1行第28列" in err


def test_discretionary_points_out_of_range_reject_that_unit(files):
    facts = {
        "period": "2023Q1",
        "units": [
            {"unit": "综合股", "facts": {"quality": {"points": 31, "reason": "很好"}}},
            {"unit": "法规股", "facts": {"quality": {"points": 30, "reason": "很好"}}},
        ],
    }
    out, _, _ = run_failing(*files(facts=facts), "--format", "json")
    data = json.loads(out)
    assert data["errors"] == ["综合股：无法计分（C1（信息公开质量）：酌情分31分超出0–30分）"]
    assert [(u["unit"], u["total"]) for u in data["units"]] == [("法规股", "88.00")]


def test_it_needs_no_database(files, django_db_blocker):
    # 没有 db 夹具时 pytest-django 已经拒绝数据库访问；这里再显式封锁一次，命令仍能完成。
    with django_db_blocker.block():
        out, _ = run(*files(), "--format", "json")
    assert len(json.loads(out)["units"]) == 4


def test_exit_code_is_1_with_chinese_message_when_run_from_the_shell(files, tmp_path):
    rules, facts = files()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "PYTHONIOENCODING": "utf-8"}
    ok = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "score_preview",
            "--rules",
            rules,
            "--facts",
            facts,
            "--format",
            "json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["units"][0]["total"] == "98.30"
    missing = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "score_preview",
            "--rules",
            str(tmp_path / "无.yaml"),
            "--facts",
            facts,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert missing.returncode == 1
    assert f"评分细则文件不存在：{tmp_path / '无.yaml'}" in missing.stderr


SECTION_FACTS = {
    "period": "Q1",
    "units": [
        {
            "unit": "综合股",
            "facts": {
                "tasks_overdue": [
                    {"ref": "task:3", "role": "lead"},
                    {"ref": "task:8", "role": "responsible"},
                ],
                "reports_returned": ["r1", "r2", "r3", "r4", "r5", "r6"],
                "tasks_done": ["task:1", "task:2", "task:4", "task:5", "task:6", "task:7", "task:9"],
                "items_published": 8,
                "interpretation_published": True,
                "features_published": ["图解1", "专题1"],
                "metadata_errors": ["m1", "m2", "m3"],
                "column_stale": True,
                "quality_assessment": {"points": 9, "reason": "材料报送及时、质量较好"},
                "commendations": [
                    {"ref": "c1", "reason": "市级政务公开先进集体", "evidence": "樟府办字〔2023〕12号"}
                ],
                "info_adopted": [{"reason": f"信息{i}", "evidence": "市政府网站"} for i in range(1, 6)],
                "notices_bureau": ["局通〔2023〕1号"],
            },
        },
        {
            "unit": "法规股",
            "facts": {
                "no_application_duty": True,
                "tasks_overdue": [{"ref": "task:3", "role": "responsible"}],
                "reports_missing": ["Q1"],
                "tasks_done": ["task:10", "task:11"],
                "items_published": 4,
                "interpretation_published": False,
                "review_skipped": True,
                "quality_assessment": {"points": 6, "reason": "进展材料多次退回"},
                "commendations": [{"reason": "县级表彰"}],
            },
        },
    ],
}


def test_the_section_rule_fixture_scores_as_worked_out_by_hand(tmp_path):
    """fixtures/rules/section-2023.yaml（牵头70%、责任30%，加分上限5分、超过80分方可加分）。

    综合股：
      A1 20 − 2 × (0.7 + 0.3) = 18；A2 15 − min(1 × 6, 上限4) = 11；A3 min(1 × 7, 5) = 5        → A 34
      B1 10（8条 ≥ 6条）；B2 +4（有解读）+ 1 × 2 = 6；B3 7 − 0.5 × 3 = 5.5                     → B 21.5
      C1 8；C2 7 − 3（栏目未更新）= 4                                                        → C 12
      D 6 + 4 = 10；E 酌情 9
      基础分 34 + 21.5 + 12 + 10 + 9 = 86.5 > 80 可加分：表彰 +3，采用 0.5 × 4 = 2（本条上限2，第5条 0）→ 5
      倒扣：局内通报批评 1 × 1 = −1
      总分 86.5 + 5 − 1 = 90.5 → 90.50，优秀，第1名
    法规股（不承担依申请公开，D 10 分剔除）：
      A1 20 − 2 × 0.3 = 19.4；A2 15 − 3 = 12；A3 1 × 2 = 2                                   → A 33.4
      B1 10 − 4（4条 < 6条）= 6；B2 −2（无解读）+ 0 = −2；B3 7                                → B 11
      C1 发布未经保密审查，此项不得分 0；C2 7                                                  → C 7
      E 酌情 6
      适用指标 33.4 + 11 + 7 + 6 = 57.4，折算 57.4 × 100 ÷ 90 = 63.777… → 63.78，合格，第2名
      （表彰无证明材料，不加分；且基础分未超过 80）
    """
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(SECTION_FACTS, ensure_ascii=False), encoding="utf-8")
    out, _ = run(str(ROOT / "fixtures" / "rules" / "section-2023.yaml"), str(facts), "--format", "json")
    data = json.loads(out)
    assert data["errors"] == [] and data["warnings"] == []
    assert [(u["unit"], u["total"], u["grade"], u["rank"]) for u in data["units"]] == [
        ("综合股", "90.50", "优秀", 1),
        ("法规股", "63.78", "合格", 2),
    ]
    legal = data["units"][1]
    rescale = next(line for line in legal["lines"] if "折算" in line["reason"] and not line["rule"])
    assert rescale["reason"] == "剔除不适用指标10分后，适用指标得分57.4分按100÷90折算为63.78分"
    assert Decimal(rescale["points"]) == Decimal("57.4") * 100 / 90 - Decimal("57.4")

    text, _ = run(str(ROOT / "fixtures" / "rules" / "section-2023.yaml"), str(facts))
    assert "    ≈+6.38  —            剔除不适用指标10分后，适用指标得分57.4分按100÷90折算为63.78分" in text
