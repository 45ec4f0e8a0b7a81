"""``quantity-curve`` output: the table and text chart of a curve, and its picture.

The table lists runs of store quantities that list the same quantity by the same rule
(``1-9 → 2 below_threshold``), which is the shape a threshold rule has; the text chart draws one
bar per store quantity (sampled for long curves, always keeping the points where the rule or the
quantity changes). ``--plot`` draws the curve with matplotlib (the ``plot`` extra), marking the
threshold, the buffer and the cap.
"""

from __future__ import annotations

import codecs
import importlib.util
from collections.abc import Sequence
from pathlib import Path

from policy_engine._curve import CurvePoint
from policy_engine._inventory import InventoryPolicy
from policy_engine.cli._io import USAGE, CliError, os_problem

__all__ = ["check_plot_target", "curve_text", "save_plot", "settings_text"]

#: Table rows shown before the middle of a long table is left out.
TABLE_ROWS = 60
#: A curve of at most this many points is charted whole.
ALL_POINTS = 61
#: Bars a longer curve's chart samples (plus the points where the curve changes, when few).
CHART_ROWS = 40
#: The longest bar, in characters.
BAR_WIDTH = 40
PLOT_SUFFIXES = (".svg", ".png")
#: A curve of at most this many points is drawn with a dot per point, coloured by rule.
MARKED_POINTS = 101
RULE_COLORS = ("tab:gray", "tab:purple", "tab:cyan", "tab:olive", "tab:brown", "tab:pink")


def settings_text(policy: InventoryPolicy) -> str:
    """The settings that shape the curve, in words."""
    parts: list[str] = []
    threshold = policy.threshold
    if threshold is not None:
        parts.append(
            f"threshold {threshold.value} (above: {threshold.above}, below: {threshold.below})"
        )
    if policy.buffer:
        parts.append(f"buffer {policy.buffer}")
    if policy.percentage != 100:
        parts.append(f"{policy.percentage}% of the stock")
    if policy.cap_at_stock:
        parts.append("capped at the sellable stock")
    if policy.max_quantity is not None:
        parts.append(f"max quantity {policy.max_quantity}")
    if policy.msi is not None:
        sources = ", ".join(policy.msi.sources) or "every source"
        salable = ", salable quantity" if policy.msi.salable else ""
        parts.append(f"MSI ({sources}{salable})")
    if policy.default_when_out_of_stock:
        parts.append(f"default quantity {policy.default_quantity} when out of stock")
    return "; ".join(parts) or "lists the store quantity"


def _runs(points: Sequence[CurvePoint]) -> list[tuple[CurvePoint, CurvePoint]]:
    """Maximal runs of consecutive points with the same rule where the listed quantity stays the
    same, or goes up by exactly one with each unit of stock: ``(first, last)``."""
    runs: list[tuple[CurvePoint, CurvePoint]] = []
    for point in points:
        if runs:
            first, last = runs[-1]
            step = point.quantity - last.quantity
            same_rule = point.rule == first.rule and step in (0, 1)
            # The run's slope so far (0 or 1) must be this step's.
            slope = last.quantity - first.quantity == step * (
                last.store_quantity - first.store_quantity
            )
            if same_rule and slope:
                runs[-1] = (first, point)
                continue
        runs.append((point, point))
    return runs


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _markers(policy: InventoryPolicy, points: Sequence[CurvePoint]) -> dict[int, list[str]]:
    marks: dict[int, list[str]] = {}
    last = points[-1].store_quantity
    if policy.threshold is not None and policy.threshold.value <= last:
        marks.setdefault(policy.threshold.value, []).append(f"threshold {policy.threshold.value}")
    if policy.buffer and policy.buffer <= last:
        marks.setdefault(policy.buffer, []).append(f"buffer {policy.buffer}")
    cap = policy.max_quantity
    if cap is not None:
        capped = next((p for p in points if p.quantity == cap and cap > 0), None)
        if capped is not None:
            marks.setdefault(capped.store_quantity, []).append(f"max quantity {cap}")
    return marks


def _chart_points(
    points: Sequence[CurvePoint], runs: Sequence[tuple[CurvePoint, CurvePoint]], marks: set[int]
) -> list[CurvePoint]:
    if len(points) <= ALL_POINTS:
        return list(points)
    last = len(points) - 1
    chosen = {round(index * last / CHART_ROWS) for index in range(CHART_ROWS + 1)}
    changes = {p.store_quantity for run in runs for p in run}
    if len(changes) <= CHART_ROWS:
        chosen |= changes
    chosen |= marks
    return [points[index] for index in sorted(chosen)]


def _bar_char(encoding: str | None) -> str:
    try:
        "█".encode(codecs.lookup(encoding or "ascii").name)
    except (LookupError, UnicodeEncodeError):
        return "#"
    return "█"


def curve_text(
    policy_id: str,
    policy: InventoryPolicy,
    points: Sequence[CurvePoint],
    *,
    encoding: str | None = "utf-8",
) -> str:
    """The curve as text: a heading, the table of runs and the text chart."""
    last = points[-1].store_quantity
    lines = [
        f"inventory policy {policy_id!r} ({policy.title}), store quantity 0 to {last}",
        f"  {settings_text(policy)}",
        "",
    ]
    runs = _runs(points)
    ranges = [_span(first.store_quantity, last.store_quantity) for first, last in runs]
    listed = [_span(first.quantity, last.quantity) for first, last in runs]
    width = max(len("store qty"), *(len(text) for text in ranges))
    listed_width = max(len("listed"), *(len(text) for text in listed))
    lines.append(f"{'store qty':>{width}}  {'listed':>{listed_width}}  rule")
    shown = list(range(len(runs)))
    if len(runs) > TABLE_ROWS:
        half = TABLE_ROWS // 2
        shown = [*range(half), -1, *range(len(runs) - half, len(runs))]
    for index in shown:
        if index < 0:
            hidden = len(runs) - 2 * (TABLE_ROWS // 2)
            lines.append(f"{'...':>{width}}  ({hidden} more rows; --format csv lists every point)")
            continue
        rule = runs[index][0].rule.value
        lines.append(f"{ranges[index]:>{width}}  {listed[index]:>{listed_width}}  {rule}")

    marks = _markers(policy, points)
    chosen = _chart_points(points, runs, set(marks))
    top = max(point.quantity for point in points)
    scale = max(1, -(-top // BAR_WIDTH))  # ceil(top / BAR_WIDTH)
    char = _bar_char(encoding)
    unit = f"each {char} is {scale}"
    sampled = "" if len(chosen) == len(points) else f", {len(chosen)} of {len(points)} points"
    lines.extend(["", f"listed quantity by store quantity ({unit}{sampled})"])
    label = len(str(last))
    for point in chosen:
        bar = char * -(-point.quantity // scale)
        mark = marks.get(point.store_quantity)
        note = f"  <- {', '.join(mark)}" if mark else ""
        lines.append(f"{point.store_quantity:>{label}} |{bar} {point.quantity}{note}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------- plot


def check_plot_target(name: str) -> None:
    """Fail early (a usage error) for a file type that cannot be drawn or no matplotlib."""
    suffix = Path(name).suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise CliError(
            [f"{name}: --plot draws .svg or .png files (got {suffix or 'no suffix'!r})"], USAGE
        )
    if importlib.util.find_spec("matplotlib") is None:
        raise CliError(
            ["--plot needs matplotlib: install the plot extra: pip install 'policy-engine[plot]'"],
            USAGE,
        )


def save_plot(
    policy_id: str, policy: InventoryPolicy, points: Sequence[CurvePoint], name: str
) -> None:
    """Draw the curve to an SVG or PNG file: a step line, with the threshold, buffer and cap.

    The picture is the same bytes for the same curve (fixed SVG ids, no date in the metadata).
    """
    # matplotlib is an optional extra, imported only to draw.
    import matplotlib  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    xs = [point.store_quantity for point in points]
    ys = [point.quantity for point in points]
    with matplotlib.rc_context({"svg.hashsalt": "policy-engine", "svg.fonttype": "none"}):
        figure = Figure(figsize=(8, 4.5), layout="constrained")
        axes = figure.subplots()
        axes.step(xs, ys, where="post", color="tab:blue", linewidth=1.8, label="listed quantity")
        if len(points) <= MARKED_POINTS:
            by_rule: dict[str, list[CurvePoint]] = {}
            for point in points:
                by_rule.setdefault(point.rule.value, []).append(point)
            for (rule, members), color in zip(by_rule.items(), RULE_COLORS, strict=False):
                axes.plot(
                    [p.store_quantity for p in members],
                    [p.quantity for p in members],
                    "o",
                    color=color,
                    markersize=4,
                    label=rule,
                )
        threshold = policy.threshold
        if threshold is not None:
            axes.axvline(
                threshold.value,
                color="tab:red",
                linestyle="--",
                linewidth=1,
                label=f"threshold {threshold.value}",
            )
        if policy.buffer:
            axes.axvline(
                policy.buffer,
                color="tab:green",
                linestyle=":",
                linewidth=1.2,
                label=f"buffer {policy.buffer}",
            )
        if policy.max_quantity is not None:
            axes.axhline(
                policy.max_quantity,
                color="tab:orange",
                linestyle="-.",
                linewidth=1,
                label=f"max quantity {policy.max_quantity}",
            )
        right = max(1, xs[-1])
        top = max(1, *ys, policy.max_quantity or 0)
        axes.set_xlim(-right * 0.02, right * 1.02)
        axes.set_ylim(-top * 0.03, top * 1.1)
        axes.set_xlabel("store quantity")
        axes.set_ylabel("listed quantity")
        axes.set_title(f"Inventory policy {policy_id!r} ({policy.title})")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(visible=True, alpha=0.3)
        axes.legend(loc="best", fontsize="small")
        suffix = Path(name).suffix.lower()
        metadata: dict[str, str | None] = {"Date": None} if suffix == ".svg" else {"Software": None}
        try:
            figure.savefig(name, format=suffix[1:], metadata=metadata)
        except OSError as error:
            raise os_problem(name, error) from None
