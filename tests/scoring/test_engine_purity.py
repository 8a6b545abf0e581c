"""引擎只用标准库：scoring/engine.py 及它引入的 scheme.py、engine_io.py 不引入 Django、pandas 或数据库模块。

在一个全新的 Python 进程里只导入引擎，再看 sys.modules：连带载入的第三方或项目模块都算违规。
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
before = set(sys.modules)
import scoring.engine
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_importing_the_engine_loads_only_the_standard_library_and_its_own_modules():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True, env={"PATH": ""}
    ).stdout
    loaded = json.loads(out)
    assert "scoring.engine" in loaded
    project = {m for m in loaded if m.split(".")[0] in {"scoring", "workplan", "config"}}
    assert project == {"scoring", "scoring.engine", "scoring.engine_io", "scoring.scheme"}
    stdlib = sys.stdlib_module_names
    foreign = [m for m in loaded if m.split(".")[0] not in stdlib and m not in project]
    assert foreign == []
