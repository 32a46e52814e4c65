"""Loading spec/vectors for the tests: from the generator and from the committed JSON."""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

SPEC_VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors"


@functools.cache
def generated(generator: str = "gen_records") -> dict[str, Any]:
    """Everything ``spec/vectors/<generator>.py`` generates, by file name."""
    spec = importlib.util.spec_from_file_location(generator, SPEC_VECTORS / f"{generator}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    files: dict[str, Any] = module.generate()
    return files


def vector_cases(file_name: str, generator: str = "gen_records") -> list[Any]:
    """Cases from the generator and, once committed, from the JSON file too."""
    content = generated(generator)[file_name]
    params = [pytest.param(case, id=f"gen-{case['name']}") for case in content["cases"]]
    committed = SPEC_VECTORS / file_name
    if committed.exists():
        on_disk = json.loads(committed.read_text(encoding="utf-8"))
        assert on_disk == json.loads(json.dumps(content)), f"{file_name} is stale"
        params += [pytest.param(case, id=f"file-{case['name']}") for case in on_disk["cases"]]
    return params
