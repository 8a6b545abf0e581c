"""评分细则文件（YAML）的写法：各层可写的键、每种规则用到的键与中文名、数值的位数与范围、代码的格式。

读取（rulefile.py）与写出（rulefile_dump.py）共用。纯数据，不碰 Django。
"""

from __future__ import annotations

import re
from decimal import Decimal

from scoring.engine import Kind, Mode

ZERO = Decimal(0)
ONE = Decimal(1)
MAX_PLACES = 4  # 与数据库字段（decimal_places=4, max_digits=10）一致
MAX_NUMBER = Decimal(10) ** 6
MAX_TEXT = 1_000_000

KIND_LABELS: dict[Kind, str] = {
    Kind.PER_OCCURRENCE: "按次扣分",
    Kind.CONDITION: "一次性条件扣分",
    Kind.WHOLE_ITEM: "此项不得分",
    Kind.PRESENCE: "有无（有得、无扣）",
    Kind.QUANTITY: "数量目标",
    Kind.PER_ITEM: "按项得分（封顶）",
    Kind.DISCRETIONARY: "酌情评分",
    Kind.BONUS: "加分",
    Kind.NOTICE: "通报批评倒扣",
    Kind.VETO: "一票否决",
    Kind.NOT_APPLICABLE: "不适用（剔除折算）",
}
MODE_LABELS: dict[Mode, str] = {Mode.DEDUCT: "扣分制", Mode.EARN: "得分制"}

TOP_KEYS = (
    "code", "name", "year", "unit_type", "version", "base_total", "bonus", "grades", "periods", "task_split",
    "indicators",
)  # fmt: skip
BONUS_KEYS = ("cap", "gate")
GRADE_KEYS = ("name", "min")
SPLIT_KEYS = ("lead", "responsible")
INDICATOR_KEYS = ("code", "name", "weight", "mode", "children", "rules")
RULE_KEYS = (
    "code", "kind", "label", "fact", "points", "cap", "absent_points", "target", "blank_points",
    "evidence_required", "measure",
)  # fmt: skip
COMMON_RULE_KEYS = ("code", "kind", "label", "fact")

# 每种规则用到的键（除 code/kind/label/fact 外）；写了别的键多半是抄错了类型，按错误处理。
KIND_KEYS: dict[Kind, tuple[str, ...]] = {
    Kind.PER_OCCURRENCE: ("points", "cap", "measure"),
    Kind.CONDITION: ("points", "cap"),
    Kind.WHOLE_ITEM: (),
    Kind.PRESENCE: ("points", "absent_points"),
    Kind.QUANTITY: ("target", "points", "absent_points", "blank_points", "measure"),
    Kind.PER_ITEM: ("points", "cap", "measure"),
    Kind.DISCRETIONARY: ("cap",),
    Kind.BONUS: ("points", "cap", "evidence_required"),
    Kind.NOTICE: ("points",),
    Kind.VETO: (),
    Kind.NOT_APPLICABLE: (),
}
# 必须写明且大于 0 的分值。
POSITIVE_POINTS = {Kind.PER_OCCURRENCE, Kind.CONDITION, Kind.PER_ITEM, Kind.BONUS, Kind.NOTICE}
# 可以挂在非末级指标上的规则（否决对整个单位生效；不适用剔除整棵子树）。
ANY_LEVEL_KINDS = {Kind.VETO, Kind.NOT_APPLICABLE}

CODE_RE = re.compile(r"^[^\s]+$")
RULESET_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
FACT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

TAG_INT = "tag:yaml.org,2002:int"
TAG_FLOAT = "tag:yaml.org,2002:float"
TAG_STR = "tag:yaml.org,2002:str"
TAG_BOOL = "tag:yaml.org,2002:bool"
TAG_NULL = "tag:yaml.org,2002:null"
