"""The README's configuration table must name every variable the settings read."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_environment_variable_is_documented():
    source = "\n".join(p.read_text() for p in (ROOT / "chatcore" / "settings").glob("*.py"))
    names = set(re.findall(r"""(?:environ\.get|env\.\w+)\(\s*["']([A-Z][A-Z0-9_]+)["']""", source))
    names |= {f"{n}_FILE" for n in re.findall(r"""env\.secret\(\s*["']([A-Z][A-Z0-9_]+)["']""", source)}
    assert len(names) > 30
    readme = (ROOT / "README.md").read_text()
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing, f"README does not document: {missing}"
