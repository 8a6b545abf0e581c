"""考核事实（facts）：从任务落实数据（逾期任务、缺报、退回、完成情况）与办公室录入的事实，
生成引擎的 UnitFacts。

本模块是考核评分读取 workplan 数据的唯一入口；查询次数固定，与任务数、股室数无关。
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.db.models import Q

from scoring import engine
from scoring.engine import Kind
from scoring.models import ManualFact
from workplan.application_register import corrected_in_window, overdue_in_window
from workplan.calendar_db import load_calendar
from workplan.models import (
    AppealKind,
    AssignmentRole,
    IssuerLevel,
    NoticeStatus,
    NoticeUnit,
    OfficeSettings,
    ProgressReport,
    PublicationItem,
    PublicationState,
    RectificationItem,
    RectificationStatus,
    ReportStatus,
    ReviewState,
    Section,
    Task,
    TaskAssignment,
)
from workplan.periods import quarter_end, quarter_start, report_deadline, report_expected
from workplan.reminders import STATE_LABELS, STATE_NOT_SUBMITTED, STATE_RETURNED
from workplan.workdays import WorkdayCalendar

ZERO = Decimal(0)
ONE_DAY = datetime.timedelta(days=1)

# ---- fact names computed from workplan data ------------------------------------------------------------

TASKS_OVERDUE = "tasks_overdue"
REPORTS_MISSING = "reports_missing"
REPORTS_RETURNED = "reports_returned"
TASKS_DONE = "tasks_done"
NOTICES_COUNTY = "notices_county"
NOTICES_BUREAU = "notices_bureau"
NOTICE_FACTS = (NOTICES_COUNTY, NOTICES_BUREAU)
RECTIFIED_NOTICES = "rectified_notices"
# 发布信息登记台账（workplan/models/publication.py）
ITEMS_PUBLISHED = "items_published"
MONTHLY_ITEMS = "monthly_items"
PUBLICATIONS_LATE = "publications_late"
PUBLICATION_FACTS = (ITEMS_PUBLISHED, MONTHLY_ITEMS, PUBLICATIONS_LATE)
# 依申请公开登记（workplan/models/applications.py）
APPLICATIONS_OVERDUE = "applications_overdue"
APPLICATIONS_CORRECTED = "applications_corrected"
APPLICATION_FACTS = (APPLICATIONS_OVERDUE, APPLICATIONS_CORRECTED)
COMPUTED_FACTS = (
    TASKS_OVERDUE,
    REPORTS_MISSING,
    REPORTS_RETURNED,
    TASKS_DONE,
    *NOTICE_FACTS,
    RECTIFIED_NOTICES,
    *PUBLICATION_FACTS,
    *APPLICATION_FACTS,
)
COMPUTED_FACT_LABELS = {
    TASKS_OVERDUE: "逾期未完成任务",
    REPORTS_MISSING: "季度进展缺报",
    REPORTS_RETURNED: "报送被退回",
    TASKS_DONE: "已完成任务",
    NOTICES_COUNTY: "受到县（市）级通报批评",
    NOTICES_BUREAU: "受到局内通报批评",
    RECTIFIED_NOTICES: "通报问题整改销号",
    ITEMS_PUBLISHED: "发布信息条数",
    MONTHLY_ITEMS: "每月发布信息条数",
    PUBLICATIONS_LATE: "信息超过20个工作日才公开",
    APPLICATIONS_OVERDUE: "依申请公开逾期答复",
    APPLICATIONS_CORRECTED: "行政复议、行政诉讼结果纠正",
}
# 通报批评由通报记录计算（_notice_facts）；系统上线前收到的通报仍可手工录入，某期间算出了通报时以计算为准。
MANUAL_ALLOWED_COMPUTED = NOTICE_FACTS
# 依申请公开两项同理：登记簿启用前的逾期答复、被纠正仍可手工录入，某期间算出了事件时以计算为准。
MANUAL_ALLOWED_COMPUTED += APPLICATION_FACTS

CLOSED = (ReportStatus.DONE, ReportStatus.CANNOT_COMPLETE)

# ---- periods -------------------------------------------------------------------------------------------

QUARTER_PERIODS = {"Q1": 1, "Q2": 2, "Q3": 3, "Q4": 4}
YEAR_PERIODS = ("年终", "年度")
PERIOD_CHOICES: list[tuple[str, str]] = [
    ("Q1", "第一季度"),
    ("Q2", "第二季度"),
    ("Q3", "第三季度"),
    ("Q4", "第四季度"),
    ("年终", "年终考核"),
    ("年度", "年度"),
]
PERIOD_LABELS = dict(PERIOD_CHOICES)


class FactError(ValueError):
    """事实无法按评分细则转换（如录入的取值与规则类型不符）。"""


@dataclass(frozen=True)
class PeriodWindow:
    """考核期间对应的时间窗口。

    - "Q1".."Q4"：year 年的该季度（季度首日至末日），只看该季度的报送；
    - "年终"、"年度"：year 年全年（1月1日至12月31日），四个季度的报送都算。
    """

    year: int
    period: str
    quarters: tuple[int, ...]
    start: datetime.date
    end: datetime.date

    @property
    def is_year(self) -> bool:
        return len(self.quarters) == 4

    @property
    def label(self) -> str:
        return f"{self.year}年{PERIOD_LABELS.get(self.period, self.period)}"


def period_window(year: int, period: str) -> PeriodWindow:
    """把考核期间名称映射到时间窗口；未知的期间抛出 FactError。"""
    if period in QUARTER_PERIODS:
        q = QUARTER_PERIODS[period]
        return PeriodWindow(year, period, (q,), quarter_start(year, q), quarter_end(year, q))
    if period in YEAR_PERIODS:
        return PeriodWindow(
            year, period, (1, 2, 3, 4), datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        )
    raise FactError(f"未知的考核期间“{period}”，应为 Q1–Q4、年终或年度")


def period_started(year: int, period: str, *, today: datetime.date) -> bool:
    return period_window(year, period).start <= today


# ---- rule set → expected shapes ------------------------------------------------------------------------


def fact_readers(ruleset: engine.RuleSet) -> dict[str, list[engine.Rule]]:
    """每项事实由哪些规则读取（按规则顺序）。"""
    readers: dict[str, list[engine.Rule]] = {}
    for rule in ruleset.rules:
        if rule.fact:
            readers.setdefault(rule.fact, []).append(rule)
    return readers


def _wants_count(rules: Sequence[engine.Rule]) -> bool:
    # A quantity rule compares a number with its target; every other counting kind wants the events.
    return bool(rules) and all(r.kind == Kind.QUANTITY for r in rules)


# ---- the collection ------------------------------------------------------------------------------------


@dataclass
class _Collector:
    ruleset: engine.RuleSet
    window: PeriodWindow
    section_ids: list[int]
    today: datetime.date
    cal: WorkdayCalendar

    def share(self, role: str) -> Decimal:
        return self.ruleset.lead_share if role == AssignmentRole.LEAD else self.ruleset.responsible_share

    def occurrence(self, ref: str, role: str, note: str = "") -> engine.Occurrence | None:
        """一个事件按分工角色取细则的分担比例；比例为 0 的不计（该股室不承担）。"""
        share = self.share(role)
        if share == 0:
            return None
        return engine.Occurrence(ref=ref, share=share, note=note, role=role)


class _TaskRow(NamedTuple):
    pk: int
    due_date: datetime.date | None
    status: str
    recurrence: str


class _ReportRow(NamedTuple):
    pk: int
    task_id: int
    section_id: int
    quarter: int
    role: str
    status: str
    review_state: str
    return_count: int


@dataclass
class _YearData:
    """计划年度为 year 的非标题任务、分工与进展报送（三次查询，只取需要的列，不建模型实例）。

    报送只取两类：期间内各季度的全部报送（缺报、退回），以及全年已通过的牵头“已完成/无法完成”报送（关闭季度）。
    """

    tasks: list[_TaskRow]
    roles: dict[int, dict[int, str]]  # task_id → {section_id: role}；兼任牵头与责任的记为牵头
    reports: list[_ReportRow]

    @classmethod
    def load(cls, window: PeriodWindow) -> _YearData:
        year = window.year
        tasks = [
            _TaskRow(*row)
            for row in Task.objects.actionable()
            .filter(plan__year=year)
            .order_by("plan_id", "position", "pk")
            .values_list("pk", "due_date", "status", "recurrence")
        ]
        roles: dict[int, dict[int, str]] = defaultdict(dict)
        assignments = (
            TaskAssignment.objects.filter(task__plan__year=year, task__is_heading=False)
            .order_by("pk")
            .values_list("task_id", "section_id", "role")
        )
        for task_id, section_id, role in assignments:
            if roles[task_id].get(section_id) != AssignmentRole.LEAD:
                roles[task_id][section_id] = role
        reports = [
            _ReportRow(*row)
            for row in ProgressReport.objects.filter(task__plan__year=year, year=year)
            .filter(
                Q(quarter__in=window.quarters)
                | Q(role=AssignmentRole.LEAD, review_state=ReviewState.ACCEPTED, status__in=CLOSED)
            )
            .order_by("quarter", "task_id", "pk")
            .values_list(
                "pk", "task_id", "section_id", "quarter", "role", "status", "review_state", "return_count"
            )
        ]
        return cls(tasks, roles, reports)

    def closed_quarters(self) -> dict[int, int]:
        """已关闭（已完成/无法完成）任务的关闭季度：task_id → 1..4；关闭季度无从考证的记 0。

        关闭季度取自办公室已通过的牵头股室报送：
        - 已完成：每个牵头股室都有已通过的“已完成”报送，取各牵头股室最早一次中最晚的季度
          （与任务总体状态的推导一致：所有牵头股室都完成才算完成）；
        - 无法完成：任一牵头股室已通过的“无法完成”报送的最早季度；
        - 任务状态已关闭但找不到这样的报送（办公室直接关闭的）：记 0，视为在各期间都已关闭。
        状态未关闭的任务不在结果中。
        """
        first: dict[tuple[int, int, str], int] = {}
        for r in self.reports:
            if (
                r.role == AssignmentRole.LEAD
                and r.review_state == ReviewState.ACCEPTED
                and r.status in CLOSED
            ):
                # Reports are ordered by quarter: the first one seen is the earliest.
                first.setdefault((r.task_id, r.section_id, r.status), r.quarter)
        result: dict[int, int] = {}
        for t in self.tasks:
            if t.status not in CLOSED:
                continue
            leads = [sid for sid, role in self.roles.get(t.pk, {}).items() if role == AssignmentRole.LEAD]
            if t.status == ReportStatus.DONE:
                done = [first.get((t.pk, sid, ReportStatus.DONE)) for sid in leads]
                result[t.pk] = max(q for q in done if q) if leads and all(done) else 0
            else:
                gave_up = [q for sid in leads if (q := first.get((t.pk, sid, ReportStatus.CANNOT_COMPLETE)))]
                result[t.pk] = min(gave_up) if gave_up else 0
        return result

    def outstanding(self, year: int, quarter: int) -> list[tuple[int, int, str, str]]:
        """(year, quarter) 应报送而没有有效报送的 (task_id, section_id, role, state)。

        与 workplan.reminders.missing_reports 的清单逐项相同（有测试对照），只是复用本次已取出的数据，
        不再为每个季度重新查询、建模型实例：应报送由 workplan.periods.report_expected 判断（周期性与持续推进的
        任务每季度都报，一次性任务完成前每季度报；“之前已完成”为某牵头股室在更早季度的“已完成/无法完成”
        报送已通过，或任务已关闭却没有这样的报送）；每个分工股室各报一份（兼任时记为牵头）；没有报送为
        “未报送”，被退回（尚未重新提交）为“被退回未重报”。
        """
        current: dict[tuple[int, int], str] = {}
        closed_in: dict[int, int] = {}
        for r in self.reports:
            if r.quarter == quarter:
                current[(r.task_id, r.section_id)] = r.review_state
            if (
                r.role == AssignmentRole.LEAD
                and r.status in CLOSED
                and r.review_state == ReviewState.ACCEPTED
            ):
                closed_in.setdefault(r.task_id, r.quarter)  # ordered by quarter: the earliest
        rows: list[tuple[int, int, str, str]] = []
        for t in self.tasks:
            done_before = closed_in[t.pk] < quarter if t.pk in closed_in else t.status in CLOSED
            if not report_expected(
                plan_year=year,
                year=year,
                quarter=quarter,
                recurrence=t.recurrence,
                due_date=t.due_date,
                done_before=done_before,
            ):
                continue
            for section_id, role in self.roles.get(t.pk, {}).items():
                review_state = current.get((t.pk, section_id))
                if review_state is None:
                    rows.append((t.pk, section_id, role, STATE_NOT_SUBMITTED))
                elif review_state == ReviewState.RETURNED:
                    rows.append((t.pk, section_id, role, STATE_RETURNED))
        return rows


def _task_facts(
    c: _Collector, data: _YearData, wanted: set[str], out: dict[str, dict[int, list[engine.Occurrence]]]
) -> None:
    """逾期未完成任务（tasks_overdue）与已完成任务（tasks_done）。

    逾期：计划年度为本年的非标题任务，有截止日期，有效截止日（遇节假日顺延到下一个工作日）早于
    “期间结束次日”与“今天”中较早的一天，且在期间结束时尚未关闭（关闭季度晚于期间的最后一个季度，或仍未关闭）。
    同一任务在此后每个期间仍未完成的，每个期间都计一次。
    已完成：状态为“已完成”且关闭季度在本期间内；关闭季度无从考证的只计入全年（年终、年度）。
    每项任务按分工角色记给牵头、责任股室（比例见细则的分担设置）。
    """
    window = c.window
    closed = data.closed_quarters()
    as_of = min(window.end + ONE_DAY, c.today)
    last_quarter = window.quarters[-1]
    effective: dict[datetime.date, datetime.date] = {}
    scored = set(c.section_ids)
    for t in data.tasks:
        closed_q = closed.get(t.pk)
        hits: list[str] = []
        if TASKS_OVERDUE in wanted and t.due_date is not None and t.due_date < as_of:
            open_at_end = closed_q is None or (closed_q != 0 and closed_q > last_quarter)
            if open_at_end:
                # The working-day calendar is slow per call: ask it only for candidates, once per date.
                if t.due_date not in effective:
                    effective[t.due_date] = c.cal.next_workday_on_or_after(t.due_date)
                if effective[t.due_date] < as_of:
                    hits.append(TASKS_OVERDUE)
        if TASKS_DONE in wanted and t.status == ReportStatus.DONE and closed_q is not None:
            if closed_q in window.quarters or (closed_q == 0 and window.is_year):
                hits.append(TASKS_DONE)
        if not hits:
            continue
        for section_id, role in data.roles.get(t.pk, {}).items():
            if section_id not in scored:
                continue
            for fact in hits:
                note = f"截止日期{t.due_date:%Y-%m-%d}" if fact == TASKS_OVERDUE and t.due_date else ""
                if occ := c.occurrence(f"task:{t.pk}", role, note):
                    out[fact][section_id].append(occ)


def _missing_facts(
    c: _Collector, data: _YearData, out: dict[str, dict[int, list[engine.Occurrence]]]
) -> None:
    """季度进展缺报（reports_missing）：与 workplan.reminders.missing_reports 的缺报清单相同
    （未报送、被退回未重报），
    只计报送截止日（季度结束后次月第 N 日，遇节假日顺延）已过的季度。按分工角色取分担比例。"""
    report_day = OfficeSettings.current().report_day
    scored = set(c.section_ids)
    for quarter in c.window.quarters:
        deadline = report_deadline(c.window.year, quarter, day=report_day, cal=c.cal)
        if c.today <= deadline:
            continue
        for task_id, section_id, role, state in data.outstanding(c.window.year, quarter):
            if section_id not in scored:
                continue
            note = f"{c.window.year}年第{quarter}季度{STATE_LABELS.get(state, state)}"
            if occ := c.occurrence(f"task:{task_id}", role, note):
                out[REPORTS_MISSING][section_id].append(occ)


def _returned_facts(
    c: _Collector, data: _YearData, out: dict[str, dict[int, list[engine.Occurrence]]]
) -> None:
    """报送被退回（reports_returned）：本期间各季度的进展报送中被办公室退回过（退回次数 ≥ 1）的，每份计一次，
    记给报送的股室（按其分工角色取分担比例）。"""
    scored = set(c.section_ids)
    for r in data.reports:
        if r.return_count > 0 and r.quarter in c.window.quarters and r.section_id in scored:
            note = f"第{r.quarter}季度报送被退回{r.return_count}次"
            if occ := c.occurrence(f"report:{r.pk}", r.role, note):
                out[REPORTS_RETURNED][r.section_id].append(occ)


def _notice_facts(
    c: _Collector,
    wanted: set[str],
    out: dict[str, dict[int, list[engine.Occurrence]]],
    rectified: dict[int, list[engine.BonusItem]],
) -> None:
    """通报批评与整改销号（两次查询）：

    - notices_bureau：本局印发的局内通报；notices_county：登记的县（市）级、市级及以上通报。
      只计已印发（登记）的，草稿、作废的不计；按印发 / 收到日期所在期间计入，点名的每个股室每份通报一次
      （ref 为 notice:<编号>），不按牵头 / 责任分担；
    - rectified_notices：来自通报的整改事项在本期间内经办公室核验销号的，每项一次（每份通报每个股室一项）。
      加分规则读取时给出加分事项（证明材料为整改材料的文件名或链接），其余规则读取时给出事件。
    """
    scored = set(c.section_ids)
    window = c.window
    if wanted & set(NOTICE_FACTS):
        units = NoticeUnit.objects.filter(
            notice__status=NoticeStatus.ISSUED,
            notice__received_on__range=(window.start, window.end),
            section_id__in=scored,
        ).order_by("notice__received_on", "notice_id", "pk")
        rows = units.values_list("section_id", "notice_id", "notice__issuer_level", "notice__doc_number")
        for section_id, notice_id, level, doc_number in rows:
            fact = NOTICES_BUREAU if level == IssuerLevel.BUREAU else NOTICES_COUNTY
            if fact in wanted:
                out[fact][section_id].append(engine.Occurrence(ref=f"notice:{notice_id}", note=doc_number))
    if RECTIFIED_NOTICES in wanted:
        items = RectificationItem.objects.filter(
            notice__status=NoticeStatus.ISSUED,
            status=RectificationStatus.CLOSED,
            verified_at__date__range=(window.start, window.end),
            section_id__in=scored,
        ).order_by("verified_at", "pk")
        for item in items.values(
            "pk", "section_id", "notice_id", "notice__doc_number", "response_file_name", "response_link"
        ):
            ref = f"notice:{item['notice_id']}"
            reason = f"{item['notice__doc_number'] or '通报'}所列问题整改到位，已核验销号"
            evidence = item["response_file_name"] or item["response_link"] or f"整改事项{item['pk']}核验记录"
            out[RECTIFIED_NOTICES][item["section_id"]].append(engine.Occurrence(ref=ref, note=reason))
            rectified[item["section_id"]].append(engine.BonusItem(ref=ref, reason=reason, evidence=evidence))


def _publication_facts(
    c: _Collector,
    wanted: set[str],
    out: dict[str, dict[int, list[engine.Occurrence]]],
    monthly: dict[int, list[Decimal]],
) -> None:
    """发布信息登记台账（一次查询）：

    - items_published：发布日期在本期间内的已发布信息，每条一个事件（ref 为 pub:<编号>）；
      只有数量规则读取时给出条数；
    - monthly_items：本期间各月的发布条数（季度 3 个月、全年 12 个月），只列到今天已开始的月份，
      尚未开始的月份不算空白月；
    - publications_late：超过公开时限（信息形成之日起第 20 个工作日，保存在 due_on）的信息，
      每条只计一次，计入逾期开始之日（截止日次日）所在的期间，且该日不晚于今天：
      发布日期晚于截止日的，或到今天仍未发布的。
    发布由承办股室负责，事件记给承办股室，不按牵头 / 责任分担。
    """
    window = c.window
    late_from, late_to = window.start - ONE_DAY, window.end - ONE_DAY
    rows = (
        PublicationItem.objects.filter(section_id__in=c.section_ids)
        .filter(
            Q(state=PublicationState.PUBLISHED, published_on__range=(window.start, window.end))
            | Q(due_on__range=(late_from, late_to))
        )
        .order_by("due_on", "pk")
        .values_list("pk", "section_id", "state", "published_on", "due_on", "formed_on")
    )
    months = [
        m
        for q in window.quarters
        for m in range(3 * q - 2, 3 * q + 1)
        if datetime.date(window.year, m, 1) <= c.today
    ]
    for section_id in c.section_ids:
        monthly[section_id] = [ZERO] * len(months)
    for pk, section_id, state, published_on, due_on, formed_on in rows:
        ref = f"pub:{pk}"
        published = state == PublicationState.PUBLISHED and published_on is not None
        if published and window.start <= published_on <= window.end:
            if ITEMS_PUBLISHED in wanted:
                note = f"{published_on:%Y-%m-%d}发布"
                out[ITEMS_PUBLISHED][section_id].append(engine.Occurrence(ref=ref, note=note))
            if published_on.month in months:
                monthly[section_id][months.index(published_on.month)] += 1
        late_on = due_on + ONE_DAY
        if PUBLICATIONS_LATE in wanted and late_from <= due_on <= late_to and late_on <= c.today:
            if not published or published_on > due_on:
                done = f"{published_on:%Y-%m-%d}发布" if published else "尚未发布"
                note = f"{formed_on:%Y-%m-%d}形成，应于{due_on:%Y-%m-%d}前公开，{done}"
                out[PUBLICATIONS_LATE][section_id].append(engine.Occurrence(ref=ref, note=note))


def _application_facts(
    c: _Collector, wanted: set[str], out: dict[str, dict[int, list[engine.Occurrence]]]
) -> None:
    """依申请公开登记（见 workplan.application_register.overdue_in_window / corrected_in_window）：

    - applications_overdue：逾期开始之日（答复期限次日）在本期间内且不晚于今天的申请，
      答复晚于期限或到今天仍未答复，每件一次；
    - applications_corrected：行政复议、行政诉讼结果纠正，按决定（判决）日期所在期间，每件一次。
    事件记给承办股室（ref 为 app:<编号>），不按牵头 / 责任分担。
    """
    scored = set(c.section_ids)
    window = c.window
    if APPLICATIONS_OVERDUE in wanted:
        for row in overdue_in_window(start=window.start, end=window.end, today=c.today, cal=c.cal):
            if row.section_id in scored:
                done = f"{row.replied_on:%Y-%m-%d}答复" if row.replied_on else "尚未答复"
                note = f"{row.code}应于{row.due_on:%Y-%m-%d}前答复，{done}"
                out[APPLICATIONS_OVERDUE][row.section_id].append(
                    engine.Occurrence(ref=f"app:{row.application_id}", note=note)
                )
    if APPLICATIONS_CORRECTED in wanted:
        for row in corrected_in_window(start=window.start, end=window.end):
            if row.section_id in scored:
                note = f"{row.code}{AppealKind(row.kind).label}结果纠正（{row.decided_on:%Y-%m-%d}）"
                out[APPLICATIONS_CORRECTED][row.section_id].append(
                    engine.Occurrence(ref=f"app:{row.application_id}", note=note)
                )


def collect_facts(
    *,
    ruleset: engine.RuleSet,
    year: int,
    period: str,
    sections: Iterable[Section],
    today: datetime.date,
) -> list[engine.UnitFacts]:
    """收集各股室某考核期间的事实（单位标识为股室编号的字符串）。

    只收集细则里有规则读取的事实，读取的事实一律给出（没有事件时为空列表或 0），不让引擎把“没有数据”当成缺项：
    - tasks_overdue / tasks_done：见 _task_facts；
    - reports_missing：见 _missing_facts；reports_returned：见 _returned_facts；
    - notices_county / notices_bureau / rectified_notices：见 _notice_facts（通报批评两项也可手工录入，
      算出了通报时以计算为准）；
    - items_published / monthly_items / publications_late：见 _publication_facts（发布信息登记台账）；
    - applications_overdue / applications_corrected：见 _application_facts（依申请公开登记，
      两项也可手工录入）；
    - 其余事实取自办公室录入的 ManualFact（本股室、本年度、本期间），按读取它的规则类型转换
      （见 manual_value）。
      系统计算的事实不能被录入值覆盖（通报批评两项除外）。
    事件的分担比例：牵头股室取细则的 lead_share，责任股室取 responsible_share，比例为 0 的事件不计。
    只有细则读取数量（quantity 规则）时，计数类事实给出事件个数（Decimal）。
    查询次数固定：任务、分工、报送各 1 次（逾期、完成、缺报、退回共用），录入事实 1 次，
    日历与办公室设置各 1 次，发布信息 1 次。
    """
    window = period_window(year, period)
    sections = list(sections)
    section_ids = [s.pk for s in sections]
    readers = fact_readers(ruleset)
    wanted = {name for name in readers if name in COMPUTED_FACTS}
    needs_calendar = bool(wanted & {TASKS_OVERDUE, REPORTS_MISSING, APPLICATIONS_OVERDUE})
    c = _Collector(
        ruleset, window, section_ids, today, load_calendar() if needs_calendar else WorkdayCalendar()
    )
    occurrences: dict[str, dict[int, list[engine.Occurrence]]] = {name: defaultdict(list) for name in wanted}
    if wanted - {*NOTICE_FACTS, RECTIFIED_NOTICES, *PUBLICATION_FACTS, *APPLICATION_FACTS}:
        data = _YearData.load(window)
        if wanted & {TASKS_OVERDUE, TASKS_DONE}:
            _task_facts(c, data, wanted, occurrences)
        if REPORTS_MISSING in wanted:
            _missing_facts(c, data, occurrences)
        if REPORTS_RETURNED in wanted:
            _returned_facts(c, data, occurrences)
    rectified: dict[int, list[engine.BonusItem]] = defaultdict(list)
    if wanted & {*NOTICE_FACTS, RECTIFIED_NOTICES}:
        _notice_facts(c, wanted, occurrences, rectified)
    if wanted & set(APPLICATION_FACTS):
        _application_facts(c, wanted, occurrences)
    monthly: dict[int, list[Decimal]] = {}
    if wanted & set(PUBLICATION_FACTS):
        _publication_facts(c, wanted, occurrences, monthly)

    manual: dict[int, list[ManualFact]] = defaultdict(list)
    manual_names = [name for name in readers if name not in COMPUTED_FACTS or name in MANUAL_ALLOWED_COMPUTED]
    if manual_names and section_ids:
        for mf in ManualFact.objects.filter(
            year=year, period=period, section_id__in=section_ids, fact__in=manual_names
        ).order_by("section_id", "fact"):
            manual[mf.section_id].append(mf)

    units: list[engine.UnitFacts] = []
    for section in sections:
        facts: dict[str, engine.FactValue] = {}
        for name in sorted(wanted):
            occ = tuple(occurrences[name].get(section.pk, ()))
            facts[name] = Decimal(len(occ)) if _wants_count(readers[name]) else occ
            if name == RECTIFIED_NOTICES and all(r.kind == Kind.BONUS for r in readers[name]):
                facts[name] = tuple(rectified.get(section.pk, ()))
            if name == MONTHLY_ITEMS:
                facts[name] = tuple(monthly.get(section.pk, ()))
        for mf in manual[section.pk]:
            if mf.fact in facts and mf.fact not in MANUAL_ALLOWED_COMPUTED:
                continue
            if mf.fact in MANUAL_ALLOWED_COMPUTED and facts.get(mf.fact):
                continue  # notices computed from the notice records take precedence over an entry
            try:
                facts[mf.fact] = manual_value(
                    readers[mf.fact][0],
                    mf.value,
                    reason=mf.reason,
                    evidence=manual_evidence_label(mf),
                    ref=f"manual:{mf.pk}",
                )
            except FactError as exc:
                raise FactError(f"{section.name}的录入事实“{mf.fact}”：{exc}") from exc
        units.append(engine.UnitFacts(unit=str(section.pk), period=period, facts=facts))
    return units


# ---- manual facts --------------------------------------------------------------------------------------


def manual_evidence_label(mf: ManualFact) -> str:
    """证明材料的文字：证明材料说明，没有说明时为上传文件的文件名。"""
    if mf.evidence_note.strip():
        return mf.evidence_note.strip()
    if mf.evidence:
        return (mf.evidence.name or "").rsplit("/", 1)[-1]
    return ""


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise FactError(f"{what}应为数字")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise FactError(f"{what}“{value}”不是数字") from exc
    if not number.is_finite():
        raise FactError(f"{what}“{value}”不是数字")
    return number


def manual_value(
    rule: engine.Rule, value: Any, *, reason: str = "", evidence: str = "", ref: str = "manual"
) -> engine.FactValue:
    """把录入事实的 JSON 取值按读取它的规则类型转换为引擎的事实。取值的写法：

    - 条件、此项不得分、有无、一票否决、不适用：true / false；
    - 数量目标：一个数，或分期数量列表（如每月条数 [40, 38, …]）；
    - 酌情评分：分值（数字或 {"points": 数字}），理由取录入的“理由/说明”；
    - 加分：事项列表，每项为理由文字或 {"reason": …, "evidence": …}；也可写事项数 N（理由取“理由/说明”）。
      事项没写证明材料时，取录入的证明材料（说明或文件名）；
    - 按次扣分、按项得分、通报批评：次数 N，或事件列表（每项为编号文字，如 "task:12"、文号）。
    取值不符时抛出 FactError。
    """
    kind = rule.kind
    if kind in (Kind.CONDITION, Kind.WHOLE_ITEM, Kind.PRESENCE, Kind.VETO, Kind.NOT_APPLICABLE):
        if not isinstance(value, bool):
            raise FactError("应为“是/否”（true/false）")
        return value
    if kind == Kind.QUANTITY:
        if isinstance(value, list):
            return tuple(_decimal(v, "分期数量") for v in value)
        return _decimal(value, "数量")
    if kind == Kind.DISCRETIONARY:
        raw = value.get("points") if isinstance(value, dict) else value
        return engine.Assessment(points=_decimal(raw, "酌情分"), reason=reason.strip())
    if kind == Kind.BONUS:
        items: list[engine.BonusItem] = []
        if isinstance(value, list):
            for i, item in enumerate(value, 1):
                if isinstance(item, str) and item.strip():
                    items.append(engine.BonusItem(f"{ref}:{i}", item.strip(), evidence))
                elif isinstance(item, dict) and str(item.get("reason", "")).strip():
                    own = str(item.get("evidence") or "").strip()
                    items.append(engine.BonusItem(f"{ref}:{i}", str(item["reason"]).strip(), own or evidence))
                else:
                    raise FactError(f"第{i}项加分事项缺少理由")
            return tuple(items)
        count = _count(value, "加分事项数")
        label = reason.strip() or rule.label
        return tuple(engine.BonusItem(f"{ref}:{i}", label, evidence) for i in range(1, count + 1))
    if kind in (Kind.PER_OCCURRENCE, Kind.PER_ITEM, Kind.NOTICE):
        note = reason.strip()
        if isinstance(value, list):
            refs = [str(v).strip() for v in value]
            if not all(refs):
                raise FactError("事件列表中有空项")
            return tuple(engine.Occurrence(ref=r, note=note) for r in refs)
        count = _count(value, "次数")
        return tuple(engine.Occurrence(ref=f"{ref}:{i}", note=note) for i in range(1, count + 1))
    raise FactError(f"规则类型“{kind}”不读取录入事实")


def _count(value: Any, what: str) -> int:
    number = _decimal(value, what)
    if number < 0 or number != number.to_integral_value():
        raise FactError(f"{what}应为不小于 0 的整数")
    return int(number)


# ---- canonical form ------------------------------------------------------------------------------------


def _canonical_value(value: engine.FactValue) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return {"n": str(value.normalize()) if value else "0"}
    if isinstance(value, engine.Assessment):
        return {"points": str(value.points.normalize()) if value.points else "0", "reason": value.reason}
    if isinstance(value, tuple):
        out: list[Any] = []
        for v in value:
            if isinstance(v, engine.Occurrence):
                out.append(
                    {
                        "ref": v.ref,
                        "share": str(v.share.normalize()) if v.share else "0",
                        "role": v.role,
                        "note": v.note,
                    }
                )
            elif isinstance(v, engine.BonusItem):
                out.append({"ref": v.ref, "reason": v.reason, "evidence": v.evidence})
            elif isinstance(v, Decimal):
                out.append(str(v.normalize()) if v else "0")
        return out
    return repr(value)


def facts_json(units: Sequence[engine.UnitFacts]) -> str:
    """事实的规范 JSON（单位、事实名排序，数值写成规范化的字符串），用于输入指纹。"""
    doc = [
        {
            "unit": u.unit,
            "period": u.period,
            "facts": {k: _canonical_value(v) for k, v in sorted(u.facts.items())},
        }
        for u in sorted(units, key=lambda u: (u.unit, u.period))
    ]
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def facts_digest(units: Sequence[engine.UnitFacts]) -> str:
    """输入指纹：规范 JSON 的 sha256。事实相同则指纹相同。"""
    return hashlib.sha256(facts_json(units).encode("utf-8")).hexdigest()
