"""政府信息公开工作年度报告（国办公开办函〔2021〕30号）：表二（主动公开）、表三（收到和处理申请）、表四（行政复议、
行政诉讼）的计算与勾稽检查，一、五、六部分的预填文字，保存与登记公布，以及1月31日公布期限的每日提醒。

表格的计算（table3_from、table4_from、check_tables）是纯函数；compute_annual_tables 负责从库里取数。
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse

import workplan.models as workplan_models
from scoring.models import AnnualReport, LedgerLine
from scoring.reports.quarterly import fmt_points, official_run
from scoring.services import ruleset_labels
from workplan.audit import audit_record
from workplan.models import (
    AppealKind,
    AppealResult,
    ApplicantType,
    Application,
    ApplicationAppeal,
    ApplicationResult,
    Notification,
    OfficeSettings,
    ReportStatus,
    Role,
    Task,
    User,
    WorkPlan,
)
from workplan.workdays import WorkdayCalendar

PUBLISH_MONTH, PUBLISH_DAY = 1, 31  # 条例第四十九条：每年1月31日前公布上一年度报告
# Reminders run from 1 January; after the first quarter a still-unpublished report is a matter for the
# assessment, not for a daily notice to the office.
REMIND_UNTIL_MONTH = 3
KIND_ANNUAL_REPORT = "annual_report"

PART_TITLES = (
    "一、总体情况",
    "二、主动公开政府信息情况",
    "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况",
    "五、存在的主要问题及改进情况",
    "六、其他需要报告的事项",
)

# ---- 表二：主动公开政府信息情况（系统没有来源，办公室填写） ----------------------------------------


class DisclosureCell(NamedTuple):
    key: str
    item: str  # 信息内容
    measure: str  # 列名
    decimal: bool = False


DISCLOSURE_GROUPS: tuple[tuple[str, tuple[str, ...], tuple[DisclosureCell, ...]], ...] = (
    (
        "第二十条第（一）项",
        ("本年制发件数", "本年废止件数", "现行有效件数"),
        (
            DisclosureCell("rules_issued", "规章", "本年制发件数"),
            DisclosureCell("rules_repealed", "规章", "本年废止件数"),
            DisclosureCell("rules_in_force", "规章", "现行有效件数"),
            DisclosureCell("normative_issued", "行政规范性文件", "本年制发件数"),
            DisclosureCell("normative_repealed", "行政规范性文件", "本年废止件数"),
            DisclosureCell("normative_in_force", "行政规范性文件", "现行有效件数"),
        ),
    ),
    (
        "第二十条第（五）项",
        ("本年处理决定数量",),
        (DisclosureCell("licensing", "行政许可", "本年处理决定数量"),),
    ),
    (
        "第二十条第（六）项",
        ("本年处理决定数量",),
        (
            DisclosureCell("punishment", "行政处罚", "本年处理决定数量"),
            DisclosureCell("coercion", "行政强制", "本年处理决定数量"),
        ),
    ),
    (
        "第二十条第（八）项",
        ("本年收费金额（单位：万元）",),
        (DisclosureCell("fees", "行政事业性收费", "本年收费金额（单位：万元）", decimal=True),),
    ),
)
DISCLOSURE_CELLS: tuple[DisclosureCell, ...] = tuple(c for _, _, cells in DISCLOSURE_GROUPS for c in cells)

# ---- 表三：收到和处理政府信息公开申请情况 ------------------------------------------------------------

TOTAL = "total"
APPLICANT_COLUMNS: tuple[tuple[str, str], ...] = (
    *((t.value, str(t.label)) for t in ApplicantType),
    (TOTAL, "总计"),
)
COLUMN_LABELS = dict(APPLICANT_COLUMNS)
TYPE_KEYS = tuple(t.value for t in ApplicantType)


@dataclass(frozen=True)
class Row3:
    """表三的一行：part 为“一、…”或“三、本年度办理结果”，group 为“（一）…”，item 为“1.…”。"""

    key: str
    part: str
    group: str = ""
    item: str = ""

    @property
    def label(self) -> str:
        if self.item:
            return f"{self.group}{self.item}"
        return self.group or self.part


_RESULTS = "三、本年度办理结果"
R = ApplicationResult
_GROUPED: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("（三）不予公开", (
        (R.DENIED_STATE_SECRET, "1.属于国家秘密"),
        (R.DENIED_PROHIBITED, "2.其他法律行政法规禁止公开"),
        (R.DENIED_SECURITY, "3.危及“三安全一稳定”"),
        (R.DENIED_THIRD_PARTY, "4.保护第三方合法权益"),
        (R.DENIED_INTERNAL, "5.属于三类内部事务信息"),
        (R.DENIED_PROCESS, "6.属于四类过程性信息"),
        (R.DENIED_ENFORCEMENT, "7.属于行政执法案卷"),
        (R.DENIED_QUERY, "8.属于行政查询事项"),
    )),
    ("（四）无法提供", (
        (R.UNABLE_NOT_HELD, "1.本机关不掌握相关政府信息"),
        (R.UNABLE_MUST_CREATE, "2.没有现成信息需要另行制作"),
        (R.UNABLE_UNCLEAR, "3.补正后申请内容仍不明确"),
    )),
    ("（五）不予处理", (
        (R.REJECTED_PETITION, "1.信访举报投诉类申请"),
        (R.REJECTED_REPEAT, "2.重复申请"),
        (R.REJECTED_PUBLICATION, "3.要求提供公开出版物"),
        (R.REJECTED_ABUSIVE, "4.无正当理由大量反复申请"),
        (R.REJECTED_CONFIRMATION, "5.要求行政机关确认或重新出具已获取信息"),
    )),
    ("（六）其他处理", (
        (R.OTHER_NO_CORRECTION, "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
        (R.OTHER_NO_FEE, "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
        (R.OTHER, "3.其他"),
    )),
)  # fmt: skip
NEW, CARRIED_IN, RESULT_TOTAL, CARRIED_OUT = "new", "carried_in", "result_total", "carried_out"
TABLE3_ROWS: tuple[Row3, ...] = (
    Row3(NEW, "一、本年新收政府信息公开申请数量"),
    Row3(CARRIED_IN, "二、上年结转政府信息公开申请数量"),
    Row3(R.GRANTED, _RESULTS, "（一）予以公开"),
    Row3(R.PARTIAL, _RESULTS, "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
    *(Row3(code, _RESULTS, group, item) for group, items in _GROUPED for code, item in items),
    Row3(RESULT_TOTAL, _RESULTS, "（七）总计"),
    Row3(CARRIED_OUT, "四、结转下年度继续办理"),
)
RESULT_ROWS = tuple(r.key for r in TABLE3_ROWS if r.part == _RESULTS and r.key != RESULT_TOTAL)
ROW_LABELS = {r.key: r.label for r in TABLE3_ROWS}

# ---- 表四：政府信息公开行政复议、行政诉讼情况 -------------------------------------------------------

APPEAL_RESULTS: tuple[tuple[str, str], ...] = (
    *((r.value, str(r.label)) for r in AppealResult),
    (TOTAL, "总计"),
)
APPEAL_GROUPS: tuple[tuple[str, str], ...] = (
    (AppealKind.REVIEW, "行政复议"),
    (AppealKind.DIRECT_SUIT, "未经复议直接起诉"),
    (AppealKind.SUIT_AFTER_REVIEW, "复议后起诉"),
)

Table3 = dict[str, dict[str, int]]
Table4 = dict[str, dict[str, int]]


class AppRow(NamedTuple):
    applicant_type: str
    received_on: datetime.date
    replied_on: datetime.date | None
    result: str


class AppealRow(NamedTuple):
    kind: str
    filed_on: datetime.date
    result: str
    decided_on: datetime.date | None


def table3_from(year: int, rows: Iterable[AppRow]) -> Table3:
    """表三，按登记簿逐件计数：

    - 一、本年新收：收到申请之日在本年；二、上年结转：以前年度收到、到本年1月1日仍未答复；
    - 三、办理结果：以上两类中答复（办结）日期在本年的，按办理结果计入对应行；（七）总计为各结果行之和；
    - 四、结转下年度：以上两类中到12月31日仍未答复的；
    - 申请人列按申请人类型计数；总计列对每件申请直接计数（不是把六列加起来），勾稽检查才能发现类型不明的记录。
    """
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    table: Table3 = {r.key: dict.fromkeys(COLUMN_LABELS, 0) for r in TABLE3_ROWS}
    for row in rows:
        if start <= row.received_on <= end:
            keys = [NEW]
        elif row.received_on < start and (row.replied_on is None or row.replied_on >= start):
            keys = [CARRIED_IN]
        else:
            continue
        if row.replied_on is None or row.replied_on > end:
            keys.append(CARRIED_OUT)
        elif row.replied_on >= start and row.result in RESULT_ROWS:
            keys += [row.result, RESULT_TOTAL]
        columns = [TOTAL, *([row.applicant_type] if row.applicant_type in TYPE_KEYS else [])]
        for key in keys:
            for column in columns:
                table[key][column] += 1
    return table


def table4_from(year: int, rows: Iterable[AppealRow]) -> Table4:
    """表四：本年申请复议 / 起诉的，以及以前年度申请、到本年初尚未审结的案件（与表三的“上年结转”同理）；
    到12月31日已审结的按结果计，否则计“尚未审结”。总计对每件直接计数。"""
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    table: Table4 = {kind: dict.fromkeys(dict(APPEAL_RESULTS), 0) for kind, _ in APPEAL_GROUPS}
    for row in rows:
        if row.kind not in table or row.filed_on > end:
            continue
        if row.filed_on < start and row.decided_on is not None and row.decided_on < start:
            continue
        decided = row.decided_on is not None and row.decided_on <= end and row.result != AppealResult.PENDING
        result = row.result if decided else AppealResult.PENDING
        if result in table[row.kind]:
            table[row.kind][result] += 1
        table[row.kind][TOTAL] += 1
    return table


def _number(value: Any, *, decimal: bool) -> Decimal | int | None:
    """表二的填写值：件数为不小于 0 的整数，金额为不小于 0 的数；不合格时为 None。"""
    if value in (None, ""):
        return 0
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0:
        return None
    if decimal:
        return number
    return int(number) if number == number.to_integral_value() else None


def check_tables(disclosure: Mapping[str, Any], table3: Table3, table4: Table4) -> list[str]:
    """勾稽检查，每条失败用中文指出单元格：

    - 表二：件数为不小于 0 的整数，收费金额为不小于 0 的数；
    - 表三每一列：新收 + 上年结转 = （七）总计 + 结转下年度；
    - 表三每一行：总计列 = 自然人 + 五类法人或其他组织；
    - 表四每一组：总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结。
    """
    errors = []
    for cell in DISCLOSURE_CELLS:
        if _number(disclosure.get(cell.key), decimal=cell.decimal) is None:
            kind = "不小于0的数" if cell.decimal else "不小于0的整数"
            errors.append(f"表二「{cell.item}」{cell.measure}应为{kind}：{disclosure.get(cell.key)}")
    for column, label in APPLICANT_COLUMNS:
        new, carried = table3[NEW][column], table3[CARRIED_IN][column]
        total, out = table3[RESULT_TOTAL][column], table3[CARRIED_OUT][column]
        if new + carried != total + out:
            errors.append(f"表三「{label}」列：新收{new} + 上年结转{carried} ≠ 总计{total} + 结转下年度{out}")
    for row in TABLE3_ROWS:
        values = table3[row.key]
        parts = sum(values[k] for k in TYPE_KEYS)
        if values[TOTAL] != parts:
            detail = " + ".join(f"{COLUMN_LABELS[k]}{values[k]}" for k in TYPE_KEYS)
            errors.append(f"表三「{row.label}」行：总计{values[TOTAL]} ≠ {detail}")
    for kind, label in APPEAL_GROUPS:
        values = table4[kind]
        parts = sum(values[r.value] for r in AppealResult)
        if values[TOTAL] != parts:
            detail = " + ".join(f"{r.label}{values[r.value]}" for r in AppealResult)
            errors.append(f"表四「{label}」：总计{values[TOTAL]} ≠ {detail}")
    return errors


@dataclass(frozen=True)
class AnnualTables:
    year: int
    disclosure: dict[str, Any]
    table3: Table3
    table4: Table4
    errors: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors

    def disclosure_value(self, key: str) -> Decimal | int:
        cell = next(c for c in DISCLOSURE_CELLS if c.key == key)
        return _number(self.disclosure.get(key), decimal=cell.decimal) or 0


def tables_from(
    year: int, disclosure: Mapping[str, Any], applications: Iterable[AppRow], appeals: Iterable[AppealRow]
) -> AnnualTables:
    t3, t4 = table3_from(year, applications), table4_from(year, appeals)
    return AnnualTables(year, dict(disclosure), t3, t4, tuple(check_tables(disclosure, t3, t4)))


def compute_annual_tables(year: int, *, disclosure: Mapping[str, Any] | None = None) -> AnnualTables:
    """year 年的三张表与勾稽检查（三次查询：年度报告、申请、复议诉讼）。disclosure 不给时取已保存的表二。"""
    if disclosure is None:
        saved = AnnualReport.objects.filter(year=year).values_list("disclosure", flat=True).first()
        disclosure = saved if isinstance(saved, dict) else {}
    applications = [
        AppRow(*row)
        for row in Application.objects.in_year(year).values_list(
            "applicant_type", "received_on", "replied_on", "result"
        )
    ]
    appeals = [
        AppealRow(*row)
        for row in ApplicationAppeal.objects.filter(filed_on__year__lte=year)
        .exclude(filed_on__year__lt=year, decided_on__year__lt=year)
        .values_list("kind", "filed_on", "result", "decided_on")
    ]
    return tables_from(year, disclosure, applications, appeals)


# ---- 一、五、六部分的预填文字 ------------------------------------------------------------------------------


def unit_name(year: int) -> str:
    """本单位名称：办公室设置的名称，其次为该年度工作要点的发文单位。"""
    name = OfficeSettings.current().unit_name.strip()
    if not name:
        plan = WorkPlan.objects.filter(year=year).exclude(issuing_unit="").order_by("-created_at").first()
        name = plan.issuing_unit.strip() if plan else ""
    return name or "本机关"


def _plan_sentence(year: int) -> str:
    plan = WorkPlan.objects.filter(year=year).order_by("-created_at", "-pk").first()
    if plan is None:
        return f"{year}年度未导入政务公开工作要点。"
    statuses = list(Task.objects.actionable().filter(plan=plan).values_list("status", flat=True))
    done = sum(s == ReportStatus.DONE for s in statuses)
    rate = (Decimal(done) * 100 / len(statuses)).quantize(Decimal("0.1")) if statuses else Decimal(0)
    return f"《{plan.title}》共部署工作任务{len(statuses)}项，已完成{done}项，完成率{rate}%。"


def _published_sentence(year: int) -> str:
    """发布信息登记台账（PublicationItem）存在时给出全年发布条数；没有这个模型时不提。"""
    model = getattr(workplan_models, "PublicationItem", None)
    state = getattr(workplan_models, "PublicationState", None)
    if model is None or state is None or not hasattr(state, "PUBLISHED"):
        return ""
    count = model.objects.filter(state=state.PUBLISHED, published_on__year=year).count()
    return f"全年通过政府网站主动公开政府信息{count}条。"


def default_overview(tables: AnnualTables) -> str:
    """一、总体情况的预填文字：工作要点完成情况、发布信息条数（有发布台账时）、依申请公开与复议诉讼概况。"""
    year, t3 = tables.year, tables.table3
    replied = t3[RESULT_TOTAL][TOTAL]
    granted = t3[R.GRANTED][TOTAL] + t3[R.PARTIAL][TOTAL]
    appeals = {kind: tables.table4[kind][TOTAL] for kind, _ in APPEAL_GROUPS}
    corrected = sum(tables.table4[kind][AppealResult.CORRECTED] for kind, _ in APPEAL_GROUPS)
    lines = [
        f"{year}年，{unit_name(year)}认真贯彻落实《中华人民共和国政府信息公开条例》，按照年度政务公开工作要点部署，"
        "扎实推进政府信息公开工作。",
        f"（一）主动公开。{_plan_sentence(year)}{_published_sentence(year)}",
        f"（二）依申请公开。全年新收政府信息公开申请{t3[NEW][TOTAL]}件，上年结转{t3[CARRIED_IN][TOTAL]}件，"
        f"办结{replied}件（其中予以公开或部分公开{granted}件），结转下年度继续办理{t3[CARRIED_OUT][TOTAL]}件。",
        f"（三）行政复议、行政诉讼。因政府信息公开被申请行政复议{appeals[AppealKind.REVIEW]}件，"
        f"被提起行政诉讼{appeals[AppealKind.DIRECT_SUIT] + appeals[AppealKind.SUIT_AFTER_REVIEW]}件，"
        f"其中结果被纠正{corrected}件。",
    ]
    return "\n".join(lines)


def _year_deductions(year: int) -> list[tuple[str, Decimal, list[str]]]:
    """本年各季度正式计分的扣分，按指标汇总：(指标名称, 合计扣分, 涉及股室)。"""
    runs = [run for q in (1, 2, 3, 4) if (run := official_run(year, q)) is not None]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    sections: dict[str, list[str]] = defaultdict(list)
    names_by_ruleset: dict[int, dict[str, str]] = {}
    lines = (
        LedgerLine.objects.filter(run__in=runs, points__lt=0)
        .select_related("section", "run")
        .order_by("run__period", "section__sort_order", "position")
    )
    for line in lines:
        if line.run.ruleset_id not in names_by_ruleset:
            names_by_ruleset[line.run.ruleset_id] = ruleset_labels(line.run.ruleset_id)[0]
        name = names_by_ruleset[line.run.ruleset_id].get(line.indicator_code) or line.indicator_code or "其他"
        totals[name] -= line.points
        if line.section.name not in sections[name]:
            sections[name].append(line.section.name)
    return [(name, totals[name], sections[name]) for name in totals]


def default_problems(year: int) -> str:
    """五、存在的主要问题及改进情况的预填文字：本年各季度考核扣分，按指标汇总。"""
    deductions = _year_deductions(year)
    if not deductions:
        problems = (
            "（一）存在的主要问题。本年度政务公开考核未发现扣分事项，但工作的主动性、规范性仍有提升空间。"
        )
    else:
        items = "；".join(
            f"{i}.{name}，全年扣{fmt_points(points)}分（涉及{'、'.join(names)}）"
            for i, (name, points, names) in enumerate(deductions, 1)
        )
        problems = f"（一）存在的主要问题。本年度政务公开考核发现的问题主要有：{items}。"
    improvements = (
        "（二）改进情况。针对上述问题，逐项明确责任股室和整改时限，加强日常调度和督促检查，"
        "推动政务公开工作常态化、规范化。"
    )
    return f"{problems}\n{improvements}"


def default_other_matters(tables: AnnualTables) -> str:
    """六、其他需要报告的事项的预填文字（信息处理费按登记簿中因未缴费不再处理的件数提示，其余请办公室补充）。"""
    no_fee = tables.table3[R.OTHER_NO_FEE][TOTAL]
    fee = (
        f"本年度有{no_fee}件申请因申请人逾期未缴纳信息处理费不再处理。"
        if no_fee
        else "本年度未收取信息处理费。"
    )
    return (
        f"（一）信息处理费收取情况。依据《政府信息公开信息处理费管理办法》，{fee}\n"
        "（二）人大代表建议和政协提案办理结果公开情况。无。\n"
        "（三）其他事项。无。"
    )


# ---- saving and publishing ---------------------------------------------------------------------------------


def clean_disclosure(values: Mapping[str, Any]) -> dict[str, str]:
    """表二的填写值存为字符串（金额保留原精度），空值为 0。"""
    return {
        c.key: str(values.get(c.key) if values.get(c.key) not in (None, "") else 0) for c in DISCLOSURE_CELLS
    }


def annual_report_save(
    *,
    year: int,
    user: User,
    disclosure: Mapping[str, Any],
    overview: str,
    problems: str,
    other_matters: str,
    request: HttpRequest | None = None,
) -> AnnualReport:
    """办公室保存年度报告的填写部分（表二数字，一、五、六部分文字）。已登记公布的报告不能再改。"""
    if not (user.is_authenticated and user.role == Role.OFFICE):
        raise PermissionDenied("仅办公室可以修改年度报告")
    with transaction.atomic():
        report, _ = AnnualReport.objects.get_or_create(year=year)
        if report.published_on is not None:
            raise ValidationError(f"{year}年度报告已于{report.published_on:%Y-%m-%d}登记公布，不能再修改")
        old = {"disclosure": report.disclosure}
        report.disclosure = clean_disclosure(disclosure)
        report.overview, report.problems, report.other_matters = (
            overview.strip(),
            problems.strip(),
            other_matters.strip(),
        )
        report.updated_by = user
        report.save()
        audit_record(
            action="annual_report.save",
            user=user,
            obj=report,
            old=old,
            new={"disclosure": report.disclosure},
            request=request,
        )
    return report


def annual_report_publish(
    *, year: int, user: User, published_on: datetime.date, request: HttpRequest | None = None
) -> AnnualReport:
    """登记年度报告已公布（此后不再提醒）：仅办公室；勾稽检查不通过的不能登记；公布日期不早于次年1月1日。"""
    if not (user.is_authenticated and user.role == Role.OFFICE):
        raise PermissionDenied("仅办公室可以登记公布")
    tables = compute_annual_tables(year)
    if tables.errors:
        raise ValidationError(["勾稽检查未通过，不能登记公布：", *tables.errors])
    if published_on < datetime.date(year + 1, 1, 1):
        raise ValidationError(f"公布日期应在{year + 1}年1月1日之后")
    with transaction.atomic():
        report, _ = AnnualReport.objects.get_or_create(year=year)
        if report.published_on is not None:
            raise ValidationError(f"{year}年度报告已于{report.published_on:%Y-%m-%d}登记公布")
        report.published_on, report.published_by = published_on, user
        report.save(update_fields=["published_on", "published_by", "updated_at"])
        audit_record(
            action="annual_report.publish",
            user=user,
            obj=report,
            new={"published_on": published_on.isoformat()},
            request=request,
        )
    return report


# ---- the 31 January reminder -------------------------------------------------------------------------------


def annual_report_reminders(*, today: datetime.date, cal: WorkdayCalendar) -> list[Notification]:
    """年度报告公布期限提醒（每日提醒的钩子，见 scoring/apps.py）：从1月1日起（每日提醒只在工作日运行）到
    登记公布为止、最迟到3月31日，上一年度的报告未登记公布的，每天提醒办公室人员一次（去重键含日期），
    说明距1月31日还剩几天或已逾期几天。"""
    year = today.year - 1
    if today.month > REMIND_UNTIL_MONTH:
        return []
    if AnnualReport.objects.filter(year=year, published_on__isnull=False).exists():
        return []
    deadline = datetime.date(today.year, PUBLISH_MONTH, PUBLISH_DAY)
    days = (deadline - today).days
    when = f"还剩{days}天" if days > 0 else ("今天到期" if days == 0 else f"已逾期{-days}天")
    message = (
        f"{year}年政府信息公开工作年度报告应于{deadline.year}年1月31日前公布（条例第四十九条），{when}。"
        "公布后请在年度报告页面登记公布日期。"
    )
    link = f"{reverse('annual_report')}?year={year}"
    office = User.objects.filter(role=Role.OFFICE, is_active=True).order_by("pk")
    return [
        Notification(
            user=u,
            kind=KIND_ANNUAL_REPORT,
            message=message,
            link=link,
            dedupe_key=f"annual_report:{year}:{u.pk}:{today.isoformat()}",
        )
        for u in office
    ]


def report_title(year: int) -> str:
    return f"{unit_name(year)}{year}年政府信息公开工作年度报告"


__all__: Sequence[str] = [
    "APPLICANT_COLUMNS",
    "AnnualTables",
    "TABLE3_ROWS",
    "annual_report_publish",
    "annual_report_reminders",
    "annual_report_save",
    "check_tables",
    "compute_annual_tables",
    "table3_from",
    "table4_from",
]
