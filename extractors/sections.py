"""The six statutory sections, found by heading *text* (printed numbering may be shifted or restart).

A heading is a short block starting with a top-level numbering (一、 / 第一部分 / 1、) whose text
matches one of :data:`extractors.formats.SECTIONS`' patterns.  Sections are assigned in increasing
statutory order so that a sub-heading such as "（一）主动公开政府信息情况" inside 总体情况 (parenthesised,
hence not top-level) or a repeated phrase later on cannot claim an earlier section.
"""

from __future__ import annotations

import re

from extractors.document import Block
from extractors.formats import SECTIONS, SectionSpec, normalise_label

_TOP = re.compile(r"^(?:[一二三四五六七八九十]{1,2}\s*[、.．,，]|第[一二三四五六七八九十]{1,2}(?:部分|章|项)[、.．:：\s]?|[1-9]\s*[、.．](?!\d))")
_MAX_HEADING = 40


_RELAXED = re.compile(r"^(?:[(（][一二三四五六七八九十]{1,2}[)）]|[一二三四五六七八九十]{1,2}\s*[、.．,，]|第[一二三四五六七八九十]{1,2}部分|[1-9]\s*[、.．](?!\d))?")


def heading_of(text: str, relaxed: bool = False) -> tuple[str, str] | None:
    """``(heading, rest)`` if the block starts with a top-level numbered heading.

    ``relaxed`` also accepts "（一）…" numbering and unnumbered short blocks (a second pass used only when
    the strict pass finds fewer than three sections: some reports number their top level like sub-items).
    """
    if relaxed:
        if len(text) > 30:
            return None
        return text.rstrip("。：:；;"), ""
    if not _TOP.match(text):
        return None
    glued = _glued(text)
    if glued:
        return glued
    m = re.search(r"[。：:；;]", text[:_MAX_HEADING])
    if m and text[m.end():].strip():
        return text[: m.start()].strip(), text[m.end():].strip()
    if len(text) <= _MAX_HEADING:
        return text.rstrip("。：:；;"), ""
    return None


_GLUED = re.compile(r"^(.{2,38}?(?:情况|事项))(?![和及与、,，])(?=\S)")


def _glued(text: str) -> tuple[str, str] | None:
    """A statutory heading run into its paragraph with no punctuation: Word's
    ``<p><strong>一、总体情况</strong>2022年，本机关…</p>`` reads "一、总体情况2022年，本机关…"."""
    m = _GLUED.match(text)
    if not m or m.end() >= len(text):
        return None
    head = m.group(1)
    body = normalise_label(_TOP.sub("", head, count=1))
    if not any(re.search(p, body) for spec in SECTIONS for p in spec.patterns):
        return None
    rest = text[m.end():].lstrip("。：:；; ")
    return (head.strip(), rest) if rest else None


def match_section(heading: str, after: int, relaxed: bool = False, layout: tuple[SectionSpec, ...] = SECTIONS,
                  used: frozenset[int] = frozenset()) -> int | None:
    """Number of the section ``heading`` starts, taking only sections that come after position ``after`` of
    ``layout`` (for the statutory layout, position = number) or an unordered one not ``used`` yet."""
    pos = _match_pos(heading, after, relaxed, layout, used)
    return None if pos is None else layout[pos - 1].number


def _match_pos(heading: str, after: int, relaxed: bool, layout: tuple[SectionSpec, ...], used: frozenset[int]) -> int | None:
    """1-based position in ``layout`` of the section ``heading`` starts (see :func:`match_section`)."""
    body = normalise_label((_RELAXED if relaxed else _TOP).sub("", heading, count=1))
    for pos, spec in enumerate(layout, 1):
        if (pos <= after and spec.ordered) or (not spec.ordered and pos in used):
            continue
        if relaxed:  # unnumbered or （一）-numbered: the heading must be (nearly) the statutory heading itself
            if body == normalise_label(spec.heading) or (
                    len(body) <= len(spec.heading) + 6 and re.search(spec.patterns[0], body) and body.endswith(("情况", "事项"))):
                return pos
        elif any(re.search(p, body) for p in spec.patterns):
            return pos
    return None


def find_headings(blocks: list[Block], start: int = 0, end: int | None = None,
                  layout: tuple[SectionSpec, ...] = SECTIONS) -> list[tuple[int, int, str, str]]:
    """``[(block_index, section_number, heading_as_printed, rest_of_block)]`` in order.

    ``layout`` is the statutory one by default; :data:`extractors.formats.LEGACY_SECTIONS` for a pre-2019 report."""
    # Chinese-numbered headings (一、/第一部分) first: when they give three sections or more, Arabic-numbered
    # lines ("1.主动公开情况。…", sub-items of 总体情况) are sub-items and must not claim sections
    chinese = _find(blocks, start, end, relaxed=False, layout=layout, arabic=False)
    if len(chinese) >= 3:
        return chinese
    strict = _find(blocks, start, end, relaxed=False, layout=layout)
    if len(strict) >= 3:
        return strict
    relaxed = _find(blocks, start, end, relaxed=True, layout=layout)
    return relaxed if len(relaxed) > len(strict) else strict


_ARABIC = re.compile(r"^[1-9]\s*[、.．]")


def _find(blocks: list[Block], start: int, end: int | None, relaxed: bool, layout: tuple[SectionSpec, ...],
          arabic: bool = True) -> list[tuple[int, int, str, str]]:
    out: list[tuple[int, int, str, str]] = []
    last = 0
    used: set[int] = set()
    final = len(layout)
    end = len(blocks) if end is None else end
    for i in range(start, end):
        b = blocks[i]
        if b.table is not None or b.chrome:
            continue
        if not arabic and _ARABIC.match(b.text):
            continue
        h = heading_of(b.text, relaxed)
        if not h:
            continue
        pos = _match_pos(h[0], last, relaxed, layout, frozenset(used))
        if pos is None:
            continue
        spec = layout[pos - 1]
        out.append((i, spec.number, h[0], h[1]))
        if spec.ordered:
            last = pos
        else:
            used.add(pos)
        if pos == final:
            break
    return out
