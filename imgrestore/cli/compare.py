"""``imgrestore compare ORIGINAL RESTORED...``: before/after pictures and an HTML slider page.

Parsing only; the pictures are made by :mod:`imgrestore.evaluation.compare`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imgrestore.cli import _help
from imgrestore.cli import options as opt

HELP = """Show a restoration next to its original: a labelled picture and/or an HTML page.

The picture puts the images side by side (or, with --split, one picture cut at a split
line: original left, restored right), each under its label, with zoomed crops of one
region below (--zoom x,y,w,h or auto: where the result differs most). --html writes one
self-contained page (images embedded, works offline) with a before/after slider.
Images of different sizes (upscaling) are shown at the largest size.
"""

COMMAND = _help.command(
    "imgrestore compare photo.jpg photo-denoised.jpg -o compare.jpg --zoom auto",
    "imgrestore compare photo.jpg photo-denoised.jpg --split --html cmp.html",
    "imgrestore compare small.png small-x4.png -o x4.png \\\n"
    "--label bicubic --label MIRNet-v2",
    docs="docs/eval.md",
)


Original = Annotated[Path, typer.Argument(metavar="ORIGINAL", show_default=False,
                                          help="The image before restoration.")]
Restored = Annotated[list[Path], typer.Argument(metavar="RESTORED...", show_default=False,
                                                help="One or more restored versions.")]
Output = Annotated[Path | None, typer.Option(
    "--output", "-o", metavar="FILE", help="The picture to write (.jpg, .png, .webp or .tif).")]
Html = Annotated[Path | None, typer.Option(
    "--html", metavar="FILE",
    help="Also (or only) write a self-contained HTML page with a slider.")]
Label = Annotated[list[str] | None, typer.Option(
    "--label", "-l", metavar="TEXT",
    help="Labels, one per image in order (default: file names).")]
Split = Annotated[bool, typer.Option(
    "--split", help="One picture cut at a split line instead of side by side (one RESTORED).")]
Position = Annotated[float, typer.Option(
    "--position", min=0.0, max=1.0, metavar="0-1", help="Where --split cuts, 0-1 of the width.")]
Zoom = Annotated[str | None, typer.Option(
    "--zoom", metavar="BOX",
    help="Add enlarged crops of one region: x,y,w,h (pixels of the largest image) or 'auto'.")]
Quality = Annotated[int, typer.Option(
    "--quality", min=1, max=100, metavar="1-100", help="JPEG/WebP quality of the picture.")]
Title = Annotated[str | None, typer.Option("--title", metavar="TEXT",
                                           help="Title of the HTML page.")]


def compare_command(
    original: Original, restored: Restored, output: Output = None, html: Html = None,
    label: Label = None, split: Split = False, position: Position = 0.5, zoom: Zoom = None,
    quality: Quality = 90, title: Title = None, max_pixels: opt.MaxPixels = None,
) -> None:
    from imgrestore.cli._output import note
    from imgrestore.errors import UsageError
    from imgrestore.evaluation import compare as cmp

    inputs = [original, *restored]
    if output is None and html is None:
        raise UsageError("say where to write: -o PICTURE and/or --html PAGE")
    if split and len(restored) != 1:
        raise UsageError(f"--split shows one restored image, got {len(restored)}")
    labels = list(label) if label else cmp.default_labels(inputs)
    if len(labels) != len(inputs):
        raise UsageError(f"{len(inputs)} images but {len(labels)} --label")
    for dest in (output, html):
        if dest is not None and any(dest.resolve() == p.resolve() for p in inputs):
            raise UsageError(f"{dest}: refusing to write over an input image")
    images = cmp.common_size([cmp.read_for_compare(p, max_pixels=max_pixels) for p in inputs])
    box = None
    if zoom == "auto":
        box = cmp.auto_zoom(images[0], images[1])
    elif zoom:
        box = cmp.parse_box(zoom, images[0].size)
    if output is not None:
        picture = (cmp.split(images[0], images[1], labels, position=position, zoom=box)
                   if split else cmp.side_by_side(images, labels, zoom=box))
        cmp.save_picture(picture, output, quality=quality)
        note(f"wrote {output} ({picture.width}x{picture.height})")
    if html is not None:
        page = cmp.html_page(images[0], images[1:], labels,
                             title=title or f"{labels[0]}: before and after")
        cmp.save_text(page, html)
        note(f"wrote {html} ({len(page) // 1024} KiB)")
