"""Cells that lost their separators: decode a row's printed digits with the table's own arithmetic.

Text copied from a PDF, or scraped from a page without its table, runs a row's cells together
("230 000023", "10203120001200000"), and a table laid out as text cannot show its blank cells: both
leave a row with fewer printed pieces than the official form has columns.  The official column count
and the identities of the form (table 三: each row's 总计 is the sum of its six applicant columns, the
办理结果 rows add up to （七）总计 and 一 + 二 = （七） + 四 in every column; table 四: each block's 总计 is the
sum of its four outcomes) usually leave exactly one way to cut the pieces back into cells.

The model of what can have happened to a row, and nothing else: every printed cell is a number without
leading zeros (``0`` itself excepted) of at most :data:`MAX_DIGITS` digits; cells that touch may have
been glued into one piece; blank cells left no trace.  Every way to rebuild the row's cells under that
model (pieces split inside, blanks inserted anywhere) is a *candidate*; candidates are filtered by the
row's own identities while they are built (the total cell is never searched: it must spell the sum of
its parts), then jointly by the column identities over all undecided rows: one assignment that meets every
identity is searched for (forward checking: after each choice every other row keeps only the candidates that
leave each column's sum reachable), then, row by row, another assignment in which that row reads differently.
A row is decoded only when no such other assignment exists; otherwise all its cells are recorded unreadable
(``None``).  Never a guess: when a search hits its cap the row is reported ambiguous, and a row of a table whose
true cells satisfy the identities is never decoded wrong (property-tested in ``tests/test_glued_cells.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from extractors.numbers import parse_cell

MAX_DIGITS = 7  # no count cell of a county report has more than seven digits
MAX_NODES = 40_000  # search steps for one row
MAX_CANDIDATES = 400  # distinct rebuilt rows kept for one row
MAX_JOINT_NODES = 20_000  # search steps (all questions together) for the column identities over the undecided rows

Key = tuple[str, str, str]  # (table, row, col)


@dataclass(slots=True)
class Piece:
    """One printed piece of a row: a cell, or several cells run together."""

    text: str
    col: int  # grid column it was printed in


@dataclass(slots=True)
class Pending:
    """A row whose printed pieces do not fill its official cells one to one."""

    keys: tuple[Key, ...]  # the cells to fill, in printed order
    #: identities inside the row: (indices of the parts, index of their total)
    groups: tuple[tuple[tuple[int, ...], int], ...]
    pieces: tuple[Piece, ...]
    table_index: int
    grid_row: int
    where: str  # provenance for messages ("l45", "table 2 grid row 12")
    #: per cell: None, or the money unit of a money cell ("" = the column's default unit)
    units: tuple[str | None, ...] = ()


@dataclass(slots=True)
class Decoded:
    """Outcome for one pending row: values (None = unreadable) and the raw text of each cell."""

    pending: Pending
    values: tuple[float | int | None, ...]
    raws: tuple[str, ...]
    cols: tuple[int, ...]  # grid column each cell's text was printed in (-1 for an inferred blank)
    rule: str  # "cells.decoded" | "cells.ambiguous"
    message: str


def _value(raw: str) -> float | int:
    return 0 if raw == "" else parse_cell(raw)[0]  # type: ignore[return-value]


def _splittable(text: str) -> bool:
    return text.isdigit() and text.isascii()


def _fewest(digits: str, off: int) -> int:
    """The fewest cells ``digits[off:]`` can be cut into (greedy longest numbers are optimal)."""
    if not _splittable(digits):
        return 1 if off == 0 else 0
    n, i = 0, off
    while i < len(digits):
        i += 1 if digits[i] == "0" else MAX_DIGITS
        n += 1
    return n


def row_candidates(p: Pending) -> tuple[list[tuple[str, ...]], bool]:
    """Every way to rebuild the row's cells from its pieces that its own identities allow.

    Returns the candidates (raw text per cell, ``''`` = a blank that left no trace; distinct by value)
    and whether the search was capped."""
    n = len(p.keys)
    pieces = [x.text for x in p.pieces]
    total_of = {t: parts for parts, t in p.groups}
    # digits still to place from piece i on, and the fewest cells they need (a "0" is a cell of its own, any
    # other digit starts a number of at most MAX_DIGITS digits): both bound the blanks a candidate can have
    rest = [0] * (len(pieces) + 1)
    least = [0] * (len(pieces) + 1)
    for i in range(len(pieces) - 1, -1, -1):
        rest[i] = rest[i + 1] + len(pieces[i])
        least[i] = least[i + 1] + _fewest(pieces[i], 0)
    fewest = [[_fewest(x, off) for off in range(len(x) + 1)] if _splittable(x) else [1, 0] for x in pieces]
    raws: list[str] = [""] * n
    out: dict[tuple[float | int, ...], tuple[str, ...]] = {}
    nodes = 0
    capped = False

    def take(k: int, pi: int, off: int, piece: str) -> None:
        """Cell k gets ``piece`` from piece pi at offset off."""
        raws[k] = piece
        end = off + len(piece)
        if end == len(pieces[pi]):
            dfs(k + 1, pi + 1, 0)
        else:
            dfs(k + 1, pi, end)

    def dfs(k: int, pi: int, off: int) -> None:
        nonlocal nodes, capped
        if capped:
            return
        nodes += 1
        if nodes > MAX_NODES:
            capped = True
            return
        cells_left = n - k
        if k == n:
            if pi == len(pieces):
                key = tuple(_value(r) for r in raws)
                if key not in out:
                    out[key] = tuple(raws)
                    if len(out) > MAX_CANDIDATES:
                        capped = True
            return
        if pi < len(pieces) and (fewest[pi][min(off, len(fewest[pi]) - 1)] + least[pi + 1] > cells_left
                                 or rest[pi] - off > cells_left * MAX_DIGITS):
            return
        cur = pieces[pi] if pi < len(pieces) else None
        if k in total_of:
            s = sum(_value(raws[j]) for j in total_of[k])
            if cur is not None:
                target = str(int(s)) if float(s).is_integer() else None
                if target is not None:
                    if _splittable(cur):
                        if cur.startswith(target, off):
                            take(k, pi, off, target)
                    elif off == 0 and _value(cur) == s:
                        take(k, pi, off, cur)
            if s == 0:
                raws[k] = ""
                dfs(k + 1, pi, off)
            return
        if cur is not None:
            if _splittable(cur):
                if cur[off] == "0":
                    take(k, pi, off, "0")
                else:
                    for length in range(1, min(MAX_DIGITS, len(cur) - off) + 1):
                        take(k, pi, off, cur[off:off + length])
            elif off == 0 and parse_cell(cur)[1] == "number":
                take(k, pi, off, cur)
        raws[k] = ""
        dfs(k + 1, pi, off)

    dfs(0, 0, 0)
    return list(out.values()), capped


@dataclass(frozen=True, slots=True)
class Identity:
    """Σ lhs = Σ rhs over cells of one table (the 勾稽关系 of one column)."""

    lhs: tuple[Key, ...]
    rhs: tuple[Key, ...]


def resolve(pending: Sequence[Pending], known: dict[Key, float | int | None],
            identities: Sequence[Identity] = ()) -> list[Decoded]:
    """Decode every pending row, using ``known`` cells and the column ``identities`` between rows."""
    cands: list[list[tuple[str, ...]]] = []
    capped_rows: list[bool] = []
    for p in pending:
        c, capped = row_candidates(p)
        cands.append(c)
        capped_rows.append(capped)
    # the joint search: only identities that touch a pending row with candidates, and whose other cells are known
    owner: dict[Key, tuple[int, int]] = {}
    for i, p in enumerate(pending):
        if cands[i] and not capped_rows[i]:
            for j, key in enumerate(p.keys):
                owner[key] = (i, j)
    live: list[tuple[Identity, float, list[tuple[int, int, int]]]] = []
    for ident in identities:
        const = 0.0
        terms: list[tuple[int, int, int]] = []  # (sign, pending row, cell)
        ok = True
        for sign, side in ((1, ident.lhs), (-1, ident.rhs)):
            for key in side:
                if key in owner:
                    terms.append((sign, *owner[key]))
                else:
                    v = known.get(key)
                    if not isinstance(v, (int, float)):
                        ok = False
                        break
                    const += sign * v
            if not ok:
                break
        if ok and terms:
            live.append((ident, const, terms))
    rows = sorted({t[1] for _, _, terms in live for t in terms}, key=lambda i: (len(cands[i]), i))
    depth_of = {row: d for d, row in enumerate(rows)}
    values = [[tuple(_value(r) for r in c) for c in cs] for cs in cands]
    # each identity: what every candidate of a row adds to it, and the range the unassigned rows can still add
    # (bounds propagation: a branch dies as soon as an identity cannot be met any more)
    contrib: list[dict[int, tuple[list[float], float, float]]] = []
    partial: list[float] = []
    rem_lo: list[float] = []
    rem_hi: list[float] = []
    by_row: dict[int, list[int]] = {}
    for k, (_, const, terms) in enumerate(live):
        per_row: dict[int, list[float]] = {}
        for sign, r, j in terms:
            add = per_row.setdefault(r, [0.0] * len(cands[r]))
            for ci in range(len(cands[r])):
                add[ci] += sign * values[r][ci][j]
        contrib.append({r: (v, min(v), max(v)) for r, v in per_row.items()})
        partial.append(const)
        rem_lo.append(sum(min(v) for v in per_row.values()))
        rem_hi.append(sum(max(v) for v in per_row.values()))
        for r in per_row:
            by_row.setdefault(r, []).append(k)
    budget = [MAX_JOINT_NODES]
    joint_capped = False

    def feasible(ks: list[int]) -> bool:
        return all(partial[k] + rem_lo[k] <= 1e-6 and partial[k] + rem_hi[k] >= -1e-6 for k in ks)

    def fits(row: int, ci: int) -> bool:
        """Can row ``row`` take candidate ``ci`` with every identity still reachable by the unassigned rows?"""
        for k in by_row.get(row, ()):
            c, mn, mx = contrib[k][row]
            base = partial[k] + c[ci]
            if base + rem_lo[k] - mn > 1e-6 or base + rem_hi[k] - mx < -1e-6:
                return False
        return True

    def first_solution(order: list[int], allowed: dict[int, list[int]]) -> dict[int, int] | None:
        """The first assignment (row → candidate) meeting every identity; None when there is none or the node
        budget ran out (``joint_capped``).  Forward checking: every step keeps, for each unassigned row, only the
        candidates that leave each identity reachable, and goes on with the row that has the fewest."""
        nonlocal joint_capped
        chosen: dict[int, int] = {}
        free = set(order)

        def dfs() -> bool:
            nonlocal joint_capped
            if not free:
                return True
            best: tuple[int, list[int]] | None = None
            for row in free:
                alive = [ci for ci in allowed.get(row, range(len(cands[row]))) if fits(row, ci)]
                if not alive:
                    return False
                if best is None or len(alive) < len(best[1]):
                    best = (row, alive)
                    if len(alive) == 1:
                        break
            row, alive = best  # type: ignore[misc]
            free.discard(row)
            ks = by_row.get(row, ())
            for ci in alive:
                budget[0] -= 1
                if budget[0] < 0:
                    joint_capped = True
                    break
                chosen[row] = ci
                for k in ks:
                    c, mn, mx = contrib[k][row]
                    partial[k] += c[ci]
                    rem_lo[k] -= mn
                    rem_hi[k] -= mx
                found = dfs()
                for k in ks:
                    c, mn, mx = contrib[k][row]
                    partial[k] -= c[ci]
                    rem_lo[k] += mn
                    rem_hi[k] += mx
                if found:
                    return True
                if joint_capped:
                    break
            chosen.pop(row, None)
            free.add(row)
            return False

        return dict(chosen) if dfs() else None

    # one solution, then for each row: is there another solution in which that row reads differently?
    seen: dict[int, set[int]] = {row: set() for row in rows}
    unknown: set[int] = set()  # rows whose question the budget could not answer
    n_solutions = 0
    if rows and feasible(list(range(len(live)))):
        first = first_solution(rows, {})
        if first is not None:
            n_solutions = 1
            for row, ci in first.items():
                seen[row].add(ci)
            for row in rows:
                if len(seen[row]) > 1:
                    continue
                mine = next(iter(seen[row]))
                other = first_solution([row] + [r for r in rows if r != row],
                                       {row: [ci for ci in range(len(cands[row])) if ci != mine]})
                if other is not None:
                    n_solutions += 1
                    for r, ci in other.items():
                        seen[r].add(ci)
                elif joint_capped:
                    unknown.add(row)
                    joint_capped = False
                    budget[0] = max(budget[0], 0)
                    if budget[0] == 0:
                        unknown.update(r for r in rows if len(seen[r]) < 2)
                        break
        elif joint_capped:
            unknown.update(rows)
    out: list[Decoded] = []
    for i, p in enumerate(pending):
        printed = " ".join(x.text for x in p.pieces) or "(nothing)"
        cells = "/".join(p.keys[0][:2]) + (f" … {'/'.join(p.keys[-1][:2])}" if p.keys[-1][1] != p.keys[0][1] else "")
        head = f"{cells} ({p.where}): printed '{printed}' for {len(p.keys)} cells"
        if capped_rows[i]:
            out.append(_unread(p, head + ": too many ways to cut it (search capped); cells left unread (null)"))
            continue
        if not cands[i]:
            out.append(_unread(p, head + ": no way to cut it into cells satisfies the row's total; cells left unread (null)"))
            continue
        if i in depth_of:
            if i in unknown and len(cands[i]) > 1 and len(seen[i]) < 2:
                out.append(_unread(p, head + ": too many ways to cut the table's rows (search capped); cells left unread (null)"))
                continue
            if i in unknown and len(cands[i]) == 1:
                options = {0}
            elif n_solutions == 0:
                out.append(_unread(p, head + ": no way to cut it into cells satisfies the table's totals; cells left unread (null)"))
                continue
            else:
                options = seen[i]
        else:
            options = set(range(len(cands[i])))
        if len(options) == 1:
            (ci,) = options
            out.append(_decoded(p, cands[i][ci], head))
        else:
            out.append(_unread(p, head + ": two or more ways to cut it satisfy the table's totals; cells left unread (null)"))
    return out


def _unread(p: Pending, message: str) -> Decoded:
    raw = " ".join(x.text for x in p.pieces)
    col = p.pieces[0].col if p.pieces else -1
    return Decoded(p, (None,) * len(p.keys), (raw,) * len(p.keys), (col,) * len(p.keys), "cells.ambiguous", message)


def _decoded(p: Pending, raws: tuple[str, ...], head: str) -> Decoded:
    cols: list[int] = []
    pi, used = 0, 0
    for raw in raws:
        if raw == "":
            cols.append(-1)
            continue
        while pi < len(p.pieces) and used >= len(p.pieces[pi].text):
            pi, used = pi + 1, 0
        cols.append(p.pieces[pi].col if pi < len(p.pieces) else -1)
        used += len(raw)
    shown = " · ".join(r if r else "_" for r in raws)
    blanks = sum(1 for r in raws if r == "")
    why = "the only split that satisfies the table's totals" + (f" ({blanks} blank cell(s) inferred, read as 0)" if blanks else "")
    return Decoded(p, tuple(_value(r) for r in raws), raws, tuple(cols), "cells.decoded", f"{head}: read as {shown}, {why}")
