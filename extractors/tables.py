"""Tables: recognise which official table a grid is, merge split parts, read canonical facts.

Labels are matched on normalised text against :mod:`extractors.formats`; values are read with
:mod:`extractors.numbers`.  Row labels are built by joining the distinct non-value cells of a grid
row, so the rowspan-expanded group cell (（三）不予公开 …) is part of each of its rows' labels.

* Table 三 rows: the row's value cells are the cells after its last label cell; trailing then
  leading blanks are trimmed down to the seven official columns, which are then taken in order.
  This reads rows that lost their group cell and shifted left (the seed's "5.要求行政机关确认…")
  and text tables whose header is not aligned.  With fewer than seven value cells the header's
  column positions are used instead.  Row keys come from the rows present: a table with the
  three 2021 （六） rows gives ``other_no_correction/other_no_fee/other_misc``, one with a single
  （六）其他处理 row gives ``other`` (hybrid reports), whatever the template votes say.
* Table 四: each value cell's key comes from its header path (行政复议 / 未经复议直接起诉 /
  复议后起诉 × 结果维持 … 总计) after span expansion, the path being read from the header rows
  above that data row (a table wrapped over two row groups has a header band per group); if the
  path does not give complete blocks (text tables have unaligned headers) a 15-value row is read in
  the official order.  Halves of a table 四 split over two ``<table>``s are merged.
* Table 二: per block (第二十条第（N）项), columns come from the block's header labels: by drawn geometry when
  the reader recorded it (a misaligned Word grid), in reading order for the loose rows of a line table, else
  by grid position; a row with one of the block's row labels is a data row even when all blank (zeros).
  A table 二 published as one ``<table>`` per block is read block by block.
  A t2 table right after another continues the block left open by it (a PDF page break after a
  block's label row).
* Rows of a line table that printed fewer cells than the form has (blanks that left no trace, numbers run
  together) are decoded with the form's identities by :mod:`extractors.glued`; each gets a note
  (``cells.decoded`` / ``cells.ambiguous``) in :attr:`TableReading.notes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from extractors.document import RawTable
from extractors.formats import T3_OTHER_2019, T4_COLS, TABLES, Label
from extractors.formats import normalise_label as _normalise_label
from extractors.glued import Decoded, Identity, Pending, Piece, resolve
from extractors.model import Fact, Table
from extractors.numbers import header_unit, parse_cell, to_10k_yuan

Grid = list[list[str | None]]


@lru_cache(maxsize=65536)
def normalise_label(text: str) -> str:
    return _normalise_label(text)

T3_ROWS: tuple[Label, ...] = tuple(
    list(TABLES["2021"]["t3"].blocks[0].rows[:-2]) + [T3_OTHER_2019] + list(TABLES["2021"]["t3"].blocks[0].rows[-2:])
)
T3_COLS: tuple[Label, ...] = TABLES["2021"]["t3"].blocks[0].cols
T3_COL_KEYS = [c.key for c in T3_COLS]
_T3_OTHER_2021_SET = frozenset(x for x in T3_ROWS if x.key in ("other_no_correction", "other_no_fee", "other_misc"))
T4_ROW_ORDER = ("review", "litigation_direct", "litigation_after_review")
T4_COL_ORDER = tuple(c.key for c in T4_COLS)

_GROUPS = (
    (re.compile(r"\(三\)不予公开|^不予公开"), "denied"),
    (re.compile(r"\(四\)无法提供|^无法提供"), "unable"),
    (re.compile(r"\(五\)不予处理|^不予处理"), "rejected"),
    (re.compile(r"\(六\)其他处理|^其他处理"), "other"),
)
_META_LABELS = ("索引号", "发布机构", "公开日期", "发布日期", "成文日期", "文号", "主题分类", "发文机关", "信息来源",
                "公开方式", "公开范围", "所属机构", "信息分类", "生成日期", "有效性", "时效", "体裁分类", "组配分类", "关键词", "发文字号", "公开时限")
#: Table 四's outcome columns; an old (pre-2019) 统计表 has 行政复议/行政诉讼 rows and "维持具体行政行为数"
#: but not two of these.
_T4_OUTCOMES = (r"维持", r"纠正", r"其他结果|其它结果", r"审结", r"总计|合计")
_T3_CORE = (r"本年新收", r"上年结转", r"予以公开", r"结转下年")
_T3_PART = (r"国家秘密", r"不掌握", r"信访", r"重复申请", r"其他处理", r"结转下年", r"另行制作", r"过程性", r"\(七\)总计")


def _grid_text(grid: Grid) -> str:
    # not memoised: a whole table's text (its numbers included) is new on every page, and caching it kept ~50 MB of
    # such texts alive over a run of 10,000 pages (python -m bench.memory); labels and cells repeat and stay cached
    return _normalise_label("".join(c for row in grid for c in row if c))


def classify(grid: Grid, t: str | None = None) -> str | None:
    """Kind of a physical table: t2 | t3 | t3_part | t4 | meta | None."""
    t = _grid_text(grid) if t is None else t
    if not t:
        return None
    t3_hits = sum(1 for p in _T3_CORE if re.search(p, t))
    if t3_hits >= 2 and ("自然人" in t or "申请" in t):
        return "t3"
    if sum(1 for p in _T3_PART if re.search(p, t)) >= 2 and "第二十条" not in t:
        return "t3_part"
    if "行政复议" in t and ("行政诉讼" in t or "直接起诉" in t) and sum(1 for p in _T4_OUTCOMES if re.search(p, t)) >= 2:
        return "t4"
    if ("行政复议" in t or re.search(r"行政诉讼|直接起诉|复议后起诉", t)) and sum(1 for p in _T4_OUTCOMES if re.search(p, t)) >= 3 \
            and not re.search(r"第二十条|本年新收|申请人", t):
        # one half of a table 四 split over two tables (行政复议 | 行政诉讼), merged with its neighbour
        return "t4_part"
    if "第二十条" in t or ("信息内容" in t and re.search(r"规章|行政许可|行政处罚|行政事业性收费|规范性文件", t)):
        return "t2"
    labels = {normalise_label(c).rstrip(":：") for row in grid for c in row if c}
    meta_hits = sum(1 for lab in _META_LABELS if lab in labels or any(x.startswith(lab + ":") for x in labels))
    if meta_hits >= 2:
        return "meta"
    return None


@dataclass(slots=True)
class TableReading:
    tables: list[Table] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    #: normalised text of each official table (t2/t3/t4), for template votes
    texts: list[str] = field(default_factory=list)
    #: ``(rule, message)`` about cells the reading had to decode (``cells.decoded`` / ``cells.ambiguous``)
    notes: list[tuple[str, str]] = field(default_factory=list)


def _fact(table: str, row: str, col: str, raw: str | None, ti: int, r: int, c: int, money: bool = False,
          unit: str | None = None) -> Fact:
    raw = raw or ""
    value, kind, cell_unit = parse_cell(raw)
    if money and value is not None:
        value = to_10k_yuan(value, cell_unit or unit)
    return Fact(table, row, col, value, raw, ti, r, c, implicit_zero=(kind == "blank"))


def _split_row(row: list[str | None]) -> tuple[str, int]:
    """(normalised label, index of last label cell) of a grid row; -1 when there is no label."""
    last = -1
    for j, cell in enumerate(row):
        if cell and parse_cell(cell)[1] == "text":
            last = j
    if last < 0:
        return "", -1
    parts: list[str] = []
    for cell in row[: last + 1]:
        if cell and (not parts or parts[-1] != cell):
            parts.append(cell)
    return normalise_label("".join(parts)), last


_COMPILED: dict[str, re.Pattern[str]] = {}


def _rx(lab: Label) -> re.Pattern[str]:
    key = lab.key + "\x00" + "\x00".join(lab.patterns)
    rx = _COMPILED.get(key)
    if rx is None:
        rx = _COMPILED[key] = re.compile("|".join(f"(?:{p})" for p in lab.patterns))
    return rx


_MATCH_CACHE: dict[tuple[int, str], Label | None] = {}
_KEEP_ALIVE: dict[int, tuple[Label, ...]] = {}


def _match(labels: tuple[Label, ...], text: str) -> Label | None:
    """First label whose patterns match; memoised per (label set, text) — labels repeat across pages."""
    key = (id(labels), text)
    try:
        return _MATCH_CACHE[key]
    except KeyError:
        pass
    found = None
    for lab in labels:
        if _rx(lab).search(text):
            found = lab
            break
    if len(_MATCH_CACHE) > 50_000:
        _MATCH_CACHE.clear()
    _KEEP_ALIVE[id(labels)] = labels  # ids stay unique while the tuple lives
    _MATCH_CACHE[key] = found
    return found


def _header_cols(grid: Grid, labels: tuple[Label, ...], upto: int) -> dict[str, int]:
    """Grid column of each label, from the deepest non-empty header cell of each column."""
    cols: dict[str, int] = {}
    width = len(grid[0]) if grid else 0
    for j in range(width):
        deepest = ""
        for r in range(min(upto, len(grid))):
            cell = grid[r][j]
            if cell:
                deepest = cell
        if not deepest:
            continue
        lab = _match(labels, normalise_label(deepest))
        if lab and lab.key not in cols:
            cols[lab.key] = j
    return cols


# ------------------------------------------------------------------------------------- table 三


def _label_before_values(row: list[str | None], hfirst: int, label: str, last: int) -> tuple[str, int]:
    """A text cell under the value columns ("见说明", a typo) must not become part of the label: the
    values would shift left by one and be read silently wrong.  When every text cell from the first
    value column on is unknown (no row or group label) and the cells before it hold the label, the
    label ends there and the odd cell is read as an (unreadable) value."""
    for j in range(hfirst, last + 1):
        cell = row[j]
        if cell and parse_cell(cell)[1] == "text":
            norm = normalise_label(cell)
            if _match(T3_ROWS, norm) is not None or any(p.search(norm) for p, _ in _GROUPS):
                return label, last
    pre_label, pre_last = _split_row(row[:hfirst])
    if pre_last < 0:
        return label, last
    return pre_label, pre_last


def _where(raw: RawTable, r: int) -> str:
    """Provenance of a grid row for messages: its line/page when the reader kept it, else the grid row."""
    if raw.row_locs and r < len(raw.row_locs) and raw.row_locs[r]:
        return raw.row_locs[r]
    return f"table {raw.index} grid row {r}"


def _pieces(row: list[str | None], positions: list[int]) -> tuple[Piece, ...]:
    return tuple(Piece(row[j] or "", j) for j in positions)


_T3_ROW_SUM = (((0, 1, 2, 3, 4, 5), 6),)


def read_t3(parts: list[tuple[int, Grid]] | list[RawTable], pending: list[Pending] | None = None) -> list[Fact]:
    """Facts of table 三 (its parts merged).  Rows of a line table (``RawTable.loose``) that printed fewer
    than seven value cells are appended to ``pending`` for :func:`extractors.glued.resolve` instead."""
    facts: list[Fact] = []
    seen: set[str] = set()
    parts = [p if isinstance(p, RawTable) else RawTable(p[0], p[1]) for p in parts]
    header: dict[str, int] = {}
    # Some portals print each group label (（三）不予公开 … （六）其他处理) as a row of its own with blank value
    # cells.  For （六） that row matches the 2019 single "other" row; when the 2021 sub-rows follow it is a
    # group heading, not a row of zeros.
    splits = [[_split_row(row) for row in part.grid] for part in parts]  # each row's label, once
    split_other = any(_match(T3_ROWS, label) in _T3_OTHER_2021_SET for rows in splits for label, _ in rows)
    for part, part_splits in zip(parts, splits):
        ti, grid, loose = part.index, part.grid, part.loose or ()
        first_data = next((r for r, row in enumerate(grid) if part_splits[r][1] >= 0 and
                           any(c is not None and c != "" and parse_cell(c)[1] == "number" for c in row)), len(grid))
        part_header = _header_cols(grid, T3_COLS, first_data)
        if len(part_header) >= 4:
            header = part_header
        group: str | None = None
        hfirst = min(header.values()) if len(header) == 7 else -1
        for r, row in enumerate(grid):
            label, last = part_splits[r]
            if last < 0:
                continue
            if 0 < hfirst <= last:
                label, last = _label_before_values(row, hfirst, label, last)
            for pat, g in _GROUPS:
                if pat.search(label):
                    group = g
                    break
            lab = _match(T3_ROWS, label)
            if lab is None and group == "other" and re.search(r"^\(?\d\)?[.、．,，]?其[他它]", label):
                lab = next(x for x in T3_ROWS if x.key == "other_misc")
            if lab is None:
                continue
            if lab.group is None:
                group = None
            positions = [j for j in range(last + 1, len(row)) if row[j] is not None and row[j] != ""] if r in loose else \
                [j for j in range(last + 1, len(row)) if row[j] is not None]
            if not positions and r not in loose:
                continue
            if lab.key == "other" and split_other and all(row[j] == "" for j in positions):
                continue
            while len(positions) > 7 and row[positions[-1]] == "":
                positions.pop()
            while len(positions) > 7 and row[positions[0]] == "":
                positions.pop(0)
            if r in loose and len(positions) < 7 and pending is not None:
                # a text row that lost its blanks or ran its cells together ("230 000023"): decoded with the
                # table's identities once every row is read
                if lab.key not in seen:
                    seen.add(lab.key)
                    pending.append(Pending(tuple(("t3", lab.key, c) for c in T3_COL_KEYS), _T3_ROW_SUM,
                                           _pieces(row, positions), ti, r, _where(part, r)))
                continue
            if len(positions) == 7:
                mapping = list(zip(T3_COL_KEYS, positions))
            elif hfirst > 0 and len(positions) == max(header.values()) - hfirst + 1:
                # as many value cells as the header has value columns (an extra 小计/备注 column), but not
                # under them: the row lost a label cell and shifted left; align it by its order
                mapping = [(k, positions[j - hfirst]) for k, j in header.items()]
            elif header and all(header.get(k, -1) > last for k in header):
                mapping = [(k, j) for k, j in header.items() if row[j] is not None]
            else:
                mapping = list(zip(T3_COL_KEYS, positions[:7]))
            if lab.key in seen:
                continue
            seen.add(lab.key)
            for col, j in mapping:
                facts.append(_fact("t3", lab.key, col, row[j], ti, r, j))
    return facts


# ------------------------------------------------------------------------------------- table 四


def _t4_row_key(path: str) -> str | None:
    if re.search(r"复议后", path):
        return "litigation_after_review"
    if re.search(r"未经复议|直接起诉", path):
        return "litigation_direct"
    if "行政复议" in path:
        return "review"
    return None


def _t4_col_key(path: str) -> str | None:
    if re.search(r"未审结|尚未", path):
        return "pending"
    if re.search(r"总计|合计|小计", path):
        return "total"
    if "维持" in path:
        return "upheld"
    if "纠正" in path:
        return "corrected"
    if re.search(r"其他|其它", path):
        return "other"
    return None


_T4_BLOCK_SUMS = tuple(((5 * b, 5 * b + 1, 5 * b + 2, 5 * b + 3), 5 * b + 4) for b in range(3))


def read_t4(ti: int, grid: Grid, pending: list[Pending] | None = None, part: RawTable | None = None) -> list[Fact]:
    """Facts of table 四.  A row of a line table that printed fewer cells than the form has (15 for the
    one-row layout, 5 for a labelled row) is appended to ``pending`` instead."""
    loose = (part.loose or ()) if part is not None else ()
    data_rows = [r for r, row in enumerate(grid)
                 if sum(1 for c in row if c is not None and parse_cell(c)[1] == "number") >= 3
                 or (r in loose and any(c and parse_cell(c)[1] == "number" for c in row))]
    if not data_rows:
        data_rows = [r for r, row in enumerate(grid) if row and all(c is None or parse_cell(c)[1] != "text" for c in row)]
    if not data_rows:
        return []
    head_end = data_rows[0]
    facts: list[Fact] = []
    prev = -1
    for r in data_rows:
        row = grid[r]
        label, last = _split_row(row)
        # 1. header paths.  The header band of a data row is the rows since the previous data row: a
        # table 四 wrapped over two row groups (行政复议 + 未经复议 on top, 复议后起诉 below, each with its own
        # header rows) keys each group by its own band; a data row right after another one (transposed
        # layout) uses the table's top header.
        band = range(prev + 1, r) if r - prev > 1 else range(0, head_end)
        prev = r
        keyed: dict[tuple[str, str], int] = {}
        label_rk = _t4_row_key(label) if last >= 0 else None
        for j in range(last + 1, len(row)):
            if row[j] is None:
                continue
            path = normalise_label("".join(grid[h][j] or "" for h in band))
            rk = label_rk or _t4_row_key(path)
            ck = _t4_col_key(path)
            if rk and ck and (rk, ck) not in keyed:
                keyed[(rk, ck)] = j
        complete = [rk for rk in T4_ROW_ORDER if all((rk, ck) in keyed for ck in T4_COL_ORDER)]
        used = {keyed[(rk, ck)] for rk in complete for ck in T4_COL_ORDER}
        stray = [j for j in range(last + 1, len(row)) if row[j] and j not in used]
        if complete and (complete == [label_rk] if label_rk else (len(complete) == 3 or not stray)):
            for rk in complete:
                for ck in T4_COL_ORDER:
                    j = keyed[(rk, ck)]
                    facts.append(_fact("t4", rk, ck, row[j], ti, r, j))
            continue
        # 2. official order
        positions = [j for j in range(last + 1, len(row)) if row[j] is not None]
        while len(positions) > 15 and row[positions[-1]] == "":
            positions.pop()
        while len(positions) > 15 and row[positions[0]] == "":
            positions.pop(0)
        if len(positions) == 15 and last < 0:
            for n, j in enumerate(positions):
                facts.append(_fact("t4", T4_ROW_ORDER[n // 5], T4_COL_ORDER[n % 5], row[j], ti, r, j))
        elif r in loose and pending is not None and part is not None and last < 0 and len(positions) < 15:
            pending.append(Pending(tuple(("t4", rk, ck) for rk in T4_ROW_ORDER for ck in T4_COL_ORDER), _T4_BLOCK_SUMS,
                                   _pieces(row, positions), ti, r, _where(part, r)))
        elif label_rk and r in loose and pending is not None and part is not None and len(positions) < 5:
            pending.append(Pending(tuple(("t4", label_rk, ck) for ck in T4_COL_ORDER), _T4_BLOCK_SUMS[:1],
                                   _pieces(row, positions), ti, r, _where(part, r)))
        elif label_rk and len(positions) >= 5:
            for n, j in enumerate(positions[:5]):
                facts.append(_fact("t4", label_rk, T4_COL_ORDER[n], row[j], ti, r, j))
    # keep the first occurrence of each key
    out: dict[tuple[str, str], Fact] = {}
    for f in facts:
        out.setdefault((f.row, f.col), f)
    return list(out.values())


# ------------------------------------------------------------------------------------- table 二

_T2_BLOCK = re.compile(r"第二十条第\(?([一二三四五六七八九十]+)\)?项")  # "第（一）项" and "第一项"
_NUM_ZH = {"一": "1", "五": "5", "六": "6", "八": "8", "九": "9"}


def _t2_blocks():
    blocks: dict[str, list] = {}
    for tmpl in ("2021", "2019"):
        for b in TABLES[tmpl]["t2"].blocks:
            blocks.setdefault(b.id, []).append(b)
    return blocks


_T2_BY_ID = _t2_blocks()
_T2_ROWS = {bid: tuple(lab for b in blocks for lab in b.rows) for bid, blocks in _T2_BY_ID.items()}
_T2_COLS = {bid: [b.cols for b in blocks] for bid, blocks in _T2_BY_ID.items()}


def read_t2(ti: int, grid: Grid) -> list[Fact]:
    return read_t2_block(ti, grid)[0]


_T2_HEADERS: dict[tuple[str, tuple[str | None, ...]], tuple[dict[int, Label], list[Label], dict[str, str | None]]] = {}


def _t2_header(row: list[str | None], block_id: str) -> tuple[dict[int, Label], list[Label], dict[str, str | None]]:
    """Column labels of a table 二 header row: by grid column (first column of a span), and in reading
    order (several labels may share one cell of a line table: "信息内容 本年新制作数量 本年新公开数量").
    Memoised: header rows repeat from page to page (the result is shared: read only)."""
    key = (block_id, tuple(row))
    hit = _T2_HEADERS.get(key)
    if hit is not None:
        return hit
    best: list[tuple[int, int, Label, str]] = []
    for cols_of_block in _T2_COLS.get(block_id, []):  # the 2021 labels, then the 2019 ones
        hits: list[tuple[int, int, Label, str]] = []
        used: set[str] = set()
        prev = None
        for j, cell in enumerate(row):
            if not cell or cell == prev:
                prev = cell
                continue
            prev = cell
            n = normalise_label(cell)
            found = sorted((m.start(), lab.key, lab) for lab in cols_of_block if (m := _rx(lab).search(n)))
            for pos, _, lab in found:
                if lab.key not in used:
                    used.add(lab.key)
                    hits.append((j, pos, lab, cell))
        if len(hits) > len(best):
            best = hits
    by_col: dict[int, Label] = {}
    for j, _, lab, _ in best:
        by_col.setdefault(j, lab)
    out = (by_col, [lab for _, _, lab, _ in best], {lab.key: header_unit(cell) for _, _, lab, cell in best})
    if len(_T2_HEADERS) > 20_000:
        _T2_HEADERS.clear()
    _T2_HEADERS[key] = out
    return out


def _t2_by_geometry(grid: Grid, geometry: list[list[tuple[int, int, float, float]]], hr: int, r: int, last: int,
                    header: dict[int, Label]) -> dict[str, int]:
    """Data cells of row ``r`` assigned to the header cells of row ``hr`` by horizontal overlap.

    Word exports draw the header cells and the data cells of one block with different widths, so a header
    cell's first grid column often holds another value's cell (or a label cell, or an empty extra cell): a
    value belongs to the header cell it lies under most (ties: the one starting where it starts)."""
    heads = [(x0, x1, header[c0]) for c0, _, x0, x1 in geometry[hr] if c0 in header]
    best: dict[str, tuple[bool, float, int]] = {}
    for c0, _, x0, x1 in geometry[r]:
        if c0 <= last or grid[r][c0] is None:
            continue
        pick: tuple[float, bool, Label] | None = None
        for hx0, hx1, lab in heads:
            ov = min(x1, hx1) - max(x0, hx0)
            if ov <= 0:
                continue
            key = (ov, abs(hx0 - x0) < 1e-6, lab)
            if pick is None or key[:2] > pick[:2]:
                pick = key
        if pick is None:
            continue
        lab = pick[2]
        mine = (grid[r][c0] != "", pick[0], c0)
        if lab.key not in best or mine[:2] > best[lab.key][:2]:
            best[lab.key] = mine
    return {k: v[2] for k, v in best.items()}


def read_t2_block(ti: int, grid: Grid, block: str | None = None, pending: list[Pending] | None = None,
                  part: RawTable | None = None) -> tuple[list[Fact], str | None]:
    """Facts of one table 二 grid and the block still open at its end.

    ``block`` is the block open at the end of the previous table when this one continues it (a table
    二 broken by a page: "第二十条第（六）项" at the foot of one page, its header and rows on the next).
    Columns come from the block's header row: by geometry when the reader recorded where each cell lies
    (``RawTable.geometry``), in reading order for the rows of a line table (``RawTable.loose``: its
    spaces say nothing about columns), else by grid column.  A row whose label is one of the block's rows
    is a data row even when every value cell is blank (each blank is a fact 0, ``implicit_zero``)."""
    facts: list[Fact] = []
    block_id: str | None = block
    cols: dict[int, Label] = {}
    order: list[Label] = []
    head_row = -1
    row_labels: tuple[Label, ...] = _T2_ROWS.get(block, ()) if block else ()
    units: dict[str, str | None] = {}
    loose = (part.loose or ()) if part is not None else ()
    geometry = part.geometry if part is not None else None
    for r, row in enumerate(grid):
        text = _normalise_label("".join(c for c in row if c))  # a whole row, numbers included: not memoised
        m = _T2_BLOCK.search(text)
        if m:
            block_id = "item" + _NUM_ZH.get(m.group(1), m.group(1))
            cols, order, head_row = {}, [], -1
            row_labels = _T2_ROWS.get(block_id, ())
        if block_id is None:
            continue
        label, last = _split_row(row)
        lab = _match(row_labels, label) if label and not m else None
        if "信息内容" in text or lab is None:
            # header row: map each later column to a column label of this block (either template)
            new_cols, new_order, new_units = _t2_header(row, block_id)
            if new_order:
                cols, order, head_row = new_cols, new_order, r
                units.update(new_units)
            continue
        if not order:
            continue
        if geometry is not None and head_row >= 0 and r < len(geometry):
            where = _t2_by_geometry(grid, geometry, head_row, r, last, cols)
            mapping = [(col, where[col.key]) for col in order if col.key in where]
        elif r in loose:
            positions = [j for j in range(last + 1, len(row)) if row[j]]
            if len(positions) != len(order):
                if len(positions) < len(order) and pending is not None and part is not None:
                    pending.append(Pending(tuple(("t2", lab.key, c.key) for c in order), (), _pieces(row, positions),
                                           ti, r, _where(part, r),
                                           tuple((units.get(c.key) or "") if c.money else None for c in order)))
                continue
            mapping = list(zip(order, positions))
        elif len(cols) < len(order):  # all labels in one cell of a line-table header: values in order
            positions = [j for j in range(last + 1, len(row)) if row[j] is not None]
            mapping = list(zip(order, positions)) if len(positions) == len(order) else []
        else:
            mapping = [(col, j) for j, col in cols.items() if last < j < len(row) and row[j] is not None]
        for col, j in mapping:
            facts.append(_fact("t2", lab.key, col.key, row[j], ti, r, j, money=col.money, unit=units.get(col.key)))
    out: dict[tuple[str, str], Fact] = {}
    for f in facts:
        out.setdefault((f.row, f.col), f)
    return list(out.values()), block_id


# ------------------------------------------------------------------------------------- all tables


def _t3_identities(rows: list[str]) -> list[Identity]:
    """The column identities of table 三 over the rows present (rules R1 and R3 of ``extractors.rules``)."""
    groups = {lab.key: lab.group for lab in T3_ROWS}
    handling = [r for r in rows if groups.get(r) in ("result", "denied", "unable", "rejected", "other")]
    out: list[Identity] = []
    for c in T3_COL_KEYS:
        if handling and "total_handled" in rows:
            out.append(Identity(tuple(("t3", r, c) for r in handling), (("t3", "total_handled", c),)))
        if {"new_received", "carried_over", "total_handled", "carried_forward"} <= set(rows):
            out.append(Identity((("t3", "new_received", c), ("t3", "carried_over", c)),
                                (("t3", "total_handled", c), ("t3", "carried_forward", c))))
    return out


def _decoded_facts(d: Decoded) -> list[Fact]:
    p = d.pending
    out = []
    for n, (table, row, col) in enumerate(p.keys):
        unit = p.units[n] if p.units else None
        if d.values[n] is None:
            out.append(Fact(table, row, col, None, d.raws[n], p.table_index, p.grid_row, d.cols[n]))
        else:
            out.append(_fact(table, row, col, d.raws[n], p.table_index, p.grid_row, d.cols[n], money=unit is not None,
                             unit=unit or None))
    return out


def _settle(reading: TableReading, pending: list[Pending], facts: list[Fact], identities: list[Identity]) -> list[Fact]:
    """Decode the pending rows of one table against its read facts; their facts and one note per row."""
    if not pending:
        return []
    have = {(f.table, f.row, f.col) for f in facts}
    fresh: list[Pending] = []
    for p in pending:  # the first printing of a cell wins, as for the cells read directly
        if not any(k in have for k in p.keys):
            fresh.append(p)
            have.update(p.keys)
    pending = fresh
    known = {(f.table, f.row, f.col): f.value for f in facts}
    out: list[Fact] = []
    for d in resolve(pending, known, identities):
        reading.notes.append((d.rule, d.message))
        out.extend(_decoded_facts(d))
    return out


def read_tables(raw_tables: list[RawTable] | list[tuple[int, Grid]], body_tables: set[int] | None = None) -> TableReading:
    """Classify every table, merge the parts of table 三, read the facts of 二/三/四.

    Takes the reader's :class:`~extractors.document.RawTable` s (or bare ``(index, grid)`` pairs): their
    ``geometry`` places table 二's cells under their headers and their ``loose`` rows (line tables) are
    decoded with the tables' identities (:mod:`extractors.glued`), each with a note in ``TableReading.notes``."""
    raws = [t if isinstance(t, RawTable) else RawTable(t[0], t[1]) for t in raw_tables]
    reading = TableReading()
    kinds: list[str | None] = []
    texts: list[str] = []
    for t in raws:
        text = _grid_text(t.grid)
        texts.append(text)
        kind = classify(t.grid, text)
        if body_tables is not None and t.index not in body_tables and kind != "meta":
            kind = None
        kinds.append(kind)
    # merge table 三 parts: the first t3 and the t3/t3_part tables right after it
    t3_parts: list[int] = []
    for n, kind in enumerate(kinds):
        if kind == "t3" and not t3_parts:
            t3_parts.append(n)
        elif kind in ("t3", "t3_part") and t3_parts and t3_parts[-1] == n - 1:
            t3_parts.append(n)
    if not t3_parts:  # a t3 whose first part lacks the identifying rows
        first = next((n for n, k in enumerate(kinds) if k == "t3_part"), None)
        if first is not None:
            t3_parts = [first]
            while t3_parts[-1] + 1 < len(kinds) and kinds[t3_parts[-1] + 1] in ("t3", "t3_part"):
                t3_parts.append(t3_parts[-1] + 1)
    part_ids = tuple(raws[n].index for n in t3_parts)
    # table 四 split over adjacent tables (行政复议 | 行政诉讼 after a page break): the first group of adjacent
    # t4/t4_part tables is one logical table 四
    t4_parts: list[int] = []
    for n, kind in enumerate(kinds):
        if kind in ("t4", "t4_part"):
            if not t4_parts:
                t4_parts.append(n)
            elif t4_parts[-1] == n - 1 and (kind == "t4_part" or all(kinds[m] == "t4_part" for m in t4_parts)):
                t4_parts.append(n)  # two whole tables 四 side by side stay two tables (the second is t4_extra)
    if len(t4_parts) == 1 and kinds[t4_parts[0]] == "t4_part":
        t4_parts = []  # a lone half is not table 四
    t4_ids = tuple(raws[n].index for n in t4_parts)
    t4_facts: dict[tuple[str, str], Fact] = {}
    t4_pending: list[Pending] = []
    seen_kind: set[str] = set()
    t2_positions: list[int] = []
    for n, raw in enumerate(raws):
        ti, grid = raw.index, raw.grid
        kind = kinds[n]
        clean = [[c if c is not None else "" for c in row] for row in grid]
        if n in t3_parts or kind in ("t2", "t4"):
            reading.texts.append(texts[n])
        if n in t3_parts:
            reading.tables.append(Table(ti, clean, "t3", part_ids if len(part_ids) > 1 else ()))
            continue
        if n in t4_parts:
            if kind == "t4_part":
                reading.texts.append(texts[n])
            reading.tables.append(Table(ti, clean, "t4", t4_ids if len(t4_ids) > 1 else ()))
            for f in read_t4(ti, grid, t4_pending, raw):
                t4_facts.setdefault((f.row, f.col), f)
            seen_kind.add("t4")
            continue
        if kind in ("t3_part", "t4_part"):
            kind = None
        if kind in ("t2", "t4") and kind in seen_kind:
            kind = kind + "_extra"
        if kind:
            seen_kind.add(kind)
        reading.tables.append(Table(ti, clean, kind))
        if kind in ("t2", "t2_extra"):
            t2_positions.append(n)
    if t3_parts:
        t3_pending: list[Pending] = []
        t3_facts = read_t3([raws[n] for n in t3_parts], t3_pending)
        reading.facts.extend(t3_facts)
        if t3_pending:
            rows = list(dict.fromkeys([f.row for f in t3_facts] + [p.keys[0][1] for p in t3_pending]))
            reading.facts.extend(_settle(reading, t3_pending, t3_facts, _t3_identities(rows)))
    reading.facts.extend(t4_facts.values())
    reading.facts.extend(_settle(reading, t4_pending, list(t4_facts.values()), []))
    # table 二 is often published as one small table per 第二十条 block: every t2 table adds its blocks
    # (the first occurrence of a cell wins, as within one table).  A t2 table right after another one
    # (a page break in a PDF) continues the block left open by its predecessor.
    t2_seen: set[tuple[str, str]] = set()
    t2_pending: list[Pending] = []
    t2_facts: list[Fact] = []
    prev_n, open_block = -2, None
    for n in t2_positions:
        raw = raws[n]
        block_facts, open_block = read_t2_block(raw.index, raw.grid, open_block if prev_n == n - 1 else None, t2_pending, raw)
        prev_n = n
        for f in block_facts:
            if (f.row, f.col) not in t2_seen:
                t2_seen.add((f.row, f.col))
                t2_facts.append(f)
    reading.facts.extend(t2_facts)
    reading.facts.extend(_settle(reading, t2_pending, t2_facts, []))
    order = {"t2": 0, "t3": 1, "t4": 2}
    reading.facts.sort(key=lambda f: order.get(f.table, 9))
    return reading


# ------------------------------------------------------------------------------------- row labels for the line reader

_T2_ALL_ROWS = tuple(dict.fromkeys(lab for rows in _T2_ROWS.values() for lab in rows))
_T2_ALL_COLS = tuple(dict.fromkeys(lab for sets in _T2_COLS.values() for cols in sets for lab in cols))
_T3_MISC = re.compile(r"^\(?\d\)?[.、．,，]?其[他它]$")


def is_row_label(text: str, table: str | None = None) -> bool:
    """Is ``text`` the label of an official row (of ``table``: "t2" | "t3" | "t4", or of any)?"""
    norm = normalise_label(text)
    if not norm or len(norm) > 80:
        return False
    if table in (None, "t3") and (_match(T3_ROWS, norm) is not None or _T3_MISC.match(norm)):
        return True
    if table in (None, "t2") and _match(_T2_ALL_ROWS, norm) is not None:
        return True
    return table in (None, "t4") and len(norm) <= 16 and _t4_row_key(norm) is not None


def is_t2_column_label(text: str) -> bool:
    return _match(_T2_ALL_COLS, normalise_label(text)) is not None
