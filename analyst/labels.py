"""Every label the page shows, taken from the declarations that the extractor and the docs use.

Row and column names of tables 二/三/四 come from :data:`extractors.formats.TABLES` (the text printed on
the official forms, with the English meaning for tooltips); rule names from :data:`extractors.rules.RULES`
and :data:`warehouse.crosscheck.XR_RULES`; the trend measures from the ``analytics.t3_applications`` view
declaration.  Nothing here restates domain knowledge, so a label fixed there is fixed on the page.
"""

from __future__ import annotations

from typing import Any

from extractors.formats import SECTIONS, T4_COLS, T4_ROWS, TABLES
from extractors.rules import RULES
from warehouse.analytics import T3_APPLICATIONS
from warehouse.crosscheck import XR_RULES

#: Heatmap cell states, worst first (a cell with several reports shows the worst one).
CELL_STATES: tuple[tuple[str, str, str], ...] = (
    ("not_parsed", "未能解析", "Not parsed: the document could not be read as a report"),
    ("image_only", "表格为图片", "Image only: tables 三/四 published as images, no numbers"),
    ("malformed", "数据有误", "Malformed: an error finding (the arithmetic of the form fails)"),
    ("late", "逾期发布", "Late: published after the statutory deadline"),
    ("date_unknown", "已发布（日期不明）", "Published; publication date unknown"),
    ("on_time", "按时发布", "On time: published by the statutory deadline"),
    ("missing", "缺报", "Missing: no report although the deadline passed (after the issuer's first report)"),
)
STATE_RANK = {k: i for i, (k, _, _) in enumerate(CELL_STATES)}

ISSUER_TYPES: dict[str, tuple[str, str]] = {
    "county_government": ("县政府", "County government"),
    "government_office": ("政府办公室", "Government office"),
    "department": ("部门", "Department"),
    "township": ("乡镇", "Township"),
    "other": ("其他", "Other"),
}
ISSUER_ORDER = {k: i for i, k in enumerate(ISSUER_TYPES)}

REPORT_STATUS: dict[str, tuple[str, str]] = {
    "ok": ("正常", "OK"),
    "malformed": ("数据有误", "Malformed (error finding)"),
    "not_parsed": ("未能解析", "Not parsed"),
}

SEVERITIES: dict[str, tuple[str, str]] = {"error": ("错误", "Error"), "warning": ("警告", "Warning"), "info": ("提示", "Info")}

#: Columns of ``analytics.t3_applications`` the trends use, in this order.
T3_MEASURES = ("received", "granted", "partially_granted", "denied", "unable", "rejected", "other", "total_handled")


def _t3_row_en(key: str) -> str:
    for tables in TABLES.values():
        for label in tables["t3"].blocks[0].rows:
            if label.key == key:
                return label.en
    return ""


def t3_measures() -> list[dict[str, str]]:
    cols = {c.name: c for c in T3_APPLICATIONS.columns}
    key_of = {"received": "new_received"}
    out = []
    for m in T3_MEASURES:
        c = cols[m]
        en = _t3_row_en(key_of.get(m, m)) or c.description
        out.append({"key": m, "zh": c.label_zh, "en": en})
    return out


def rules() -> dict[str, dict[str, str]]:
    out = {rid: {"severity": r.severity, "zh": r.zh, "en": r.en} for rid, r in RULES.items()}
    for rid, severity, text in XR_RULES:
        out[rid] = {"severity": severity, "zh": text, "en": text}
    return out


def table_specs() -> dict[str, Any]:
    """The official tables per template, as the drill-down lays them out: blocks of rows × columns."""
    out: dict[str, Any] = {}
    for template, tables in TABLES.items():
        out[template] = {
            tkey: {
                "title": spec.title,
                "blocks": [
                    {"title": b.title,
                     "rows": [[r.key, r.label, r.en] for r in b.rows],
                     "cols": [[c.key, c.label, c.en] for c in b.cols]}
                    for b in spec.blocks
                ],
            }
            for tkey, spec in tables.items()
        }
    return out


def t4_labels() -> dict[str, list[list[str]]]:
    return {"rows": [[r.key, r.label, r.en] for r in T4_ROWS], "cols": [[c.key, c.label, c.en] for c in T4_COLS]}


def all_labels() -> dict[str, Any]:
    return {
        "states": [list(s) for s in CELL_STATES],
        "issuer_types": {k: list(v) for k, v in ISSUER_TYPES.items()},
        "report_status": {k: list(v) for k, v in REPORT_STATUS.items()},
        "severities": {k: list(v) for k, v in SEVERITIES.items()},
        "t3": t3_measures(),
        "t4": t4_labels(),
        "rules": rules(),
        "sections": [[s.number, s.heading, s.en] for s in SECTIONS],
        "tables": table_specs(),
    }
