"""在真实浏览器（系统 Chromium）中走一遍季度工作流程：办公室导入工作要点 → 综合股报送第四季度进展并上传
佐证 PDF → 办公室审核通过 → 局长查看季度看板（图表渲染、无控制台错误）→ 局长下载季度报告（Word）。

计划年度 2023：2023 年第四季度早已开始，报送页缺省就是这一季度，不需要冻结时间。每一步的截图存放在
tests/e2e/artifacts/<测试名>/（不进 git）。
"""

from __future__ import annotations

import re
from pathlib import Path

import docx
import pytest
from django.utils import timezone

from tests.factories import make_plan
from workplan.models import Evidence, ProgressReport, ReportStatus, ReviewState, Task, WorkPlan

sync_api = pytest.importorskip("playwright.sync_api", reason="没有安装 playwright（pip install -e '.[dev]'）")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PLAN = ROOT / "fixtures" / "zhangshu-tjj-2023-workplan.txt"
TASK_TITLE = "深化統計數據公開"  # 一/（一）：牵头股室 综合股（标题保留原文的繁体写法）
NARRATIVE = "E2E-第四季度：已在政府网站发布2023年统计公报及月度数据解读。"


def task_links(page) -> list[str]:
    """页面表格中指向任务详情（/tasks/<编号>/）的链接文字。"""
    pairs = page.locator("main table a[href^='/tasks/']").evaluate_all(
        "links => links.map(a => [a.getAttribute('href'), a.textContent.trim()])"
    )
    return [text for href, text in pairs if re.fullmatch(r"/tasks/\d+/", href)]


def submit(page, name: str) -> None:
    """点击按钮并等待跳转后的页面加载完。"""
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def message(page, text: str) -> None:
    expect(page.locator("ul.messages")).to_contain_text(text)


def evidence_pdf(chromium, path: Path) -> Path:
    """一份真实的小 PDF：由 Chromium 把一段网页打印成 A4。"""
    context = chromium.new_context()
    page = context.new_page()
    page.set_content("<h1>樟树市统计局2023年统计公报</h1><p>佐证材料：第四季度已发布。</p>")
    path.write_bytes(page.pdf(format="A4"))
    context.close()
    return path


def test_office_imports_section_reports_office_accepts_director_sees_dashboard_and_report(
    browser_session, chromium, tmp_path
):
    # (1) 办公室：上传工作要点 → 预览 → 确认 → 计划页列出 16 项任务。
    office = browser_session("office")
    office.nav("导入计划")
    office.page.set_input_files("#id_file", str(SAMPLE_PLAN))
    office.page.fill("#id_year", "2023")
    office.shot("upload")
    submit(office.page, "上传并预览")
    assert re.search(r"/imports/\d+/$", office.page.url), office.page.url
    expect(office.page.locator("main")).to_contain_text("任务 16 项")
    office.shot("preview")
    submit(office.page, "确认导入")
    assert re.search(r"/plans/\d+/$", office.page.url), office.page.url
    titles = task_links(office.page)
    assert len(titles) == 16, titles
    assert TASK_TITLE in titles
    office.shot("plan")
    plan = WorkPlan.objects.get()
    assert plan.year == 2023 and plan.tasks.filter(is_heading=False).count() == 16

    # (2) 综合股：打开本股室牵头的任务，报送 2023 年第四季度进展（已完成）并上传佐证 PDF。
    zonghe = browser_session("zonghe")
    zonghe.nav("我的任务")
    assert TASK_TITLE in task_links(zonghe.page)
    with zonghe.page.expect_navigation():
        zonghe.page.locator("main table").get_by_role("link", name=TASK_TITLE, exact=True).click()
    zonghe.shot("task")
    with zonghe.page.expect_navigation():
        zonghe.page.get_by_role("link", name="报送本季度进展").click()
    expect(zonghe.page.locator("main h2").first).to_contain_text("2023年第4季度 · 综合股")
    zonghe.page.get_by_label("已完成", exact=True).check()
    zonghe.page.fill("#id_narrative", NARRATIVE)
    submit(zonghe.page, "报送")
    message(zonghe.page, "2023年第4季度进展已报送")
    pdf = evidence_pdf(chromium, tmp_path / "2023年统计公报.pdf")
    zonghe.page.set_input_files("#id_file", str(pdf))
    zonghe.page.fill("#id_note", "政府网站发布截图（PDF）")
    submit(zonghe.page, "添加")
    message(zonghe.page, "已添加佐证材料")
    expect(zonghe.page.get_by_role("link", name=pdf.name)).to_be_visible()
    zonghe.shot("report")
    report = ProgressReport.objects.get(task__title=TASK_TITLE, year=2023, quarter=4)
    assert report.section.name == "综合股" and report.narrative == NARRATIVE
    evidence = report.evidence.get()
    assert evidence.kind == Evidence.Kind.FILE and evidence.size == pdf.stat().st_size

    # (3) 办公室：审核队列中通过这份报送。
    office.nav("审核报送")
    row = office.page.locator("main table tbody tr").filter(has_text=TASK_TITLE)
    expect(row).to_contain_text("综合股")
    expect(row).to_contain_text("2023年第4季度")
    office.shot("review-queue")
    with office.page.expect_navigation():
        row.get_by_role("link", name="审核").click()
    expect(office.page.locator("#report-text")).to_have_text(NARRATIVE)
    office.page.get_by_label("通过", exact=True).check()
    office.page.fill("#id_comment", "材料齐全，同意。")
    office.shot("review")
    submit(office.page, "提交审核")
    message(office.page, "已通过")
    report.refresh_from_db()
    assert report.review_state == ReviewState.ACCEPTED
    assert Task.objects.get(pk=report.task_id).status == ReportStatus.DONE

    # (4) 局长：2023 年第四季度的季度看板，plotly 图表渲染成 SVG，没有任何控制台错误。
    director = browser_session("director")
    director.nav("季度看板")
    dashboard = director.page.locator("main form[method=get]")
    dashboard.locator("[name=plan]").select_option(str(plan.pk))
    dashboard.locator("[name=year]").fill("2023")
    dashboard.locator("[name=quarter]").select_option("4")
    submit(director.page, "查看")
    expect(director.page.locator("main h1")).to_contain_text("2023年第四季度")
    expect(director.page.locator(".chart .main-svg").first).to_be_visible()
    assert director.page.locator(".chart .main-svg").count() >= 3  # 按股室、按章节、热力图
    expect(director.page.locator(".kpi").nth(1)).to_contain_text("1")  # 已完成 1 项
    director.shot("dashboard")
    assert director.errors == []

    # (5) 局长：季度报告页下载 Word，文件名为报告标题，python-docx 能打开。
    director.nav("季度报告")
    select = director.page.locator("main form[method=get]")
    select.locator("[name=year]").fill("2023")
    select.locator("[name=quarter]").select_option("4")
    select.locator("[name=plan]").select_option(str(plan.pk))
    submit(director.page, "查看")
    expect(director.page.locator("main h2").first).to_contain_text("2023年第四季度政务公开工作情况")
    # 成文日期：像用户一样在日期框里另选一天（缺省为今天，见下一个测试）。
    director.page.fill("#id_signed_on", "2024-01-10")
    director.shot("report-page")
    with director.page.expect_download() as info:
        director.page.get_by_role("button", name="下载 Word（公文格式）").click()
    download = info.value
    title = director.page.locator("main h2").first.inner_text().strip()
    assert download.suggested_filename == f"{title}.docx"
    saved = tmp_path / download.suggested_filename
    download.save_as(str(saved))
    text = "\n".join(p.text for p in docx.Document(str(saved)).paragraphs)
    assert title in text and "一、总体情况" in text and "2024年1月10日" in text
    director.shot("report-downloaded")

    for session in (office, zonghe, director):
        assert session.errors == [], (session.username, session.errors)


def test_quarterly_report_form_shows_todays_date_as_signing_date(browser_session):
    plan = make_plan(year=2023, title="樟树市统计局2023年政务公开工作要点")
    director = browser_session("director")
    director.goto(f"/scoring/reports/quarterly/?year=2023&quarter=4&plan={plan.pk}")
    signed_on = director.page.locator("#id_signed_on")
    expect(signed_on).to_have_value(timezone.localdate().isoformat(), timeout=2_000)
