"""Figures of the report, drawn with matplotlib and returned as inline SVG text.

Every figure is drawn on a bare :class:`matplotlib.figure.Figure` (no pyplot,
no global state) inside an ``rc_context`` that makes the SVG deterministic
(``svg.hashsalt`` fixed, no date in the metadata) and keeps text as text
(``svg.fonttype = 'none'``), so the same inputs give the same bytes.

The SVG is then passed through :func:`sanitize_svg`, which parses it as XML
and keeps only what an inline figure needs: no ``<script>``, no
``<foreignObject>``, no event-handler attributes, no ``<metadata>`` (it
carries RDF links), no reference that leaves the document (only ``#id``
fragments survive), and every ``id`` prefixed with the figure's name so two
figures on one page cannot clash.
"""

from __future__ import annotations

import io
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.cm
import matplotlib.colors
import matplotlib.patches
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse, FancyArrowPatch

from xhs_sharing.report.format import stars
from xhs_sharing.study.spec import Study
from xhs_sharing.study.syntax import MEDIATOR_SEP

SVG_NS = "http://www.w3.org/2000/svg"


XLINK_NS = "http://www.w3.org/1999/xlink"


ET.register_namespace("", SVG_NS)


ET.register_namespace("xlink", XLINK_NS)


RC = {
    "svg.hashsalt": "xhs-sharing-report",
    "svg.fonttype": "none",
    "svg.image_inline": True,
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
}
"""rcParams every figure is drawn and saved under."""


SIG_COLOR = "#1f3b73"


NONSIG_COLOR = "#8a8a8a"


EXO_FILL = "#dce8f7"


ENDO_FILL = "#fde9cf"


BOOT_COLOR = "#1f5fa8"


MC_COLOR = "#c2571a"


_DROP_TAGS = {"script", "foreignObject", "metadata", "style", "iframe", "object", "embed", "audio", "video", "image"}


_HREF_ATTRS = {"href", f"{{{XLINK_NS}}}href"}


_URL_EXTERNAL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)


_URL_FRAGMENT = re.compile(r"url\(\s*(['\"]?)#([^)'\"\s]+)\1\s*\)")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _prune(parent: ET.Element) -> None:
    """Remove every element of :data:`_DROP_TAGS` (and comments, processing instructions) below ``parent``."""
    for child in list(parent):
        if not isinstance(child.tag, str) or _local(child.tag) in _DROP_TAGS:
            parent.remove(child)
        else:
            _prune(child)


def _clean_attributes(el: ET.Element, ids: Mapping[str, str]) -> None:
    """Drop event handlers and references that leave the document; point ``#id`` references at the new ids."""

    def fix_fragment(match: re.Match[str]) -> str:
        target = match.group(2)
        return f"url(#{ids.get(target, target)})"

    for name in list(el.attrib):
        value = el.attrib[name]
        if _local(name).lower().startswith("on"):
            del el.attrib[name]
        elif name in _HREF_ATTRS:
            if not value.startswith("#"):
                del el.attrib[name]
            else:
                el.set(name, "#" + ids.get(value[1:], value[1:]))
        elif "url(" in value.lower():
            if _URL_EXTERNAL.search(value):
                del el.attrib[name]
            else:
                el.set(name, _URL_FRAGMENT.sub(fix_fragment, value))
    if el.get("id"):
        el.set("id", ids[el.get("id")])


MIN_TEXT_PX = 9.0
"""Smallest size, in CSS px, at which any text of a figure is rendered: every SVG gets a minimum
width (``--fig-min-width``) at which its smallest text reaches this size; narrower screens scroll
the figure sideways inside its labelled container instead of shrinking it."""


_FONT_SIZE = re.compile(r"font-size:\s*([0-9.]+)(?:px)?|font:\s*(?:[a-z-]+\s+)*([0-9.]+)px")


def smallest_font(root: ET.Element) -> float | None:
    """Smallest font size (SVG user units) of the ``<text>`` elements below ``root``; None without text.

    Reads the ``style`` property ``font-size: Npx`` (or the ``font`` shorthand) matplotlib writes with
    ``svg.fonttype = 'none'``, else a ``font-size`` attribute. Limit: a ``scale()`` transform on a text's
    ancestors is not taken into account (matplotlib writes none).
    """
    sizes = []
    for el in root.iter():
        if not isinstance(el.tag, str) or _local(el.tag) != "text":
            continue
        m = _FONT_SIZE.search(el.get("style", ""))
        value = (m.group(1) or m.group(2)) if m else el.get("font-size", "").removesuffix("px")
        try:
            sizes.append(float(value))
        except ValueError:
            continue
    return min(sizes) if sizes else None


def min_width_px(root: ET.Element, min_text_px: float = MIN_TEXT_PX) -> int | None:
    """Width in CSS px at which the smallest text of the SVG renders at ``min_text_px``.

    With viewBox width W (user units) and smallest font f (user units), a rendered width w scales
    text by w / W, so text reaches ``min_text_px`` at w = ceil(W * min_text_px / f). None without
    text or viewBox.
    """
    font = smallest_font(root)
    box = root.get("viewBox", "").replace(",", " ").split()
    if font is None or font <= 0 or len(box) != 4:
        return None
    return math.ceil(float(box[2]) * min_text_px / font)


def _label_root(root: ET.Element, title: str, desc: str = "") -> None:
    """Let the ``<svg>`` scale with the page and give it an accessible name (``aria-label`` and ``<title>``),
    a ``<desc>`` when given, and the minimum width :func:`min_width_px` as the CSS custom property
    ``--fig-min-width`` (the stylesheet applies it on screen, not in print)."""
    for name in ("width", "height", "version"):
        root.attrib.pop(name, None)
    root.set("class", "figure-svg")
    root.set("role", "img")
    root.set("aria-label", title)
    root.set("preserveAspectRatio", "xMidYMid meet")
    width = min_width_px(root)
    if width is not None:
        root.set("style", f"--fig-min-width: {width}px")
    title_el = ET.Element(f"{{{SVG_NS}}}title")
    title_el.text = title
    root.insert(0, title_el)
    if desc:
        desc_el = ET.Element(f"{{{SVG_NS}}}desc")
        desc_el.text = desc
        root.insert(1, desc_el)


def sanitize_svg(svg: str | bytes, prefix: str, title: str, desc: str = "") -> str:
    """Reduce matplotlib SVG output to a self-contained inline ``<svg>`` element.

    Parameters
    ----------
    svg : str or bytes
        A complete SVG document.
    prefix : str
        Prefix for every ``id`` (and the references to it), e.g. ``"fig-htmt"``.
    title : str
        Accessible name: written as the ``<title>`` child and ``aria-label``.
    desc : str, optional
        Longer description, written as the ``<desc>`` child (omitted when empty).

    Returns
    -------
    str
        One ``<svg>`` element, without XML declaration or doctype.
    """
    data = svg.encode("utf-8") if isinstance(svg, str) else svg
    root = ET.fromstring(data)
    if _local(root.tag) != "svg":
        raise ValueError(f"not an SVG document (root element {root.tag!r})")
    _prune(root)
    ids = {el.get("id"): f"{prefix}-{el.get('id')}" for el in root.iter() if el.get("id")}
    for el in root.iter():
        _clean_attributes(el, ids)
    _label_root(root, title, desc)
    return ET.tostring(root, encoding="unicode")


def _tick_texts(ax: Axes, axis: str) -> list[str]:
    """Non-empty tick labels of one axis inside its view limits (after a draw)."""
    lo, hi = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    ticks = ax.get_xticks() if axis == "x" else ax.get_yticks()
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [t.get_text() for v, t in zip(ticks, labels) if t.get_text() and lo - 1e-9 <= v <= hi + 1e-9]


def _axes_description(ax: Axes, name: str) -> str:
    """One panel in words: its name and title, each axis (label and tick labels), legend entries, text labels."""
    bits = [f"{name} \u201c{ax.get_title()}\u201d" if ax.get_title() else name]
    if ax.axison:
        for axis, side in (("x", "horizontal"), ("y", "vertical")):
            label = ax.get_xlabel() if axis == "x" else ax.get_ylabel()
            ticks = _tick_texts(ax, axis)
            if label or ticks:
                bits.append(f"{side} axis" + (f" \u201c{label}\u201d" if label else "")
                            + (f" ({', '.join(ticks)})" if ticks else ""))
    legend = ax.get_legend()
    if legend is not None:
        bits.append("legend: " + ", ".join(t.get_text() for t in legend.get_texts()))
    labels = [t.get_text() for t in ax.texts if t.get_text().strip()]
    if labels:
        bits.append("labels: " + ", ".join(labels))
    return ": ".join(bits[:1]) + (": " + "; ".join(bits[1:]) if len(bits) > 1 else "")


def figure_description(fig: Figure, limit: int = 1200) -> str:
    """A text description of a drawn figure for its SVG ``<desc>``, generated from the figure's own
    artists (every visible panel: title, axis labels and tick labels, legend entries, text labels), so
    it names what a sighted reader sees; cut at ``limit`` characters with an ellipsis.

    >>> fig = Figure(); ax = fig.add_subplot(); _ = ax.set_title("T"); _ = ax.text(0, 0, "a"); ax.set_axis_off()
    >>> figure_description(fig)
    'Panel \u201cT\u201d: labels: a.'
    """
    axes = [ax for ax in fig.axes if ax.get_visible()]
    names = ["Panel"] if len(axes) == 1 else [f"Panel {i}" for i in range(1, len(axes) + 1)]
    text = " ".join(_axes_description(ax, name) + "." for ax, name in zip(axes, names))
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "\u2026"


def _to_svg(fig: Figure, prefix: str, title: str) -> str:
    """Save ``fig`` as SVG (transparent background, so the page's scroll cues show through) and
    sanitize it, with a ``<desc>`` from :func:`figure_description`."""
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, facecolor="none")
    return sanitize_svg(buf.getvalue(), prefix, title, figure_description(fig))


def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


HTMT_LEVELS = np.linspace(0.0, 1.0, 11)
"""Colour classes of the HTMT heat map (steps of .10)."""


def _htmt_cell(ax: Axes, i: int, j: int, v: float, threshold: float, cmap: Colormap, norm: Normalize) -> None:
    """One cell of the heat map as a vector rectangle with its value; outlined in red above ``threshold``."""
    over = v > threshold
    ax.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=cmap(norm(min(max(v, 0.0), 1.0))),
                                              edgecolor="white", linewidth=1))
    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
            color="white" if v > 0.6 else "black", fontweight="bold" if over else "normal")
    if over:
        ax.add_patch(matplotlib.patches.Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False,
                                                  edgecolor="#b3001b", linewidth=2.2))


def _htmt_axes(ax: Axes, labels: Sequence[str]) -> None:
    """Square cells, construct ids on both axes, no ticks and no left/bottom spines."""
    k = len(labels)
    ax.set_xlim(-0.5, k - 0.5)
    ax.set_ylim(k - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks(range(k), labels)
    ax.set_yticks(range(k), labels)
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


def htmt_heatmap(htmt: pd.DataFrame, threshold: float, prefix: str = "fig-htmt") -> str:
    """Heat map of the HTMT ratios (lower triangle), values written in each cell.

    Parameters
    ----------
    htmt : DataFrame
        Square, index and columns = construct ids.
    threshold : float
        Cells above it are outlined and written in bold (discriminant validity in doubt); the
        HTMT cut-off of ``checks.json``.
    """
    labels = [str(c) for c in htmt.columns]
    k = len(labels)
    values = htmt.reindex(index=htmt.columns, columns=htmt.columns).to_numpy(dtype=float)
    cmap = matplotlib.colormaps["Blues"]
    norm = matplotlib.colors.BoundaryNorm(HTMT_LEVELS, cmap.N)
    with matplotlib.rc_context(RC):
        size = 1.0 + 0.62 * k
        fig = _new_figure(size + 1.2, size)
        ax = fig.add_subplot()
        # one vector rectangle per cell (no raster image, so the SVG stays text and paths)
        for i in range(k):
            for j in range(i):
                if math.isfinite(values[i, j]):
                    _htmt_cell(ax, i, j, float(values[i, j]), threshold, cmap, norm)
        _htmt_axes(ax, labels)
        mappable = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
        bar = fig.colorbar(mappable, ax=ax, shrink=0.8, ticks=HTMT_LEVELS[::2])
        bar.set_label("HTMT")
        bar.ax.axhline(threshold, color="#b3001b", linewidth=1.5)
        ax.set_title(f"HTMT ratios (outlined in red: > {threshold:.2f})", fontsize=9)
        return _to_svg(fig, prefix, "Heat map of the heterotrait-monotrait ratios between constructs")


def residual_heatmap(resid: pd.DataFrame, order: Sequence[str], prefix: str = "fig-resid") -> str:
    """Heat map of the residual correlations (observed minus model-implied), lower triangle, items in ``order``.

    A diverging palette centred at 0 (red above, blue below), limits
    +-max(.10, largest |residual|); cells beyond +-.10 carry their value
    (two decimals), so the figure does not rely on colour alone. ``resid``
    has ``lhs, rhs, residual`` (``residual_correlations.csv``).
    """
    k = len(order)
    pos = {v: i for i, v in enumerate(order)}
    values = np.full((k, k), np.nan)
    for r in resid.itertuples():
        i, j = sorted((pos[str(r.lhs)], pos[str(r.rhs)]), reverse=True)
        values[i, j] = float(r.residual)
    lim = max(0.10, float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.10)
    cmap = matplotlib.colormaps["RdBu_r"]
    with matplotlib.rc_context(RC):
        size = 1.2 + 0.26 * k
        fig = _new_figure(size + 1.0, size)
        ax = fig.add_subplot()
        edges = np.arange(k + 1) - 0.5  # vector cells (pcolormesh), no raster image in the SVG
        image = ax.pcolormesh(edges, edges, np.ma.masked_invalid(values), cmap=cmap, vmin=-lim, vmax=lim,
                              edgecolors="white", linewidth=0.3)
        for i, j in zip(*np.nonzero(np.abs(np.nan_to_num(values)) > 0.10), strict=True):
            v = float(values[i, j])
            ax.text(j, i, ("\u2212" if v < 0 else "") + f"{abs(v):.2f}".lstrip("0"), ha="center", va="center",
                    fontsize=6, color="white" if abs(v) > 0.6 * lim else "black")
        _htmt_axes(ax, list(order))
        ax.tick_params(axis="x", labelrotation=90, labelsize=6)
        ax.tick_params(axis="y", labelsize=6)
        bar = fig.colorbar(image, ax=ax, shrink=0.8)
        bar.set_label("observed \u2212 implied correlation")
        ax.set_title("Residual correlations (values shown beyond \u00b1.10)", fontsize=9)
        svg = _to_svg(fig, prefix, "Heat map of the residual correlations between items, observed minus "
                                   "model-implied, of the structural model")
    big = resid[resid["residual"].abs() > 0.10]
    desc = (f"Lower triangle of {k} items. {len(big)} of {len(resid)} pairs differ by more than .10"
            + (": " + "; ".join(f"{r.lhs}-{r.rhs} {float(r.residual):+.2f}" for r in big.head(10).itertuples())
               if len(big) else "") + ".")
    return _with_desc(svg, desc)


def _with_desc(svg: str, text: str) -> str:
    """``svg`` with ``text`` at the end of its ``<desc>`` (added after the ``<title>`` when there is none).

    :func:`_to_svg` already writes a ``<desc>`` generated from the figure's artists (the report puts
    the caption before it); a figure with a summary of its data adds it after, so an SVG keeps
    exactly one ``<desc>``.
    """
    root = ET.fromstring(svg)
    desc = root.find(f"{{{SVG_NS}}}desc")
    if desc is None:
        desc = ET.Element(f"{{{SVG_NS}}}desc")
        root.insert(1, desc)
    desc.text = (desc.text + " " if desc.text else "") + text
    return ET.tostring(root, encoding="unicode")


def _layers(study: Study) -> dict[str, int]:
    preds: dict[str, list[str]] = {}
    for p in study.paths:
        preds.setdefault(p.target, []).append(p.source)
    depth = {c: 0 for c in study.exogenous}
    for c in study.endogenous:
        depth[c] = 1 + max(depth.get(s, 0) for s in preds.get(c, []))
    for c in study.construct_ids:
        depth.setdefault(c, 0)
    return depth


def diagram_layout(study: Study) -> dict[str, tuple[float, float]]:
    """Node positions of the path diagram: exogenous constructs in a column on the
    left, then one column per step of the causal order (SN, CN in the middle, WSI
    on the right). Middle columns with several nodes are spread to the top and
    bottom so that direct paths from the left column to the right pass between them."""
    depth = _layers(study)
    columns: dict[int, list[str]] = {}
    for c in study.construct_ids:
        columns.setdefault(depth[c], []).append(c)
    height = max(len(columns.get(0, [])) - 1, 1)
    pos: dict[str, tuple[float, float]] = {}
    for d, nodes in sorted(columns.items()):
        m = len(nodes)
        if d == 0:
            ys = [float(height - i) for i in range(m)] if m > 1 else [height / 2]
        elif m == 1:
            ys = [height / 2]
        else:
            top, bottom = height + 0.6, -0.6
            ys = [top - i * (top - bottom) / (m - 1) for i in range(m)]
        for node, y in zip(nodes, ys):
            pos[node] = (3.0 * d, y)
    return pos


def _draw_node(ax: Axes, cid: str, xy: tuple[float, float], endogenous: bool, r2: Mapping[str, float]) -> Ellipse:
    """A construct as an ellipse with its id; an endogenous one also shows its R-squared."""
    x, y = xy
    patch = Ellipse((x, y), 1.35, 0.78 if endogenous else 0.62, facecolor=ENDO_FILL if endogenous else EXO_FILL,
                    edgecolor="#333333", linewidth=1.2, zorder=3)
    ax.add_patch(patch)
    if endogenous:
        value = r2.get(cid, float("nan"))
        r2_text = f"R² = {value:.2f}" if value is not None and math.isfinite(value) else "R² = —"
        ax.text(x, y + 0.11, cid, ha="center", va="center", fontsize=10, fontweight="bold", zorder=4)
        ax.text(x, y - 0.15, r2_text, ha="center", va="center", fontsize=8, zorder=4)
    else:
        ax.text(x, y, cid, ha="center", va="center", fontsize=10, fontweight="bold", zorder=4)
    return patch


def _draw_path(ax: Axes, row: Any, pos: Mapping[str, tuple[float, float]], patches: Mapping[str, Ellipse]) -> None:
    """One structural path: solid and dark when p < .05, dashed grey otherwise; beta and stars at its middle."""
    src, dst = str(row.rhs), str(row.lhs)
    beta = float(row.std_all)
    p = float(row.pvalue) if row.pvalue is not None and pd.notna(row.pvalue) else float("nan")
    sig = math.isfinite(p) and p < 0.05
    arrow = FancyArrowPatch(
        pos[src], pos[dst], patchA=patches[src], patchB=patches[dst],
        arrowstyle="-|>", mutation_scale=11, shrinkA=1, shrinkB=1,
        linestyle="-" if sig else (0, (4, 3)), linewidth=1.5 if sig else 1.0,
        color=SIG_COLOR if sig else NONSIG_COLOR, zorder=1,
    )
    ax.add_patch(arrow)
    (ax_, ay), (bx, by) = pos[src], pos[dst]
    t = 0.5
    lx, ly = ax_ + t * (bx - ax_), ay + t * (by - ay)
    label = f"{beta:.2f}{stars(p)}" if math.isfinite(beta) else "—"
    ax.text(lx, ly, label, ha="center", va="center", fontsize=8, zorder=2,
            color=SIG_COLOR if sig else "#555555",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.9})


def path_diagram(study: Study, paths: pd.DataFrame, r2: Mapping[str, float], prefix: str = "fig-paths") -> str:
    """Path diagram with standardized coefficients and significance stars.

    Parameters
    ----------
    study : Study
        Gives the constructs and their roles.
    paths : DataFrame
        ``lhs, op, rhs, std_all, pvalue`` (rows with ``op == '~'`` between constructs are drawn).
    r2 : mapping
        Endogenous construct -> R-squared, written inside its node.
    """
    pos = diagram_layout(study)
    endogenous = set(study.endogenous)
    rows = paths[(paths["op"] == "~") & paths["lhs"].isin(list(pos)) & paths["rhs"].isin(list(pos))]
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    x0, x1 = min(xs) - 0.9, max(xs) + 0.9
    y0, y1 = min(ys) - 0.6, max(ys) + 0.6
    with matplotlib.rc_context(RC):
        width = 8.0
        fig = _new_figure(width, width * (y1 - y0) / (x1 - x0) + 0.3)
        ax = fig.add_subplot()
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.axis("off")
        patches = {cid: _draw_node(ax, cid, xy, cid in endogenous, r2) for cid, xy in pos.items()}
        for row in rows.itertuples(index=False):
            _draw_path(ax, row, pos, patches)
        return _to_svg(fig, prefix, "Path diagram of the structural model with standardized coefficients")


def forest_plot(indirect: pd.DataFrame, prefix: str = "fig-forest") -> str:
    """Forest plot of the specific indirect effects (unstandardized), with the
    percentile-bootstrap and Monte Carlo 95% intervals drawn side by side.

    Parameters
    ----------
    indirect : DataFrame
        Rows with ``effect == 'indirect'``: ``x, mediator, y, est, boot_ci_low,
        boot_ci_high, mc_ci_low, mc_ci_high``.
    """
    rows = indirect[indirect["effect"] == "indirect"].reset_index(drop=True)
    n = len(rows)
    with matplotlib.rc_context(RC):
        fig = _new_figure(7.5, 1.3 + 0.42 * max(n, 1))
        ax = fig.add_subplot()
        labels = []
        for i, row in enumerate(rows.itertuples(index=False)):
            y = n - 1 - i
            labels.append((y, " → ".join([str(row.x), *str(row.mediator).split(MEDIATOR_SEP), str(row.y)])))
            for dy, lo, hi, color, marker in (
                (0.15, row.boot_ci_low, row.boot_ci_high, BOOT_COLOR, "o"),
                (-0.15, row.mc_ci_low, row.mc_ci_high, MC_COLOR, "s"),
            ):
                ax.plot([lo, hi], [y + dy, y + dy], color=color, linewidth=1.6)
                ax.plot([row.est], [y + dy], marker=marker, color=color, markersize=4.5, linestyle="none")
        ax.axvline(0.0, color="#444444", linewidth=0.8, linestyle=(0, (3, 3)))
        if labels:
            ax.set_yticks([y for y, _ in labels], [text for _, text in labels])
        ax.set_ylim(-0.7, max(n, 1) - 0.3)
        ax.set_xlabel("Unstandardized indirect effect (product of the paths) with 95% intervals")
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        if n:
            handles = [Line2D([], [], color=BOOT_COLOR, marker="o", markersize=4.5, linewidth=1.6),
                       Line2D([], [], color=MC_COLOR, marker="s", markersize=4.5, linewidth=1.6)]
            ax.legend(handles, ["Percentile bootstrap 95% CI", "Monte Carlo 95% CI"], loc="lower center",
                      bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=8)
        return _to_svg(fig, prefix, "Forest plot of the specific indirect effects with bootstrap and Monte Carlo intervals")


def _claim_curves(ax: Axes, claim_rates: pd.DataFrame, nulls: set[str]) -> None:
    """Left panel: one line per claim (dashed for a claim of no effect), in the order of the table.

    Claim ids are the user's text: the legend gets them as explicit labels
    (matplotlib would drop a collected label starting with ``_``) with math
    parsing off (``$...$`` would go to mathtext, which raises on an unknown macro).
    """
    cmap = matplotlib.colormaps["tab20"]
    claim_ids = list(dict.fromkeys(claim_rates["claim_id"].astype(str)))
    lines = []
    for k, cid in enumerate(claim_ids):
        sub = claim_rates[claim_rates["claim_id"].astype(str) == cid].sort_values("n")
        lines += ax.plot(sub["n"], sub["reproduction_rate"], marker="o", markersize=3, linewidth=1.1,
                         color=cmap(k % 20), linestyle=(0, (4, 2)) if cid in nulls else "-")
    ax.set_title("Per claim (dashed: claims of no effect)", fontsize=9)
    ax.set_xlabel("Sample size n")
    ax.set_ylabel("Reproduction rate")
    ax.set_ylim(-0.02, 1.02)
    legend = ax.legend(lines, claim_ids, fontsize=6.5, ncol=2, loc="lower right", frameon=False)
    for text in legend.get_texts():
        text.set_parse_math(False)


def reproduction_curves(
    claim_rates: pd.DataFrame,
    joint: pd.DataFrame,
    null_claims: Sequence[str] = (),
    prefix: str = "fig-montecarlo",
) -> str:
    """Reproduction rate of each claim against the sample size, and the joint curve.

    Parameters
    ----------
    claim_rates : DataFrame
        ``claim_id, n, reproduction_rate`` (one line per claim).
    joint : DataFrame
        ``n, joint_rate, ci_low, ci_high``.
    null_claims : sequence of str
        Claim ids expected to be non-significant; drawn dashed.
    """
    with matplotlib.rc_context(RC):
        fig = _new_figure(9.0, 4.4)
        left, right = fig.subplots(1, 2, sharey=True, width_ratios=[1.35, 1])
        _claim_curves(left, claim_rates, set(null_claims))
        j = joint.sort_values("n")
        right.fill_between(j["n"], j["ci_low"], j["ci_high"], color="#bbbbbb", alpha=0.5, linewidth=0, label="95% CI")
        right.plot(j["n"], j["joint_rate"], marker="o", markersize=3.5, color="black", linewidth=1.8, label="All claims jointly")
        for level in (0.8, 0.95):
            for axis in (left, right):
                axis.axhline(level, color="#b3001b", linewidth=0.7, linestyle=(0, (2, 2)))
        right.set_title("Joint reproduction (every claim at once)", fontsize=9)
        right.set_xlabel("Sample size n")
        right.legend(fontsize=7, loc="lower right", frameon=False)
        for axis in (left, right):
            axis.grid(color="#eeeeee", linewidth=0.6)
        return _to_svg(fig, prefix, "Reproduction rate of each claim and of all claims jointly against sample size")


_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def syntax_covariances(syntax: str) -> dict[frozenset[str], bool]:
    """The covariances a lavaan model syntax states: {pair: free?} (a variance, ``a ~~ a``, is left out).

    A term with a numeric modifier (``SN ~~ 0*CN``) is fixed; a bare or labelled term (``SN ~~ CN``,
    ``SN ~~ c1*CN``) is free. Comments (``#``) are ignored.

    >>> cov = syntax_covariances("IS ~~ ES + PR  # exogenous\\nSN ~~ 0*CN\\nis1 ~~ 0*is1")
    >>> sorted((sorted(k), v) for k, v in cov.items())
    [(['CN', 'SN'], False), (['ES', 'IS'], True), (['IS', 'PR'], True)]
    """
    out: dict[frozenset[str], bool] = {}
    for line in syntax.splitlines():
        line = line.split("#", 1)[0]
        if "~~" not in line:
            continue
        lhs, rhs = (s.strip() for s in line.split("~~", 1))
        for term in rhs.split("+"):
            mod, _, var = term.strip().rpartition("*")
            if var and var != lhs:
                out[frozenset((lhs, var))] = not _NUMBER.match(mod.strip())
    return out


def _disturbance_pairs(study: Study) -> list[tuple[str, str]]:
    """Pairs of endogenous constructs of which neither is regressed on the other (their disturbances may covary)."""
    linked = {frozenset((p.source, p.target)) for p in study.paths}
    endo = list(study.endogenous)
    return [(a, b) for i, a in enumerate(endo) for b in endo[i + 1:] if frozenset((a, b)) not in linked]


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def path_diagram_caption(study: Study, syntax: str) -> str:
    """The path diagram's caption, with what the fitted model (``model_syntax.txt``) estimates and fixes.

    The covariances among the exogenous constructs and the disturbance covariances of endogenous
    constructs that do not predict one another are named as estimated (free in the syntax) or fixed
    at 0 (fixed in the syntax, or absent from it: semopy and lavaan's ``sem()`` do not free the
    disturbance covariance of a construct that predicts another); none is drawn.
    """
    cov = syntax_covariances(syntax)
    exo = list(study.exogenous)
    n_exo = sum(1 for i, a in enumerate(exo) for b in exo[i + 1:] if cov.get(frozenset((a, b))))
    pairs = _disturbance_pairs(study)
    free = [f"{a}\u2013{b}" for a, b in pairs if cov.get(frozenset((a, b)))]
    fixed = [f"{a}\u2013{b}" for a, b in pairs if not cov.get(frozenset((a, b)))]
    items = {it.id for it in study.items}
    n_items = sum(1 for k, v in cov.items() if v and k <= items)
    text = ("Path diagram. Exogenous constructs on the left, the mediators in the middle, the outcome on the right; "
            "standardized coefficients on the arrows (* p < .05, ** p < .01, *** p < .001), dashed grey arrows are "
            "not significant; R\u00b2 inside the endogenous constructs. Not drawn: ")
    parts = [f"the {n_exo} covariance{'s' if n_exo != 1 else ''} among the exogenous constructs (estimated)" if n_exo
             else "covariances among the exogenous constructs (none stated in the model syntax)"]
    if free:
        parts.append(f"the disturbance covariance{'s' if len(free) > 1 else ''} {_and(free)} (estimated)")
    if fixed:
        parts.append(f"the disturbance covariance{'s' if len(fixed) > 1 else ''} {_and(fixed)} "
                     f"({'both ' if len(fixed) == 2 else 'all ' if len(fixed) > 2 else ''}fixed at 0, not estimated)")
    parts.append(f"{n_items} residual covariance{'s' if n_items != 1 else ''} between items (estimated)" if n_items
                 else "no residual covariance between items is estimated")
    return text + "; ".join(parts) + "."


def spread_labels(ys: Sequence[float], gap: float, lo: float, hi: float) -> list[float]:
    """Vertical positions for direct labels at ``ys``: same order, at least ``gap`` apart, inside ``[lo, hi]`` when they fit.

    Labels are pushed up from the lowest, then the whole stack is moved down
    when it overflows ``hi`` (and pushed up again from ``lo``), so labels of
    lines that end close together stay readable and in the order of their lines.

    >>> spread_labels([0.95, 0.96, 0.5], 0.05, 0.0, 1.0)
    [0.95, 1.0, 0.5]
    >>> [round(v, 2) for v in spread_labels([1.0, 1.0, 1.0], 0.1, 0.0, 1.0)]
    [0.8, 0.9, 1.0]
    """
    order = sorted(range(len(ys)), key=lambda k: (ys[k], k))
    pos = [float(ys[k]) for k in order]
    for k in range(1, len(pos)):
        pos[k] = max(pos[k], pos[k - 1] + gap)
    if pos and pos[-1] > hi:
        shift = pos[-1] - hi
        pos = [p - shift for p in pos]
        pos[0] = max(pos[0], lo)
        for k in range(1, len(pos)):
            pos[k] = max(pos[k], pos[k - 1] + gap)
    out = [0.0] * len(pos)
    for k, p in zip(order, pos, strict=True):
        out[k] = round(p, 12)
    return out


PANEL_COLORS = ("#1f5fa8", "#b35900", "#2b7a3d", "#8e2c8e", "#a11d2b", "#4d4d4d", "#0f7f84", "#7a5c00", "#5b4ea8")
"""Line colours within one panel of the Monte Carlo figure; each line is also labelled directly."""


def _panel(ax: Axes, claim_rates: pd.DataFrame, title: str, ids: Sequence[str], nulls: set[str]) -> None:
    """One claim group: a line per claim, labelled at its left end, where the rates differ most (at large n
    they meet near 1); labels are spread apart (:func:`spread_labels`) with thin leader lines to their points."""
    sizes = sorted({int(n) for n in claim_rates["n"]})
    span = max(sizes[-1] - sizes[0], 1)
    starts = []
    for k, cid in enumerate(ids):
        sub = claim_rates[claim_rates["claim_id"].astype(str) == cid].sort_values("n")
        color = PANEL_COLORS[k % len(PANEL_COLORS)]
        ax.plot(sub["n"], sub["reproduction_rate"], marker="o", markersize=3, linewidth=1.2, color=color,
                linestyle=(0, (4, 2)) if cid in nulls else "-")
        starts.append((cid, float(sub["n"].iloc[0]), float(sub["reproduction_rate"].iloc[0]), color))
    x_label = sizes[0] - 0.06 * span
    ys = spread_labels([e[2] for e in starts], 0.075, -0.02, 1.04)
    for (cid, x, y, color), yl in zip(starts, ys, strict=True):
        ax.plot([x_label + 0.01 * span, x], [yl, y], color=color, linewidth=0.6)
        ax.text(x_label, yl, cid, fontsize=8.5, va="center", ha="right", parse_math=False)
    ax.set_xlim(sizes[0] - 0.40 * span, sizes[-1] + 0.03 * span)
    ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax.set_title(title, fontsize=10, loc="left")


def _joint_panel(ax: Axes, joint: pd.DataFrame, analysed_n: int | None) -> None:
    """All claims jointly: the rate, its 95% band and, at the analysed n, its value written beside the point."""
    j = joint.sort_values("n")
    ax.fill_between(j["n"], j["ci_low"], j["ci_high"], color="#bbbbbb", alpha=0.5, linewidth=0)
    ax.plot(j["n"], j["joint_rate"], marker="o", markersize=3.5, color="black", linewidth=1.8)
    ax.set_title("All claims together (grey: 95% CI)", fontsize=10, loc="left")
    ax.set_xticks(list(j["n"]), [f"{int(n):,}" for n in j["n"]])
    if analysed_n is not None and analysed_n in set(int(n) for n in j["n"]):
        rate = float(j.loc[j["n"] == analysed_n, "joint_rate"].iloc[0])
        ax.annotate(f"{rate:.2f} at n = {analysed_n:,}", (analysed_n, rate), xytext=(8, -14),
                    textcoords="offset points", fontsize=8.5)


def reproduction_panels(
    claim_rates: pd.DataFrame,
    joint: pd.DataFrame,
    panels: Sequence[tuple[str, Sequence[str]]],
    null_claims: Sequence[str] = (),
    analysed_n: int | None = None,
    prefix: str = "fig-montecarlo",
) -> str:
    """Reproduction rate against sample size as small multiples: one panel per claim group, one for all claims.

    Each claim's line is labelled at its left end (no legend); claims of no
    effect are dashed; the dotted red lines mark 80% and 95%, the grey
    vertical line the sample size analysed (issue 17 point 16).

    Parameters
    ----------
    claim_rates : DataFrame
        ``claim_id, n, reproduction_rate``.
    joint : DataFrame
        ``n, joint_rate, ci_low, ci_high``.
    panels : sequence of (title, claim ids)
        The claim groups, in order (:func:`xhs_sharing.report.sections.montecarlo.claim_panels`).
    null_claims : sequence of str
        Claims of no effect (dashed).
    analysed_n : int, optional
        The sample size of the main analysis, marked in every panel.
    """
    n_panels = len(panels) + 1
    ncols = 2
    nrows = math.ceil(n_panels / ncols)
    with matplotlib.rc_context(RC):
        fig = _new_figure(9.0, 3.4 * nrows)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, sharey=True, squeeze=False)).ravel()
        for ax, (title, ids) in zip(axes, panels, strict=False):
            _panel(ax, claim_rates, title, ids, set(null_claims))
        _joint_panel(axes[len(panels)], joint, analysed_n)
        for ax in axes[n_panels:]:
            ax.set_visible(False)
        for ax in axes[:n_panels]:
            for level in (0.8, 0.95):
                ax.axhline(level, color="#b3001b", linewidth=0.7, linestyle=(0, (2, 2)))
            if analysed_n is not None:
                ax.axvline(analysed_n, color="#777777", linewidth=0.8, linestyle=(0, (1, 2)))
            ax.set_ylim(-0.03, 1.06)
            ax.grid(color="#eeeeee", linewidth=0.6)
            ax.set_xlabel("Sample size n")
            ax.tick_params(labelsize=8.5)
        for ax in axes[::ncols]:
            ax.set_ylabel("Reproduction rate")
        return _to_svg(fig, prefix, "Reproduction rate of each claim, by claim group, and of all claims together, "
                                    "against sample size")
