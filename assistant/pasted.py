"""Pasted page markup → the plain line structure the parser reads.

Studio FAQ pages pasted into a .md or .txt file carry their questions in bold lines, numbered items, HTML
<details>/<dt> blocks and pipe tables. This module rewrites those into what corpus.parse already understands:
'## question' headings (an entry until the next heading), one-paragraph question markers (a list item's
question and its own answer), table rows read with their header cells, and text with no markup left in it.
"""

from __future__ import annotations

import html
import re

ONE_PARAGRAPH = "\x00? "  # a question line whose entry is the one paragraph after it
ROW = "\x00| "  # a table row, already read with its header cells

_HIDDEN = re.compile(r"<(script|style|template)\b[^>]*>.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<(?:br|hr)\b[^<>]*>", re.IGNORECASE)
_BLOCK = re.compile(
    r"</?(?:p|div|h[1-6]|ul|ol|dl|dt|dd|details|summary|table|thead|tbody|tfoot|caption|section|article|aside|"
    r"header|footer|nav|main|figure|figcaption|blockquote|pre)\b[^<>]*>",
    re.IGNORECASE,
)
_ITEM = re.compile(r"<li\b[^<>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[A-Za-z/!?][^<>]*(?:>|\Z)")  # a tag, or one left open at the end; "under 18s < 5" is no tag
_AUTOLINK = re.compile(r"<((?:https?://|mailto:)[^<>\s]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)>", re.IGNORECASE)
_MD_IMAGE = re.compile(r"[ \t]*!\[[^\]\n]*\]\((?:[^()\n]|\([^()\n]*\))*\)")  # ![alt](src): dropped
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\((?:[^()\n]|\([^()\n]*\))*\)")  # [text](url): its words only
_MD_REF_LINK = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")  # [text][1]
_MD_LINK_DEF = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*\S+.*$", re.MULTILINE)  # [1]: https://…

# HTML blocks that carry a question-and-answer or section structure
_SUMMARY = re.compile(
    r"<details\b[^<>]*>\s*<summary\b[^<>]*>((?:(?!</?summary\b|<details\b).)*)</summary\s*>", re.IGNORECASE | re.DOTALL
)
_TERM = re.compile(r"<dt\b[^<>]*>((?:(?!</?d[tl]\b).)*)</dt\s*>", re.IGNORECASE | re.DOTALL)
_H = re.compile(r"<h([1-6])\b[^<>]*>((?:(?!</?h[1-6]\b).)*)</h\1\s*>", re.IGNORECASE | re.DOTALL)
_TABLE_TAG = re.compile(r"<table\b[^<>]*>(.*?)(?:</table\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_ROW_TAG = re.compile(r"<tr\b[^<>]*>(.*?)(?=</tr\s*>|<tr\b|\Z)", re.IGNORECASE | re.DOTALL)
_CELL = re.compile(r"<t[dh]\b[^<>]*>(.*?)(?=</t[dh]\s*>|<t[dh]\b|\Z)", re.IGNORECASE | re.DOTALL)


def plain_text(text: str) -> str:
    """Document text without markup: HTML tags, comments and scripts are dropped (block tags become line
    breaks; <details>/<dt> questions and <h2> titles become headings, table rows pipe rows), entities read as
    their characters, links as their words, images not at all; so no hand edit can put live markup into an
    answer or a citation. Text such as "under 18s < 5 minutes" is left as it is."""
    if "<" not in text and "&" not in text and "](" not in text and "][" not in text:
        return text
    text = _HIDDEN.sub("", text)
    text = _SUMMARY.sub(lambda m: f"\n\n## {_one_line(m.group(1))}\n\n", text)
    text = _TERM.sub(lambda m: f"\n\n## {_one_line(m.group(1))}\n\n", text)
    text = _H.sub(lambda m: f"\n\n{'#' * int(m.group(1))} {_one_line(m.group(2))}\n\n", text)
    text = _TABLE_TAG.sub(lambda m: _pipe_table(m.group(1)), text)
    text = _BREAK.sub("\n", text)
    text = _BLOCK.sub("\n\n", text)
    text = _ITEM.sub("\n- ", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_REF_LINK.sub(r"\1", text)
    text = html.unescape(text)  # "&lt;b&gt;" is text once decoded: drop any tag it spelled
    return _TAG.sub("", _HIDDEN.sub("", text))


def _pipe_table(inner: str) -> str:
    """An HTML table as a Markdown pipe table: its first row is the header."""
    return f"\n\n{pipe_table([[_one_line(c) for c in _CELL.findall(r)] for r in _ROW_TAG.findall(inner)])}\n\n"


def pipe_table(rows: list[list[str]]) -> str:
    """Rows of cell texts as a Markdown pipe table, the first row its header; empty rows dropped."""
    rows = [r for r in rows if any(r)]
    if not rows:
        return ""
    lines = ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join([lines[0], "|" + "---|" * len(rows[0]), *lines[1:]])


def _one_line(fragment: str) -> str:
    return " ".join(_TAG.sub(" ", fragment).split())


# --- Markdown structure ----------------------------------------------------------------------------

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S")
_ITEM_LINE = re.compile(r"^(\s*)(?:[-*+•‣◦]|\d{1,3}[.)]|Q\s?\d{1,3}\s*[.:)])\s+(.*\S)\s*$", re.IGNORECASE)
_EMPHASIS_START = re.compile(r"^(\*{1,3}|_{1,3})(?=\S)(.+?)(?<=\S)\1(?![\w*])\s*(.*)$")
_A_PREFIX = re.compile(r"^(?:A|Answer)\s*\d{0,3}\s*[:.)]\s*", re.IGNORECASE)
_Q_PREFIX = re.compile(r"^(?:Q|Question)\s*\d{0,3}\s*[:.)]\s*", re.IGNORECASE)
_RULE = re.compile(r"^\s{0,3}([-*_=])(?:\s*\1){2,}\s*$")
_FENCE = re.compile(r"^\s{0,3}(?:```|~~~)")
_QUOTE_MARK = re.compile(r"^\s{0,3}>\s?")  # a quoted line, as an e-mail or Markdown quotes it
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")


def structure(text: str) -> str:
    """Bold and italic questions, question list items, pipe tables, setext headings and rules
    rewritten as headings, one-paragraph question markers, table rows and blank lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        for rewrite in (_table_lines, _leader_lines, _rule_lines, _item_lines, _emphasis_lines):
            done = rewrite(lines, i, out)
            if done is not None:
                end, new = done
                out += new
                i = end
                break
        else:
            out.append(_QUOTE_MARK.sub("", lines[i]))
            i += 1
    return "\n".join(out)


Rewrite = tuple[int, list[str]] | None  # where the rewritten lines end, and what replaces them


def _table_lines(lines: list[str], i: int, out: list[str]) -> Rewrite:
    end, rows = _table(lines, i)
    if not rows:
        return None
    new = [""]
    for row in rows:  # plain rows share one paragraph; a question row is an entry of its own
        new += [ROW + row] if isinstance(row, str) else ["", ONE_PARAGRAPH + row[0], "", row[1], ""]
    return end, [*new, ""]


# dots between a name and its price; an ellipsis ("open late... and Sundays") only before a price
_LEADER = re.compile(r"(?:[.·][ \t]?){4,}|…[ \t]?[.…·]+|(?:…|\.{3})(?=[ \t]*[$€£¥\d])")
_ITEM_MARK = re.compile(r"^\s*[-*•]\s+")


def _leader(line: str) -> tuple[str, str] | None:
    """A dotted line's name and value: "60 minutes ...... $115" → ("60 minutes", "$115")."""
    m = _LEADER.search(line)
    if not m:
        return None
    name, value = _ITEM_MARK.sub("", line[: m.start()]).strip(), line[m.end() :].strip()
    if not name or not value or value[0] in ".…·" or name[0] in ".…·":
        return None
    return name, value


def _leader_lines(lines: list[str], i: int, out: list[str]) -> Rewrite:
    """A price list's dotted lines ("60 minutes ........ $115    Our most booked session") as table rows, read
    with the heading above them: "60 minutes: $115. Our most booked session"."""
    rows = []
    while i < len(lines) and (found := _leader(lines[i])):
        name, (value, *notes) = found[0], re.split(r"\s{2,}", found[1])
        row = f"{name}: {value}"
        if notes:
            row += ("" if row.endswith((".", "!", "?")) else ".") + " " + " ".join(notes)
        rows.append(ROW + row)
        i += 1
    return (i, ["", *rows, ""]) if rows else None


def _rule_lines(lines: list[str], i: int, out: list[str]) -> Rewrite:
    """A fence or a rule is dropped; '===' or '---' under a lone title line makes it a heading."""
    line = lines[i]
    if _FENCE.match(line):
        return i + 1, []
    if not _RULE.match(line):
        return None
    title = lines[i - 1].strip() if i > 0 else ""
    underline = line.strip()[0] in "=-" and title and out and out[-1] == lines[i - 1]
    if underline and (i < 2 or not lines[i - 2].strip()) and not _HEADING.match(title):
        if not _ITEM_LINE.match(title) and (_heading_like(title) or title.endswith("?")):
            out[-1] = f"## {title}"
    return i + 1, [""]


def _item_lines(lines: list[str], i: int, out: list[str]) -> Rewrite:
    """A question list item with an answer under it (or after it on its line) is an entry of its own."""
    item = _ITEM_LINE.match(_QUOTE_MARK.sub("", lines[i]))
    if not item:
        return None
    question, rest = _emphasised_question(item.group(2))
    if question is None and _ends_question(item.group(2)):
        question, rest = _plain(item.group(2)), ""
    if question is None:
        return None
    end, answer = _item_answer(lines, i, len(item.group(1)), rest)
    if not answer:
        return None  # a listed question answers nothing: a contents list
    return end, ["", ONE_PARAGRAPH + question, "", *answer, ""]


def _emphasis_lines(lines: list[str], i: int, out: list[str]) -> Rewrite:
    """'**Question?**' alone or opening a paragraph is a question heading; '**Parking**' alone a topic heading;
    '**Hot stones.** Smooth basalt …' a run-in heading over its one paragraph."""
    line = _QUOTE_MARK.sub("", lines[i]).strip()
    emphasis = _EMPHASIS_START.match(line)
    if not emphasis:
        return None
    at_start = i == 0 or not lines[i - 1].strip() or bool(_HEADING.match(lines[i - 1]))
    question, rest = _emphasised_question(line)
    if question is not None and (at_start or not rest):
        end = i + 1
        if not rest and end < len(lines) and _A_PREFIX.match(lines[end].strip()):  # **Q?** then "A: …"
            rest, end = lines[end].strip(), end + 1
        return end, ["", f"## {question}", "", *([_A_PREFIX.sub("", rest)] if rest else [])]
    inner = _plain(emphasis.group(2)).strip()
    if at_start and emphasis.group(3) and inner.endswith(".") and _heading_like(inner[:-1]):
        label = inner[:-1]  # "**Hot stones.** Smooth …": a run-in heading, quoted as "Hot stones: Smooth …"
        return i + 1, ["", ONE_PARAGRAPH + label, "", f"{label}: {emphasis.group(3)}"]
    label = inner[:-1].rstrip() if inner.endswith(":") else inner
    if len(emphasis.group(1)) >= 2 and not emphasis.group(3) and _heading_like(label):
        if label == inner or not _ITEM_LINE.match(_next_text(lines, i + 1)):  # "**Parking:**" over a list: lead-in
            return i + 1, ["", f"## {label}", ""]
    return None


def _emphasised_question(text: str) -> tuple[str | None, str]:
    """'**Is there parking?** Yes, behind us.' → ('Is there parking?', 'Yes, behind us.')."""
    m = _EMPHASIS_START.match(text.strip())
    if not m or not _ends_question(m.group(2)):
        return None, text
    return _Q_PREFIX.sub("", _plain(m.group(2))), m.group(3).strip()


def _ends_question(text: str) -> bool:
    return _plain(text).rstrip().endswith("?")


def _heading_like(text: str) -> bool:
    words = text.split()
    return (
        bool(words)
        and len(text) <= 80
        and len(words) <= 12
        and not text.endswith((".", ",", ";", ":", "?", "!"))
        and text[:1].isupper()
    )


def _item_answer(lines: list[str], i: int, indent: int, rest: str) -> tuple[int, list[str]]:
    """A question item's own answer: the rest of its line, the lines under it (indented or not, up to a blank
    line, the next item or a heading), indented paragraphs after blank lines, or, for an item standing alone,
    the plain paragraph after it. Returns where the item ends and the answer's lines."""
    answer = [rest] if rest else []
    j = i + 1
    while j < len(lines) and lines[j].strip() and not _HEADING.match(lines[j]):
        if _ITEM_LINE.match(lines[j]) and _indent(lines[j]) <= indent:
            break
        answer.append(lines[j].strip())
        j += 1
    alone = (i == 0 or not lines[i - 1].strip()) and (j >= len(lines) or not lines[j].strip())
    while j < len(lines):  # indented paragraphs after a blank line still belong to the item
        k = j
        while k < len(lines) and not lines[k].strip():
            k += 1
        if k == j or k >= len(lines) or _indent(lines[k]) <= max(indent, 1):
            break
        while k < len(lines) and lines[k].strip() and _indent(lines[k]) > indent:
            answer.append(lines[k].strip())
            k += 1
        j = k
    if not answer and alone:  # "- Is there parking?" standing alone, its answer the paragraph after it
        k = j
        while k < len(lines) and not lines[k].strip():
            k += 1
        start = k
        while k < len(lines) and lines[k].strip() and not _ITEM_LINE.match(lines[k]) and not _HEADING.match(lines[k]):
            k += 1
        paragraph = [x.strip() for x in lines[start:k]]
        if paragraph and (k >= len(lines) or not lines[k].strip()) and _is_answer(paragraph[0]):
            answer, j = paragraph, k
    if answer:
        answer[0] = _A_PREFIX.sub("", answer[0])
    return j, [x for x in answer if x]


def _is_answer(line: str) -> bool:
    """A plain paragraph: not a table, a question or another bold title."""
    return "|" not in line and not _ends_question(line) and not _EMPHASIS_START.match(line)


def _next_text(lines: list[str], i: int) -> str:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return lines[i] if i < len(lines) else ""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


# --- tables ----------------------------------------------------------------------------------------


def _table(lines: list[str], i: int) -> tuple[int, list[str | tuple[str, str]]]:
    """A pipe table starting at line i: (the line after it, its body rows read with their header cells;
    a row whose first cell is a question is (question, answer))."""
    if "|" not in lines[i] or (i > 0 and "|" in lines[i - 1] and lines[i - 1].strip()):
        return i, []
    header = _cells(lines[i])
    if len(header) < 2:
        return i, []
    j = i + 1
    if j < len(lines) and _TABLE_SEPARATOR.match(lines[j]) and "-" in lines[j]:
        j += 1
        body_start = j
        while j < len(lines) and "|" in lines[j] and lines[j].strip():
            j += 1
    else:  # no separator row: at least two rows under the header, every line with the same number of cells
        body_start = j
        while j < len(lines) and lines[j].strip() and len(_cells(lines[j])) == len(header):
            j += 1
        if j - body_start < 2:
            return i, []
    rows: list[str | tuple[str, str]] = []
    for line in lines[body_start:j]:
        cells = _cells(line)
        if _TABLE_SEPARATOR.match(line) or not any(cells):
            continue
        answer = " ".join(c for c in cells[1:] if c)
        if _ends_question(cells[0]) and answer:
            rows.append((_plain(cells[0]), answer))
        else:
            rows.append(_read_row(header, cells))
    return j, rows


def _cells(line: str) -> list[str]:
    body = line.strip()
    if "|" not in body:
        return []
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]


def _read_row(header: list[str], cells: list[str]) -> str:
    """'| Swedish | £60 | £85 |' under '| Treatment | 60 min | 90 min |' → 'Swedish: 60 min £60, 90 min £85'."""
    label, values = (cells[0] if cells else ""), []
    for name, value in zip(header[1:], cells[1:]):
        if value.strip("-–— "):  # "–" in a cell: not offered
            values.append(f"{name} {value}" if name and name.lower() != value.lower() else value)
    values += [c for c in cells[len(header) :] if c]
    if not values:
        return label
    return f"{label}: {', '.join(values)}" if label else ", ".join(values)


# --- inline Markdown -------------------------------------------------------------------------------

_CODE = re.compile(r"`+([^`\n]+?)`+")
# the text inside never holds the same mark, so each mark is looked at once: nested emphasis is undone inside out
_STRONG = re.compile(r"(?<![\w*\\])(\*\*\*|\*\*|\*)(?=[^\s*])([^*]+?)(?<=[^\s*\\])\1(?![\w*])")
_UNDERSCORE = re.compile(r"(?<![\w\\])(___|__|_)(?=[^\s_])([^_]+?)(?<=[^\s_\\])\1(?!\w)")
_STRIKE = re.compile(r"~~(?=[^\s~])([^~]+?)(?<=[^\s~])~~")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")


def inline_plain(text: str, markdown: bool) -> str:
    """Emphasis, code spans and strike-through as their words; in Markdown, escapes as their characters and
    link definitions dropped. A lone asterisk (a footnote mark, '2 * 3') or snake_case is left alone."""
    if markdown:
        text = _MD_LINK_DEF.sub("", text)
    lines = []
    for line in text.split("\n"):
        escaped: list[str] = []
        if markdown:  # "\*" is an asterisk: kept aside as "\x01<n>\x02" while emphasis is undone
            line = _ESCAPED.sub(lambda m: _set_aside(m.group(1), escaped), line)
        line = _plain(line)
        if escaped:
            line = re.sub(r"\x01(\d+)\x02", lambda m: escaped[int(m.group(1))], line)
        lines.append(line)
    return _TAG.sub("", "\n".join(lines))  # "<`b`>" spells a tag only once its code marks are gone


def _set_aside(char: str, kept: list[str]) -> str:
    kept.append(char)
    return f"\x01{len(kept) - 1}\x02"


def _plain(text: str) -> str:
    text = _CODE.sub(r"\1", text)
    for _ in range(3):  # nested emphasis: ***a**b*
        before = text
        text = _STRIKE.sub(r"\1", _UNDERSCORE.sub(r"\2", _STRONG.sub(r"\2", text)))
        if text == before:
            break
    return text
