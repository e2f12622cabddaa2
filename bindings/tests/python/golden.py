"""Shared loader for the golden vectors in tests/golden/<area>.json (the same files
the Rust tests in core/tests/golden_*.rs and the Kotlin binding tests run)."""

import json
import os
import pathlib


def golden_dir():
    d = os.environ.get("POSYANDU_GOLDEN_DIR", "").strip()
    if d:
        return pathlib.Path(d)
    return pathlib.Path(__file__).resolve().parents[3] / "tests" / "golden"


def golden_cases(area):
    with open(golden_dir() / f"{area}.json", encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    if not cases:
        raise AssertionError(f"{area}.json has no cases")
    return cases
