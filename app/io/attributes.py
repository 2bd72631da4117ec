"""Validate and coerce feature attributes against a layer's catalog schema."""

import datetime as dt
import re
from typing import Any

import pandas as pd

from app.catalog import AttributeSpec, LayerSpec

_TRUE = {"true", "1", "yes", "y", "是", "●", "○", "√", "t"}
_FALSE = {"false", "0", "no", "n", "否", "", "f"}


def column_mapping(columns: list[str], spec: LayerSpec) -> tuple[dict[str, str], list[str]]:
    """Map source columns to catalog names: exact name, Chinese label, or a Shapefile's
    10-character truncation. Returns (source → catalog name, unmatched source columns)."""
    mapping: dict[str, str] = {}
    for col in columns:
        key = str(col).strip()
        for attr in spec.attributes:
            if (
                key.lower() == attr.name
                or key == attr.label_zh
                or (len(key) == 10 and attr.name.startswith(key.lower()))
            ):
                mapping.setdefault(col, attr.name)
                break
    unmatched = [str(c) for c in columns if c not in mapping]
    return mapping, unmatched


def _blank(value: Any) -> bool:
    """None, NaN, pandas' NaT (empty dates in files) or an empty string."""
    if value is None or isinstance(value, str) and not value.strip():
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and other non-scalars are not blank
        return False


def coerce(value: Any, attr: AttributeSpec) -> Any:
    """Convert a raw value to the attribute's type; ValueError says why it cannot."""
    if attr.type == "string":
        text = str(value).strip()
        return text[:-2] if isinstance(value, float) and text.endswith(".0") else text
    if attr.type == "integer":
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(number)
    if attr.type == "number":
        return float(value)
    if attr.type == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{value!r} is not a yes/no value (true/false, 是/否, 1/0)")
    if attr.type == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        text = str(value).strip().replace("/", "-").replace(".", "-")
        return dt.date.fromisoformat(text[:10]).isoformat()
    raise ValueError(f"unknown type {attr.type}")


def validate_record(raw: dict[str, Any], spec: LayerSpec) -> tuple[dict[str, Any], list[dict]]:
    """Return (clean attributes keyed by catalog name, list of {field, problem})."""
    clean: dict[str, Any] = {}
    problems: list[dict] = []
    for attr in spec.attributes:
        value = raw.get(attr.name)
        if _blank(value):
            if attr.required:
                problems.append({"field": attr.name, "problem": "required value is missing"})
            continue
        try:
            value = coerce(value, attr)
        except (ValueError, TypeError) as exc:
            problems.append({"field": attr.name, "problem": f"expected {attr.type}: {exc}"})
            continue
        if attr.allowed is not None and value not in attr.allowed:
            allowed = " / ".join(map(str, attr.allowed))
            problems.append({"field": attr.name, "problem": f"{value!r} is not one of: {allowed}"})
            continue
        if attr.pattern and not re.fullmatch(attr.pattern, str(value)):
            problems.append(
                {"field": attr.name, "problem": f"{value!r} does not match {attr.pattern}"}
            )
            continue
        clean[attr.name] = value
    return clean, problems
