"""按编号多选的表单字段（workplan.fields）：1 … 2**63-1 以外的编号是表单错误“选择的项目不存在”，不查数据库；
项目中每个多选模型对象的表单字段都是这个字段。"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from django import forms
from django.contrib import admin

import scoring
import workplan
from tests.factories import make_user
from workplan.fields import MAX_ID, ModelMultipleIdChoiceField, is_id
from workplan.models import Section


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("42", True),
        (" 7 ", True),
        (str(MAX_ID), True),
        (7, True),
        (MAX_ID, True),
        (str(MAX_ID + 1), False),
        (str(10**30), False),
        ("9" * 5000, False),  # beyond int()'s 4300-digit limit: still a plain False
        (MAX_ID + 1, False),
        ("0", False),
        (0, False),
        ("-1", False),
        ("+1", False),
        ("1.5", False),
        ("1e3", False),
        ("٣", False),  # an Arabic-Indic digit: int() would accept it
        ("1_000", False),
        ("", False),
        ("1\x00", False),
        (True, False),
        (None, False),
        (1.0, False),
    ],
)
def test_is_id_accepts_only_integers_from_one_to_two_to_the_63_minus_one(value, expected):
    assert is_id(value) is expected


@pytest.fixture
def field():
    return ModelMultipleIdChoiceField(queryset=Section.objects.filter(is_active=True), required=False)


def test_valid_ids_clean_to_the_chosen_rows(db, field):
    a, b = Section.objects.create(name="甲股"), Section.objects.create(name="乙股")
    assert set(field.clean([str(a.pk), str(b.pk)])) == {a, b}


@pytest.mark.parametrize("value", [str(2**63), str(-(2**63) - 1), str(10**30), "0", "abc"])
def test_an_id_out_of_range_is_refused_without_a_query(db, field, value, django_assert_num_queries):
    section = Section.objects.create(name="甲股")
    with django_assert_num_queries(0), pytest.raises(forms.ValidationError) as caught:
        field.clean([str(section.pk), value])
    assert caught.value.messages == ["选择的项目不存在"]


def test_an_unknown_but_valid_id_is_still_the_usual_invalid_choice(db, field):
    with pytest.raises(forms.ValidationError) as caught:
        field.clean([str(MAX_ID)])
    assert caught.value.code == "invalid_choice"


def test_empty_and_required_behave_as_in_django(db):
    optional = ModelMultipleIdChoiceField(queryset=Section.objects.all(), required=False)
    assert list(optional.clean([])) == []
    required = ModelMultipleIdChoiceField(queryset=Section.objects.all())
    with pytest.raises(forms.ValidationError) as caught:
        required.clean([])
    assert caught.value.code == "required"


def _project_forms() -> list[type[forms.BaseForm]]:
    found = []
    for package in (workplan, scoring):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            # Admin forms are rebuilt per request by their ModelAdmin: checked by the next test.
            if ".migrations" in info.name or ".management" in info.name or info.name.endswith(".admin"):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                    found.append(cls)
    return found


def _plain(form_fields: dict[str, forms.Field]) -> list[str]:
    return [
        name
        for name, f in form_fields.items()
        if isinstance(f, forms.ModelMultipleChoiceField) and not isinstance(f, ModelMultipleIdChoiceField)
    ]


def test_every_multiple_model_choice_field_in_the_project_forms_checks_its_ids():
    forms_found = _project_forms()
    assert any(cls.__name__ == "AssignmentForm" for cls in forms_found)
    plain = [
        f"{cls.__module__}.{cls.__name__}.{name}" for cls in forms_found for name in _plain(cls.base_fields)
    ]
    assert plain == [], "请改用 workplan.fields.ModelMultipleIdChoiceField"


def test_every_many_to_many_field_in_the_admin_checks_its_ids(db, rf):
    request = rf.get("/")
    request.user = make_user("root", is_superuser=True, is_staff=True)
    plain = []
    for model, model_admin in admin.site._registry.items():
        if any(f.editable for f in model._meta.many_to_many) and model_admin.has_change_permission(request):
            form = model_admin.get_form(request, obj=None, change=True)
            plain += [f"{model._meta.label}.{name}" for name in _plain(form.base_fields)]
    assert plain == [], "请给这个 ModelAdmin 加上 workplan.admin.IdCheckedManyToManyMixin"
