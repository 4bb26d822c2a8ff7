"""Corpus file bytes → the text the parser reads. Markdown and plain text are read as they are; a saved web page,
a Word document and a PDF are converted, so a studio can drop in the files it already has."""

from __future__ import annotations

import io
import re
from pathlib import Path

from assistant.errors import CorpusError
from assistant.pasted import pipe_table

MARKDOWN = (".md", ".html", ".htm", ".docx")  # read as Markdown: headings, lists, tables, emphasis
TEXT = (".txt", ".pdf")  # read as plain text: question lines, Q:/A: labels
SUFFIXES = MARKDOWN + TEXT
BINARY = (".docx", ".pdf")
MAX_TEXT_BYTES = 2 * 1024 * 1024  # a book's worth of text; bigger is a mistake, and would take hours to embed
MAX_BINARY_BYTES = 20 * 1024 * 1024  # Word and PDF files carry images and fonts besides their text

# Page furniture a saved web page repeats around its content: menus, banners, footers, forms
_BOILERPLATE = re.compile(
    r"<(head|nav|header|footer|aside|form|noscript|svg|iframe|button|select)\b[^>]*>.*?(?:</\1\s*>|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_ITEM = re.compile(r"^(?:[-*•‣◦▪–]|\d{1,3}[.)])\s")
_HEADING_STYLE = re.compile(r"^(?:heading\s*(\d)|title)$", re.IGNORECASE)


def is_markdown(name: str) -> bool:
    return Path(name).suffix.lower() in MARKDOWN


def max_bytes(name: str) -> int:
    return MAX_BINARY_BYTES if Path(name).suffix.lower() in BINARY else MAX_TEXT_BYTES


def document_text(name: str, raw: bytes) -> str:
    """The text of one corpus file, named by its path in the corpus; CorpusError says what to do when it can't
    be read."""
    suffix = Path(name).suffix.lower()
    if suffix == ".docx":
        text = _docx(name, raw)
    elif suffix == ".pdf":
        text = _pdf(name, raw)
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise CorpusError(f"{name} is not UTF-8 text (byte {e.start}); re-save it as UTF-8") from None
        if suffix in (".html", ".htm"):
            text = _BOILERPLATE.sub("\n\n", text)
    if len(text.encode()) > MAX_TEXT_BYTES:
        raise CorpusError(f"{name} holds more than {MAX_TEXT_BYTES // 2**20} MB of text; split it into smaller documents")
    return text


def _docx(name: str, raw: bytes) -> str:
    """A Word document as Markdown: heading styles as headings, list paragraphs as items, a paragraph in bold
    as bold (a question in bold reads as a question heading), tables as pipe tables."""
    try:
        import docx
        from docx.table import Table

        document = docx.Document(io.BytesIO(raw))
        blocks = list(document.iter_inner_content())
    except Exception as e:  # noqa: BLE001 - python-docx raises many kinds for a damaged or mislabelled file
        raise CorpusError(f"{name} could not be read as a Word document ({type(e).__name__}); "
                          "open it in Word and save it again as .docx, or save it as .txt") from None
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Table):
            table = pipe_table([[" ".join(c.text.split()) for c in row.cells] for row in block.rows])
            if table:
                out.append(table)
            continue
        text = " ".join(block.text.split())
        if not text:
            continue
        style = (block.style.name if block.style is not None else "") or ""
        heading = _HEADING_STYLE.match(style.strip())
        if heading:
            out.append(f"{'#' * min(int(heading.group(1) or 1), 6)} {text}")
        elif style.lower().startswith("list") or block._p.pPr is not None and block._p.pPr.numPr is not None:
            # (numbering has no public API in python-docx: a numbered paragraph carries numPr)
            item = f"- {text}"
            if out and (out[-1].rsplit("\n", 1)[-1].startswith("- ") or out[-1].endswith(":")):
                out[-1] += f"\n{item}"  # a list stays one block with its lead-in
            else:
                out.append(item)
        elif (runs := [r for r in block.runs if r.text.strip()]) and all(r.bold for r in runs):
            out.append(f"**{text}**")
        else:
            out.append(text)
    return "\n\n".join(out)


def _pdf(name: str, raw: bytes) -> str:
    """A PDF's text layer, page by page."""
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise CorpusError(f"{name} is password-protected; save an unprotected copy or save it as .txt")
        pages = [page.extract_text(extraction_mode="layout") or "" for page in reader.pages]  # gaps as blank lines
    except CorpusError:
        raise
    except Exception as e:  # noqa: BLE001 - pypdf raises many kinds for a damaged file
        raise CorpusError(f"{name} could not be read as a PDF ({type(e).__name__}); export it again, or save it as .txt") from None
    text = "\n\n".join(_pdf_lines(p) for p in pages if p.strip())
    if not text:
        raise CorpusError(f"{name} has no text to read (a scanned PDF?); save its text as .txt or .md")
    return text


def _pdf_lines(page: str) -> str:
    """A page laid out as text, read as a text file would be written: column padding dropped, a paragraph's
    wrapped lines joined (a list item starts its own line), and a question line that starts a new sentence set
    apart from the answer under it."""
    out: list[str] = []
    for raw in page.splitlines():
        line = " ".join(raw.split())
        after_sentence = not out or not out[-1] or out[-1].endswith((".", "!", "?", ":"))
        if line.endswith("?") and after_sentence and len(line.split()) <= 20:
            out += ["", line, ""]
        elif out and out[-1] and line and not _ITEM.match(line) and not out[-1].endswith(":"):
            out[-1] += f" {line}"
        else:
            out.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()
