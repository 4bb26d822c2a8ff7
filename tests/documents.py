"""Office files for tests, built in code: a Word document with python-docx, a PDF by hand (no PDF writer needed)."""

from __future__ import annotations


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with these lines in Helvetica, an empty line leaving a gap."""
    ops, y = ["BT /F1 11 Tf"], 760
    for line in lines:
        if line:
            text = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"1 0 0 1 60 {y} Tm ({text}) Tj")
        y -= 28 if not line else 14
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_docx(blocks: list[tuple[str, object]]) -> bytes:
    """A Word document from (kind, content) blocks: ("heading", text), ("para", text), ("bold", text),
    ("item", text) as a bulleted list paragraph, ("table", [[cell, ...], ...])."""
    import io

    import docx

    document = docx.Document()
    for kind, content in blocks:
        if kind == "heading":
            document.add_heading(content, level=2)
        elif kind == "item":
            document.add_paragraph(content, style="List Bullet")
        elif kind == "bold":
            document.add_paragraph().add_run(content).bold = True
        elif kind == "table":
            table = document.add_table(rows=len(content), cols=len(content[0]))
            for row, values in zip(table.rows, content):
                for cell, value in zip(row.cells, values):
                    cell.text = value
        else:
            document.add_paragraph(content)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
