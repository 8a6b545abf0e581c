"""初始数据：按 fixtures/sections.json 建立股室、别名与集合称谓（幂等，不覆盖办公室的修改）。"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import transaction

from workplan.models import Section, SectionAlias, SectionGroup


@transaction.atomic
def sections_seed(path: Path) -> dict[str, int]:
    """只新增缺少的股室、别名和股室组；已存在的（按名称）保持原样。返回新增数量。"""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    created = {"sections": 0, "aliases": 0, "groups": 0}
    by_name: dict[str, Section] = {s.name: s for s in Section.objects.all()}
    for order, item in enumerate(data.get("sections", []), start=1):
        section = by_name.get(item["name"])
        if section is None:
            section = Section.objects.create(name=item["name"], sort_order=order * 10)
            by_name[section.name] = section
            created["sections"] += 1
        for alias in item.get("aliases", []):
            _, made = SectionAlias.objects.get_or_create(name=alias, defaults={"section": section})
            created["aliases"] += int(made)
    for item in data.get("groups", []):
        group, made = SectionGroup.objects.get_or_create(
            name=item["name"], defaults={"office_selects": bool(item.get("office_selects"))}
        )
        if made:
            members = item.get("members", [])
            group.members.set(by_name.values() if members == "*" else [by_name[n] for n in members])
            created["groups"] += 1
    return created
