"""Sphinx directives of zoo's documentation.

``zoo-table``: a ``csv-table`` read from ``:file:`` that renders a short note instead of failing the
``-W`` build when the generated CSV has a header but no rows yet (a dataset without published weights),
and shows bare URLs in cells by their file name (the link still points at the URL).

``zoo-table`` also links model names to their cards (``:link-names:``) and shows a column as
copyable code (``:code-column: Use it``).

``optional-figure``: a ``figure`` whose image is a generated file (``docs/_static/speed_accuracy.png``);
when the file has not been generated the directive renders its ``:missing:`` text instead.
"""
from __future__ import annotations

import csv
import os

from docutils import nodes
from sphinx import addnodes
from docutils.parsers.rst import directives
from docutils.parsers.rst.directives.images import Figure
from docutils.parsers.rst.directives.tables import CSVTable


def _paragraph(directive, text: str) -> list[nodes.Node]:
    """``text`` parsed as inline reStructuredText inside one paragraph."""
    inline, messages = directive.state.inline_text(text, directive.lineno)
    return [nodes.paragraph(text, "", *inline), *messages]


def _shorten_links(node: nodes.Node) -> nodes.Node:
    """Bare URLs in table cells (training logs, configs) shown by their file name; the link keeps the URL."""
    if isinstance(node, nodes.Element):
        for ref in list(node.findall(nodes.reference)):
            uri = ref.get("refuri", "")
            if uri.startswith(("http://", "https://")) and ref.astext() == uri:
                label = uri.rstrip("/").rsplit("/", 1)[-1] or uri
                for child in list(ref.children):
                    ref.remove(child)
                ref.append(nodes.Text(label))
                ref["reftitle"] = uri
    return node


def _body_cells(table: nodes.Node, column: int) -> list[nodes.entry]:
    """The body cells of one column (0-based) of the tables under ``table``."""
    cells = []
    for body in table.findall(nodes.tbody):
        for row in body.findall(nodes.row):
            entries = [e for e in row.children if isinstance(e, nodes.entry)]
            if column < len(entries):
                cells.append(entries[column])
    return cells


def _link_names(table: nodes.Node) -> None:
    """First-column model names become links to their card (label ``model-<name>``)."""
    for cell in _body_cells(table, 0):
        name = cell.astext().strip()
        if not name:
            continue
        ref = addnodes.pending_xref("", nodes.inline(name, name), refdomain="std", reftype="ref",
                                    reftarget=f"model-{name}".lower(), refexplicit=True, refwarn=True)
        cell.children = [nodes.paragraph("", "", ref)]


def _code_column(table: nodes.Node, header: str) -> None:
    """Cells of the column headed ``header`` shown as code a reader can copy (``zoo-copy``)."""
    head = [e.astext().strip() for e in next(table.findall(nodes.thead), nodes.thead()).findall(nodes.entry)]
    if header not in head:
        return
    for cell in _body_cells(table, head.index(header)):
        text = cell.astext().strip()
        if text:
            cell.children = [nodes.paragraph("", "", nodes.literal(text, text, classes=["zoo-copy"]))]


class ZooTable(CSVTable):
    """``csv-table`` with a ``:file:``; a header-only file renders ``:empty:`` (a default note).

    ``:link-names:`` links the first column's model names to their cards; ``:code-column: HEADER``
    shows that column's cells as copyable code.
    """

    option_spec = {**CSVTable.option_spec, "empty": directives.unchanged, "link-names": directives.flag,
                   "code-column": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        if "file" not in self.options:
            return super().run()
        env = self.state.document.settings.env
        _, path = env.relfn2path(self.options["file"], env.docname)
        if not os.path.isfile(path):
            return super().run()  # csv-table reports the missing file itself
        env.note_dependency(path)
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
        if len(rows) > int(self.options.get("header-rows", 0)):
            self.options.pop("empty", None)
            link_names = self.options.pop("link-names", False) is None
            code_column = self.options.pop("code-column", None)
            out = [_shorten_links(node) for node in super().run()]
            for node in out:
                if link_names:
                    _link_names(node)
                if code_column:
                    _code_column(node, code_column)
            return out
        note = self.options.get("empty", "The generated table has no rows yet: no weights of this dataset were in "
                                         "the cards when ``python scripts/make_tables.py`` last ran.")
        return _paragraph(self, note)


class OptionalFigure(Figure):
    """``figure`` of a generated image; renders ``:missing:`` while the image does not exist."""

    option_spec = {**Figure.option_spec, "missing": directives.unchanged_required}

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        _, path = env.relfn2path(self.arguments[0], env.docname)
        env.note_dependency(path)
        missing = self.options.pop("missing", "The figure has not been generated yet.")
        if os.path.isfile(path):
            return super().run()
        return _paragraph(self, missing)


def setup(app) -> dict:
    app.add_directive("zoo-table", ZooTable)
    app.add_directive("optional-figure", OptionalFigure)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
