"""Regenerate the model table of docs/models.md from the model cards (imgrestore.zoo.cards).

    python docs/make_models.py           # rewrite the table in place
    python docs/make_models.py --check   # exit 1 if the page is out of date (the tests do)

Only the part between the ``<!-- cards:begin -->`` and ``<!-- cards:end -->`` markers is
written; the rest of the page is prose.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parent / "models.md"
BEGIN, END = "<!-- cards:begin (docs/make_models.py) -->", "<!-- cards:end -->"


def _task(c) -> str:
    task = c.task + (f" ×{c.scale}" if c.scale > 1 else "")
    task += f" ({c.style})" if c.style else ""
    task += " (dual-pixel)" if c.input_kind == "dual_pixel" else ""
    return task + (" **default**" if c.default else "")


def _source(s) -> str:
    if s.kind == "builtin":
        return f"in the package (`imgrestore/zoo/builtin/{s.location}`)"
    if s.kind == "github_release":
        return f"[GitHub release]({s.location})"
    if s.kind == "hf":
        mirror = f"[Hugging Face mirror](https://huggingface.co/{s.location}) `{s.filename}`"
        return mirror + ("" if s.verified else " (unverified, opt-in)")
    return f"[Google Drive]({s.location}) `{s.filename}`"


def _weights(c) -> str:
    text = "; ".join(_source(s) for s in c.sources)
    if c.builtin:
        return text
    return text + (" — sha256 pinned" if c.pinned else " — automatic")


def _benchmark(c) -> str:
    if c.builtin:
        return "see [Built-in models](#built-in-models)"
    b = c.benchmark
    if b is None:
        return ""
    if b.psnr is None:
        return f"{b.dataset}: not recorded"
    return f"{b.dataset}: {b.psnr:g} / {b.ssim:g}"


def table() -> str:
    """The Markdown table of every card, in the card table's order."""
    from imgrestore.zoo.cards import CARDS

    lines = [
        "| name | aliases | task | network configuration | params | trained on "
        "| paper PSNR / SSIM | weights |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in CARDS.values():
        aliases = ", ".join(f"`{a}`" for a in c.aliases)
        params = f"{c.params / 1e6:.1f} M" if c.params >= 1e6 else f"{c.params / 1e3:.0f} k"
        lines.append(
            f"| `{c.name}` | {aliases} | {_task(c)} | `{c.config}` | {params} "
            f"| {c.training_data} | {_benchmark(c)} | {_weights(c)} |"
        )
    return "\n".join(lines)


def render(page: str) -> str:
    head, found, rest = page.partition(BEGIN)
    _, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise SystemExit(f"{PAGE}: markers {BEGIN!r} ... {END!r} not found")
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args(argv)
    page = PAGE.read_text(encoding="utf-8")
    fresh = render(page)
    if args.check:
        if fresh != page:
            print(f"{PAGE} is out of date: run python docs/make_models.py", file=sys.stderr)
            raise SystemExit(1)
        return
    PAGE.write_text(fresh, encoding="utf-8")


if __name__ == "__main__":
    main()
