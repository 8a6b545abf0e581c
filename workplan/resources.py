"""django-import-export 资源：工作任务表，表头与任务表格的导出格式（workplan.sheet_format）一致。

一个资源实例只对应一个工作计划（构造时传入 plan），以任务编号对应。股室列用自定义 widget 解析
（简繁、别名、集合称谓），保存任务后同步分工；导出预取分工，不产生 N+1 查询。
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Max, QuerySet
from import_export import fields, resources, widgets
from import_export.forms import ConfirmImportForm, ImportForm

from workplan import sheet_export, sheet_format
from workplan.exporting import neutralize
from workplan.models import AssignmentRole, Task, TaskAssignment, WorkPlan
from workplan.sections import SectionResolver

H = {c.key: c.header for c in sheet_format.COLUMNS}


class TextWidget(widgets.CharWidget):
    """文本：去首尾空白，去掉导出时防公式注入加的单引号；必填列为空时报错。"""

    def __init__(self, *, required: bool = False, max_length: int | None = None) -> None:
        super().__init__(coerce_to_string=True, allow_blank=True)
        self.required = required
        self.max_length = max_length

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        text = sheet_format.clean_text(value)
        if self.required and not text:
            raise ValueError("不能为空")
        if self.max_length and len(text) > self.max_length:
            raise ValueError(f"内容过长（{len(text)} 字），最多 {self.max_length} 字")
        return text


class DueDateWidget(widgets.Widget):
    """截止日期：与回导相同的日期写法；导出为日期（xlsx 中为日期单元格，csv 中为 2023-06-30）。"""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        return sheet_format.parse_date(value)

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> Any:
        if value is None:
            return ""
        return value if kwargs.get("force_native_type") else value.isoformat()


class RecurrenceWidget(widgets.Widget):
    """周期：中文标签 ↔ 存储值。"""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        return sheet_format.parse_recurrence(value)

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return str(sheet_format.RECURRENCE_LABELS.get(value or "", value))


class SectionNamesWidget(widgets.Widget):
    """一格中的股室名称（以“、”分隔）→ 股室列表；未知股室报错并给出相近的名称。

    解析器由资源在导入开始时载入一次（3 条查询），之后逐行在内存中匹配。
    """

    def __init__(self) -> None:
        super().__init__(coerce_to_string=True)
        self.resolver: SectionResolver | None = None

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> list[sheet_format.SectionPick]:
        if self.resolver is None:
            self.resolver = SectionResolver.load()
        picks, problems = sheet_format.resolve_section_names(
            sheet_format.clean_text(value), self.resolver.resolve
        )
        if problems:
            raise ValueError("；".join(problems))
        return picks

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return value or ""


class TaskResource(resources.ModelResource):
    """一个工作计划的任务表。`TaskResource(plan=plan)`；以任务编号（计划内唯一）对应已有任务，编号不存在则新增。"""

    code = fields.Field(
        attribute="code", column_name=H["code"], widget=TextWidget(required=True, max_length=32)
    )
    number_path = fields.Field(
        attribute="number_path", column_name=H["number_path"], widget=TextWidget(max_length=64)
    )
    title = fields.Field(
        attribute="title", column_name=H["title"], widget=TextWidget(required=True, max_length=255)
    )
    body = fields.Field(attribute="body", column_name=H["body"], widget=TextWidget())
    leads = fields.Field(attribute="sheet_leads", column_name=H["leads"], widget=SectionNamesWidget())
    responsibles = fields.Field(
        attribute="sheet_responsibles", column_name=H["responsibles"], widget=SectionNamesWidget()
    )
    deadline_text = fields.Field(
        attribute="deadline_text", column_name=H["deadline_text"], widget=TextWidget(max_length=128)
    )
    due_date = fields.Field(attribute="due_date", column_name=H["due_date"], widget=DueDateWidget())
    recurrence = fields.Field(attribute="recurrence", column_name=H["recurrence"], widget=RecurrenceWidget())

    class Meta:
        model = Task
        fields = (
            "code",
            "number_path",
            "title",
            "body",
            "leads",
            "responsibles",
            "deadline_text",
            "due_date",
            "recurrence",
        )
        export_order = fields
        import_id_fields = ("code",)

    def __init__(self, plan: WorkPlan | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self._next_position: int | None = None

    # ------------------------------------------------------------ import

    def get_queryset(self) -> QuerySet[Task]:
        if self.plan is None:
            return Task.objects.none()
        return Task.objects.filter(plan=self.plan)

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        if self.plan is None:
            raise ValueError("请先选择要导入到哪个工作计划")
        # 表头按中文文字认（繁体、别名也行），统一改成标准表头。
        if dataset.headers:
            dataset.headers = [
                H[key] if (key := sheet_format.header_column(str(h or ""))) else h for h in dataset.headers
            ]
        resolver = SectionResolver.load()
        for name in ("leads", "responsibles"):
            self.fields[name].widget.resolver = resolver

    def init_instance(self, row: Any = None) -> Task:
        if self._next_position is None:
            top = Task.objects.filter(plan=self.plan).aggregate(top=Max("position"))["top"]
            self._next_position = top or 0
        self._next_position += 1
        return Task(plan=self.plan, position=self._next_position)

    def after_init_instance(self, instance: Task, new: bool, row: Any, **kwargs: Any) -> None:
        instance.sheet_is_new = new  # type: ignore[attr-defined]

    def import_instance(self, instance: Task, row: Any, **kwargs: Any) -> None:
        """逐列赋值；出错时以中文表头标明是哪一列。"""
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            by_attribute = {f.attribute: f.column_name for f in self.fields.values()}
            raise ValidationError({by_attribute.get(k, k): v for k, v in exc.error_dict.items()}) from None

    def after_save_instance(self, instance: Task, row: Any, **kwargs: Any) -> None:
        """保存任务后同步分工：只处理文件中出现的股室列；只删除被去掉的、只新增新加的。"""
        if instance.pk is None:  # dry run without transactions: nothing was saved
            return
        wanted: dict[str, list[sheet_format.SectionPick]] = {}
        for attr, role in (
            ("sheet_leads", AssignmentRole.LEAD),
            ("sheet_responsibles", AssignmentRole.RESPONSIBLE),
        ):
            picks = getattr(instance, attr, None)
            if picks is not None:
                wanted[role] = picks
        if AssignmentRole.LEAD in wanted and AssignmentRole.RESPONSIBLE in wanted:
            lead_ids = {p.section_id for p in wanted[AssignmentRole.LEAD]}
            wanted[AssignmentRole.RESPONSIBLE] = [
                p for p in wanted[AssignmentRole.RESPONSIBLE] if p.section_id not in lead_ids
            ]
        if not wanted:
            return
        existing: dict[tuple[int, str], int] = {}
        if not getattr(instance, "sheet_is_new", False):  # a task created just now has no assignments yet
            rows = instance.assignments.filter(role__in=list(wanted)).values_list("pk", "section_id", "role")
            existing = {(sid, role): pk for pk, sid, role in rows}
        keep = {(p.section_id, role) for role, picks in wanted.items() for p in picks}
        stale = [pk for key, pk in existing.items() if key not in keep]
        if stale:
            TaskAssignment.objects.filter(pk__in=stale).delete()
        TaskAssignment.objects.bulk_create(
            [
                TaskAssignment(
                    task=instance,
                    section_id=p.section_id,
                    role=role,
                    via_group_id=p.group_id,
                    source_text=p.written,
                )
                for role, picks in wanted.items()
                for p in picks
                if (p.section_id, role) not in existing
            ]
        )

    # ------------------------------------------------------------ export

    def get_export_queryset(self) -> QuerySet[Task]:
        tasks = Task.objects.actionable()
        if self.plan is not None:
            return tasks.filter(plan=self.plan).order_by("position", "pk")
        return tasks.order_by("plan", "position")

    def export(self, queryset: Any = None, **kwargs: Any) -> Any:
        if queryset is None:
            queryset = self.get_export_queryset()
        if isinstance(queryset, QuerySet):
            queryset = sheet_export.with_export_prefetch(queryset)
        return super().export(queryset=queryset, **kwargs)

    def iter_queryset(self, queryset: Any) -> Iterator[Task]:
        # The default pages through prefetching querysets 100 rows at a time (2 queries per page);
        # a plan's tasks fit in memory, so fetch them with one query plus one prefetch.
        yield from queryset

    def dehydrate_leads(self, task: Task) -> str:
        return sheet_export.section_names(task, AssignmentRole.LEAD)

    def dehydrate_responsibles(self, task: Task) -> str:
        return sheet_export.section_names(task, AssignmentRole.RESPONSIBLE)

    def export_field(self, field: fields.Field, instance: Task, **kwargs: Any) -> Any:
        """文本以 = + - @ 等开头时加单引号（防公式注入）；日期保持为日期。"""
        return neutralize(super().export_field(field, instance, **kwargs))


class TaskImportForm(ImportForm):
    """管理后台的导入表单：多一个“导入到哪个工作计划”。"""

    plan = forms.ModelChoiceField(label="导入到工作计划", queryset=WorkPlan.objects.all())


class TaskConfirmImportForm(ConfirmImportForm):
    """管理后台的确认表单：把预览时选的工作计划带到确认这一步。"""

    plan = forms.ModelChoiceField(queryset=WorkPlan.objects.all(), widget=forms.HiddenInput)
