"""Studies per year: a sparkline for terminals and Markdown, an inline SVG bar chart for HTML."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

BLOCKS = " ▁▂▃▄▅▆▇█"
MAX_YEARS = 30  # a longer span is cut to its most recent years: the chart stays one short line


def year_span(series: Iterable[Sequence[tuple[int, int]]]) -> tuple[int, int] | None:
    """One span for every claim's chart, so the bars line up row under row."""
    years = [year for per_year in series for year, _ in per_year]
    if not years:
        return None
    last = max(years)
    return max(min(years), last - MAX_YEARS + 1), last


def counts_in(per_year: Sequence[tuple[int, int]], span: tuple[int, int]) -> list[int]:
    got = dict(per_year)
    return [got.get(year, 0) for year in range(span[0], span[1] + 1)]


def sparkline(per_year: Sequence[tuple[int, int]], span: tuple[int, int] | None) -> str:
    """'▁▁▃█▅': one character a year, height relative to the claim's busiest year."""
    if span is None:
        return ""
    counts = counts_in(per_year, span)
    top = max(counts, default=0)
    if top == 0:
        return "·" * len(counts)
    # Any study at all shows at least the lowest block; an empty year is a blank.
    return "".join(BLOCKS[0] if n == 0 else BLOCKS[max(1, round(n / top * 8))] for n in counts)


def svg_bars(per_year: Sequence[tuple[int, int]], span: tuple[int, int] | None, *,
             width: int = 320, height: int = 64, label: str = "") -> str:
    """An inline <svg> bar chart, one bar a year, each with a tooltip; first and last year labelled."""
    if span is None:
        return ""
    counts = counts_in(per_year, span)
    top = max(counts, default=0) or 1
    plot_h = height - 14  # room for the year labels
    bar_w = width / len(counts)
    bars = []
    for i, n in enumerate(counts):
        if not n:
            continue
        h = max(1.0, n / top * (plot_h - 2))
        year = span[0] + i
        bars.append(
            f'<rect x="{i * bar_w + 0.5:.1f}" y="{plot_h - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
            f'height="{h:.1f}"><title>{year}: {n} {"study" if n == 1 else "studies"}</title></rect>'
        )
    title = escape(f"{label}: studies per year, {span[0]}-{span[1]}" if label else f"Studies per year, {span[0]}-{span[1]}")
    return (
        f'<svg class="chart" role="img" aria-label="{title}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>'
        f'<line x1="0" y1="{plot_h}" x2="{width}" y2="{plot_h}" class="axis"/>'
        + "".join(bars)
        + f'<text x="0" y="{height - 2}">{span[0]}</text>'
        f'<text x="{width}" y="{height - 2}" text-anchor="end">{span[1]}</text>'
        f'<text x="{width}" y="10" text-anchor="end">max {max(counts)}</text></svg>'
    )
