"""Small inline SVG charts for the dashboard: bars, columns, changes, a stacked bar, a heat
map, a line.

Each function returns one ``<svg>`` element as a string at its natural size;
the stylesheet shrinks it (never enlarges it) to fit its panel.  Colours come from CSS
classes (``caro.css``), never from inline styles, so the dashboard's
Content-Security-Policy needs no ``'unsafe-inline'``; only geometry and
``fill-opacity`` are attributes.  Every label is HTML-escaped, and every bar,
cell and point carries a ``<title>`` that browsers show on hover, without
JavaScript.
"""

from html import escape

FONT_PX = 11


def _svg(width, height, title, body):
    return (f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" '
            f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
            f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def _num(value):
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(rows, title, width=420, label_width=120, bar_height=16, gap=6):
    """Horizontal bars, one per row, longest = the largest value.

    :param rows: ``(label, value, css_class, note)``: the bar's class (for its
        colour) and the text written after the bar (``"45"``, ``"89%"``).
    """
    note_width = 7 * max((len(note) for _, _, _, note in rows), default=0) + 8
    peak = max((value for _, value, _, _ in rows), default=0) or 1
    scale = (width - label_width - note_width) / peak
    body = []
    for index, (label, value, css_class, note) in enumerate(rows):
        shown = label if len(label) <= 18 else label[:17] + "…"
        y = index * (bar_height + gap)
        length = max(value * scale, 1 if value else 0)
        text_y = y + bar_height / 2 + FONT_PX / 2 - 1
        body.append(
            f'<text class="label" x="{label_width - 6}" y="{_num(text_y)}" text-anchor="end">'
            f'{escape(shown)}</text>'
            f'<rect class="bar {escape(css_class)}" x="{label_width}" y="{y}" '
            f'width="{_num(length)}" height="{bar_height}"><title>{escape(label)}: '
            f'{escape(note)}</title></rect>'
            f'<text class="note" x="{_num(label_width + length + 6)}" y="{_num(text_y)}">'
            f'{escape(note)}</text>')
    height = max(len(rows) * (bar_height + gap) - gap, bar_height)
    return _svg(width, height, title, body)


def heat_map(matrix, row_labels, column_labels, title, describe, cell=15, gap=2):
    """A grid of cells whose opacity grows with their value (the largest is opaque).

    :param matrix: rows of numbers, all of the same length.
    :param column_labels: one label per column; empty strings are not drawn.
    :param describe: ``describe(row, column, value)`` → the cell's hover text.
    """
    left, top = 34, FONT_PX + 6
    peak = max((value for row in matrix for value in row), default=0) or 1
    body = []
    for column, label in enumerate(column_labels):
        if label:
            body.append(f'<text class="label" x="{left + column * (cell + gap)}" y="{FONT_PX}">'
                        f'{escape(label)}</text>')
    for r, row in enumerate(matrix):
        y = top + r * (cell + gap)
        body.append(f'<text class="label" x="0" y="{y + cell - 3}">{escape(row_labels[r])}</text>')
        for c, value in enumerate(row):
            opacity = 0.08 + 0.92 * value / peak if value else 1
            body.append(
                f'<rect class="cell{"" if value else " empty"}" x="{left + c * (cell + gap)}" '
                f'y="{y}" width="{cell}" height="{cell}" fill-opacity="{opacity:.2f}">'
                f'<title>{escape(describe(r, c, value))}</title></rect>')
    width = left + len(column_labels) * (cell + gap)
    height = top + len(matrix) * (cell + gap)
    return _svg(width, height, title, body)


def line_chart(values, labels, title, describe, y_max=None, y_label=_num, width=420, height=140):
    """A line through ``values`` (None leaves a gap), with a point per known value.

    :param labels: one x label per value; the first, middle and last are drawn.
    :param describe: ``describe(index, value)`` → a point's hover text.
    :param y_max: the top of the y axis (default: the largest value).
    :param y_label: formats the axis' top value.
    """
    left, right, top, bottom = 40, 8, 8, FONT_PX + 8
    known = [v for v in values if v is not None]
    y_max = y_max or max(known, default=0) or 1
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(values) - 1, 1)

    def point(index, value):
        return left + index * step, top + plot_h * (1 - min(value, y_max) / y_max)

    body = [f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - right}" '
            f'y2="{top + plot_h}"/>',
            f'<text class="label" x="{left - 4}" y="{top + FONT_PX}" text-anchor="end">'
            f'{escape(y_label(y_max))}</text>',
            f'<text class="label" x="{left - 4}" y="{top + plot_h}" text-anchor="end">'
            f'{escape(y_label(0))}</text>']
    segment = []
    for index, value in enumerate(values + [None]):
        if value is not None:
            segment.append(point(index, value))
        elif segment:
            body.append('<polyline class="line" fill="none" points="'
                        + " ".join(f"{_num(x)},{_num(y)}" for x, y in segment) + '"/>')
            segment = []
    for index, value in enumerate(values):
        if value is not None:
            x, y = point(index, value)
            body.append(f'<circle class="point" cx="{_num(x)}" cy="{_num(y)}" r="3">'
                        f'<title>{escape(describe(index, value))}</title></circle>')
    shown = sorted({0, len(labels) // 2, len(labels) - 1}) if labels else []
    for index in shown:
        anchor = "start" if index == 0 else "end" if index == len(labels) - 1 else "middle"
        body.append(f'<text class="label" x="{_num(left + index * step)}" y="{height - 2}" '
                    f'text-anchor="{anchor}">{escape(labels[index])}</text>')
    return _svg(width, height, title, body)


def column_chart(values, labels, title, describe, width=420, height=110, label_every=1):
    """Vertical columns, one per value, the highest reaching the top.

    :param labels: one x label per column; every ``label_every``-th one is drawn.
    :param describe: ``describe(index, value)`` → a column's hover text.
    """
    top, bottom = 4, FONT_PX + 6
    peak = max(values, default=0) or 1
    plot_h = height - top - bottom
    step = width / max(len(values), 1)
    body = [f'<line class="axis" x1="0" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}"/>']
    for index, value in enumerate(values):
        column = max(plot_h * value / peak, 1 if value else 0)
        body.append(f'<rect class="bar" x="{_num(index * step + 1)}" '
                    f'y="{_num(top + plot_h - column)}" width="{_num(max(step - 2, 1))}" '
                    f'height="{_num(column)}">'
                    f'<title>{escape(describe(index, value))}</title></rect>')
        if index % label_every == 0:
            body.append(f'<text class="label" x="{_num(index * step + step / 2)}" y="{height - 2}" '
                        f'text-anchor="middle">{escape(labels[index])}</text>')
    return _svg(width, height, title, body)


def change_chart(rows, title, width=420, label_width=120, bar_height=16, gap=6, limit=1.0):
    """Bars right (up) or left (down) of a centre line: changes against a previous period.

    :param rows: ``(label, change, css_class, note)``: ``change`` is a fraction
        (0.23 for +23 %), drawn clipped to ``±limit``; None draws no bar
        (nothing to compare with).  ``note`` is written right of the bars.
    :param limit: the change that reaches the edge of the chart.
    """
    note_width = 7 * max((len(note) for _, _, _, note in rows), default=0) + 8
    half = (width - label_width - note_width) / 2
    centre = label_width + half
    height = max(len(rows) * (bar_height + gap) - gap, bar_height)
    body = [f'<line class="axis" x1="{_num(centre)}" y1="0" x2="{_num(centre)}" y2="{height}"/>']
    for index, (label, change, css_class, note) in enumerate(rows):
        shown = label if len(label) <= 18 else label[:17] + "…"
        y = index * (bar_height + gap)
        text_y = y + bar_height / 2 + FONT_PX / 2 - 1
        body.append(f'<text class="label" x="{label_width - 6}" y="{_num(text_y)}" '
                    f'text-anchor="end">{escape(shown)}</text>')
        if change is not None:
            length = max(half * min(abs(change), limit) / limit, 1)
            x = centre if change >= 0 else centre - length
            body.append(f'<rect class="bar {escape(css_class)}" x="{_num(x)}" y="{y}" '
                        f'width="{_num(length)}" height="{bar_height}"><title>{escape(label)}: '
                        f'{escape(note)}</title></rect>')
        body.append(f'<text class="note" x="{_num(centre + half + 6)}" y="{_num(text_y)}">'
                    f'{escape(note)}</text>')
    return _svg(width, height, title, body)


def stacked_bar(parts, title, width=420, height=14):
    """One bar split into consecutive parts, each as wide as its share of the sum.

    :param parts: ``(value, css_class, description)``; the description is the
        part's hover text.  Parts of value 0 are not drawn.
    """
    total = sum(value for value, _, _ in parts) or 1
    body, x = [], 0.0
    for value, css_class, description in parts:
        if value:
            length = width * value / total
            body.append(f'<rect class="bar {escape(css_class)}" x="{_num(x)}" y="0" '
                        f'width="{_num(length)}" height="{height}">'
                        f'<title>{escape(description)}</title></rect>')
            x += length
    if not body:
        body.append(f'<rect class="bar empty" x="0" y="0" width="{width}" height="{height}">'
                    f'<title>{escape(title)}</title></rect>')
    return _svg(width, height, title, body)
