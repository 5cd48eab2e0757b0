"""The site's Jinja2 environment and the filters its templates format numbers with."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from randbench import __version__
from randbench.leaderboard.board import slug


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("randbench.leaderboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        score=fmt_score, interval=fmt_interval, pct=fmt_pct, num=fmt_num, p=fmt_p, slug=slug,
        bucket=score_bucket,
    )  # fmt: skip
    env.globals.update(version=__version__)
    return env


def fmt_score(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def score_bucket(value: float | None) -> str:
    """A CSS class for a score's shade: b0 (0-10) ... b10 (100 and above)."""
    if value is None:
        return "bnone"
    return f"b{min(10, max(0, int(10 * value)))}"


def fmt_interval(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return ""
    return f"{100 * interval[0]:.1f} – {100 * interval[1]:.1f}"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def fmt_num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}g}"


def fmt_p(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
