"""股室名称解析：把文件中的写法（简繁、全半角、别名、集合称谓）对应到股室或股室组。"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from workplan.models import Section, SectionAlias, SectionGroup
from workplan.parsers.text import match_key


@dataclass(frozen=True)
class Resolution:
    """一个写法的解析结果。kind: section（股室）/ group（集合称谓）/ unknown（未知，需办公室确认）。"""

    written: str
    kind: str
    section_id: int | None = None
    section_name: str = ""
    group_id: int | None = None
    group_name: str = ""
    member_ids: tuple[int, ...] = ()
    suggestion: str = ""


@dataclass
class SectionResolver:
    """一次性读入全部股室、别名和股室组（3 条查询），之后在内存中匹配。"""

    sections: dict[str, tuple[int, str]] = field(default_factory=dict)
    groups: dict[str, tuple[int, str, tuple[int, ...]]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> SectionResolver:
        resolver = cls()
        for pk, name in Section.objects.values_list("pk", "name"):
            resolver.sections[match_key(name)] = (pk, name)
        for name, pk, section_name in SectionAlias.objects.values_list("name", "section_id", "section__name"):
            resolver.sections.setdefault(match_key(name), (pk, section_name))
        members: dict[int, list[int]] = {}
        for group_id, section_id in SectionGroup.members.through.objects.filter(
            section__is_active=True
        ).values_list("sectiongroup_id", "section_id"):
            members.setdefault(group_id, []).append(section_id)
        for pk, name in SectionGroup.objects.values_list("pk", "name"):
            resolver.groups[match_key(name)] = (pk, name, tuple(members.get(pk, ())))
        return resolver

    def resolve(self, written: str) -> Resolution:
        key = match_key(written)
        if key in self.sections:
            pk, name = self.sections[key]
            return Resolution(written=written, kind="section", section_id=pk, section_name=name)
        if key in self.groups:
            pk, name, member_ids = self.groups[key]
            return Resolution(written=written, kind="group", group_id=pk, group_name=name, member_ids=member_ids)
        close = difflib.get_close_matches(key, list(self.sections), n=1, cutoff=0.6)
        suggestion = self.sections[close[0]][1] if close else ""
        return Resolution(written=written, kind="unknown", suggestion=suggestion)
