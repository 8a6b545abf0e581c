"""考核事实（facts）：从任务落实数据（逾期任务、缺报、退回、完成情况）与办公室录入的事实，
生成引擎的 UnitFacts。

本模块是考核评分读取 workplan 数据的唯一入口；查询次数固定，与任务数、股室数无关。
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Q

from scoring import engine
from scoring.engine import Kind
from scoring.fact_values import manual_evidence_label, manual_value
from scoring.models import ManualFact
from scoring.periods import FactError, PeriodWindow, period_window
from scoring.scheme import ONE
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
from workplan.outstanding import CLOSED_STATUSES, STATE_LABELS, outstanding, report_states, section_roles
from workplan.periods import report_deadline
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

    def add(self, events: _EventList, ref: str, role: str, note: str) -> None:
        """一个事件按分工角色取细则的分担比例；比例为 0 的不计（该股室不承担）。"""
        share = self.share(role)
        if share:
            events.add(ref, note, role, share)


class _EventList:
    """收集中的一项事实、一个股室的事件：直接按（角色，分担比例）分组记编号与说明，交给引擎时不必再逐个分组。"""

    __slots__ = ("groups",)

    def __init__(self) -> None:
        self.groups: dict[tuple[str, Decimal], tuple[list[str], list[str]]] = {}

    def add(self, ref: str, note: str, role: str = "", share: Decimal = ONE) -> None:
        group = self.groups.get((role, share))
        if group is None:
            self.groups[(role, share)] = ([ref], [note])
        else:
            group[0].append(ref)
            group[1].append(note)

    def __len__(self) -> int:
        return sum(len(refs) for refs, _ in self.groups.values())

    def events(self) -> engine.Events:
        return engine.Events(
            tuple(
                engine.EventGroup(tuple(refs), share, role, tuple(notes))
                for (role, share), (refs, notes) in self.groups.items()
            )
        )


Collected = dict[str, dict[int, _EventList]]  # 事实名 → 股室编号 → 事件


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
        roles = section_roles(
            TaskAssignment.objects.filter(task__plan__year=year, task__is_heading=False)
            .order_by("pk")
            .values_list("task_id", "section_id", "role")
        )
        reports = [
            _ReportRow(*row)
            for row in ProgressReport.objects.filter(task__plan__year=year, year=year)
            .filter(
                Q(quarter__in=window.quarters)
                | Q(role=AssignmentRole.LEAD, review_state=ReviewState.ACCEPTED, status__in=CLOSED_STATUSES)
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
                and r.status in CLOSED_STATUSES
            ):
                # Reports are ordered by quarter: the first one seen is the earliest.
                first.setdefault((r.task_id, r.section_id, r.status), r.quarter)
        result: dict[int, int] = {}
        for t in self.tasks:
            if t.status not in CLOSED_STATUSES:
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
        """(year, quarter) 应报送而没有有效报送的 (task_id, section_id, role, state)：规则见
        workplan.outstanding（与办公室的缺报清单同一份代码），复用本次已取出的数据，不再为每个季度重新查询。"""
        current, closed_in = report_states(
            ((r.task_id, r.section_id, r.quarter, r.role, r.status, r.review_state) for r in self.reports),
            quarter,
        )
        tasks = ((t.pk, t.status, t.recurrence) for t in self.tasks)
        return outstanding(tasks, self.roles, current, closed_in, plan_year=year, year=year, quarter=quarter)


def _task_facts(c: _Collector, data: _YearData, wanted: set[str], out: Collected) -> None:
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
                c.add(out[fact][section_id], f"task:{t.pk}", role, note)


def _missing_facts(c: _Collector, data: _YearData, out: Collected) -> None:
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
            c.add(out[REPORTS_MISSING][section_id], f"task:{task_id}", role, note)


def _returned_facts(c: _Collector, data: _YearData, out: Collected) -> None:
    """报送被退回（reports_returned）：本期间各季度的进展报送中被办公室退回过（退回次数 ≥ 1）的，每份计一次，
    记给报送的股室（按其分工角色取分担比例）。"""
    scored = set(c.section_ids)
    for r in data.reports:
        if r.return_count > 0 and r.quarter in c.window.quarters and r.section_id in scored:
            note = f"第{r.quarter}季度报送被退回{r.return_count}次"
            c.add(out[REPORTS_RETURNED][r.section_id], f"report:{r.pk}", r.role, note)


def _notice_facts(
    c: _Collector,
    wanted: set[str],
    out: Collected,
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
                out[fact][section_id].add(f"notice:{notice_id}", doc_number)
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
            out[RECTIFIED_NOTICES][item["section_id"]].add(ref, reason)
            rectified[item["section_id"]].append(engine.BonusItem(ref=ref, reason=reason, evidence=evidence))


def _publication_facts(
    c: _Collector,
    wanted: set[str],
    out: Collected,
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
                out[ITEMS_PUBLISHED][section_id].add(ref, f"{published_on:%Y-%m-%d}发布")
            if published_on.month in months:
                monthly[section_id][months.index(published_on.month)] += 1
        late_on = due_on + ONE_DAY
        if PUBLICATIONS_LATE in wanted and late_from <= due_on <= late_to and late_on <= c.today:
            if not published or published_on > due_on:
                done = f"{published_on:%Y-%m-%d}发布" if published else "尚未发布"
                note = f"{formed_on:%Y-%m-%d}形成，应于{due_on:%Y-%m-%d}前公开，{done}"
                out[PUBLICATIONS_LATE][section_id].add(ref, note)


def _application_facts(c: _Collector, wanted: set[str], out: Collected) -> None:
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
                out[APPLICATIONS_OVERDUE][row.section_id].add(f"app:{row.application_id}", note)
    if APPLICATIONS_CORRECTED in wanted:
        for row in corrected_in_window(start=window.start, end=window.end):
            if row.section_id in scored:
                note = f"{row.code}{AppealKind(row.kind).label}结果纠正（{row.decided_on:%Y-%m-%d}）"
                out[APPLICATIONS_CORRECTED][row.section_id].add(f"app:{row.application_id}", note)


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
    occurrences: Collected = {name: defaultdict(_EventList) for name in wanted}
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

    manual: dict[int, list[_ManualRow]] = defaultdict(list)
    manual_names = [name for name in readers if name not in COMPUTED_FACTS or name in MANUAL_ALLOWED_COMPUTED]
    if manual_names and section_ids:
        rows = (
            ManualFact.objects.filter(
                year=year, period=period, section_id__in=section_ids, fact__in=manual_names
            )
            .order_by("section_id", "fact")
            .values_list("pk", "section_id", "fact", "value", "reason", "evidence_note", "evidence")
        )
        for row in rows:
            mf = _ManualRow(*row)
            manual[mf.section_id].append(mf)

    units: list[engine.UnitFacts] = []
    for section in sections:
        facts: dict[str, engine.FactValue] = {}
        for name in sorted(wanted):
            collected = occurrences[name].get(section.pk)
            if _wants_count(readers[name]):
                facts[name] = Decimal(len(collected) if collected else 0)
            else:
                facts[name] = collected.events() if collected else engine.NO_EVENTS
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
                    evidence=manual_evidence_label(mf.evidence_note, mf.evidence),
                    ref=f"manual:{mf.pk}",
                )
            except FactError as exc:
                raise FactError(f"{section.name}的录入事实“{mf.fact}”：{exc}") from exc
        units.append(engine.UnitFacts(unit=str(section.pk), period=period, facts=facts))
    return units


# ---- manual facts (rows; their values are converted by scoring.fact_values) -------------------------


class _ManualRow(NamedTuple):
    """录入事实中计分要用的列（不建模型实例：每期每股室十几条，建实例比读数还慢）。"""

    pk: int
    section_id: int
    fact: str
    value: Any
    reason: str
    evidence_note: str
    evidence: str  # 上传文件的存储路径，没有时为空
