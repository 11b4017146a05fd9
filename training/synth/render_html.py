"""HTML page as government portals publish it: <p> paragraphs and real <table>s with rowspan/colspan."""
from __future__ import annotations

from html import escape

from training.synth.compose import SynthDoc
from training.synth.fonts import FAMILIES
from training.synth.tables import Table


def _table(table: Table, doc: SynthDoc) -> str:
    st = doc.style
    ruled = st.rules.get(table.section, "full") != "none" and st.html_border
    attrs = ' border="1" cellspacing="0" cellpadding="0"' if ruled else ' border="0" cellspacing="0"'
    style = "border-collapse:collapse;width:100%;" + (f"font-size:{st.table_size + 1:g}pt;")
    out = [f'<table{attrs} style="{style}"><tbody>']
    for row in table.rows():
        out.append("<tr>")
        for c in row:
            span = (f' rowspan="{c.rowspan}"' if c.rowspan > 1 else "") + (
                f' colspan="{c.colspan}"' if c.colspan > 1 else "")
            align = "center" if c.header or not c.label else st.label_align
            text = escape(c.text)
            if st.html_border and (c.row + c.col) % 3 == 0:
                text = f"<p>{text}</p>"  # portals wrap some cells' text in <p>, some not
            out.append(f'<td{span} style="text-align:{align};">{text}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def render_html(doc: SynthDoc) -> str:
    st = doc.style
    family = FAMILIES[st.font]
    body = []
    for block in doc.blocks:
        if block.kind == "title":
            body.append(f'<h1 style="text-align:center;font-size:{st.title_size:g}pt;">{escape(block.text)}</h1>')
        elif block.kind == "heading":
            weight = "bold" if st.heading_bold else "normal"
            body.append(f'<p style="text-indent:2em;font-weight:{weight};">{escape(block.text)}</p>')
        elif block.kind == "para":
            body.append(f'<p style="text-indent:2em;">{escape(block.text)}</p>')
        elif block.kind == "table":
            body.append(_table(block.table, doc))
        elif block.kind == "sign":
            body.append(f'<p style="text-align:{st.signature_align};">{escape(block.text)}</p>')
    title = escape(doc.blocks[0].text)
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{title}</title>\n"
            f"<style>body{{font-family:'{family}',serif;font-size:{st.body_size:g}pt;line-height:{st.leading:.2f};"
            f"max-width:900px;margin:0 auto;}} td{{padding:2px 4px;}}</style>\n"
            "</head>\n<body>\n<div class=\"article\">\n" + "\n".join(body) + "\n</div>\n</body>\n</html>\n")
