"""How every ``--help`` reads: plain placeholders, text shown as written, examples.

Typer shows a type beside every parameter (``<bool>`` on a flag, ``<list[str]>``,
``{inputs}...`` in the usage line) and reads help text as Rich markup, so a ``[seed, i]``
in it vanishes. The command and group classes here fix that in one place:

- a flag shows no placeholder; an option shows its ``metavar`` (``--tile N|auto``); an
  argument shows its ``metavar`` alone (``INPUT...``, ``ORIGINAL RESTORED...``);
- help text is plain text (escaped before Rich sees it), with its single line breaks
  joined, so paragraphs wrap at any width;
- each command ends with an Examples block (``$ imgrestore ...``, as the ``hf`` CLI does)
  and optional notes (exit codes), made by :func:`command`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

#: Where the full reference lives, named at the end of a command's help.
DOCS = "docs/cli.md"


def plain(text: str | None, fields: Mapping[str, str] | None = None) -> str | None:
    """Help text as written: dedented, single line breaks joined, markup escaped.

    ``{key}`` placeholders are filled from ``fields`` (a command's own default output
    name, say); other braces are left as they are.
    """
    if not text:
        return text
    for key, value in (fields or {}).items():
        text = text.replace("{" + key + "}", value)
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(escape(" ".join(p.split())) for p in paragraphs)


class _Argument(TyperArgument):
    """An argument shown by its metavar alone, in the usage line and its panel."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = (self.metavar or self.name.upper()).removesuffix("...")
        shown = name if self.required else f"[{name}]"  # [MODEL]... as click writes it
        return [shown + "..." if self.nargs != 1 else shown]


class _Option(TyperOption):
    """An option whose own metavar (``1-100``, ``2|3|4``) already says its range."""

    def _get_number_range_help_str(self) -> str | None:
        return None


class _NamedOption(TyperOption):
    """An option given a placeholder here (``N``, ``PATH``): its range is still shown."""


#: Placeholders for options that name none, by the type of their values.
_METAVARS = {"int": "N", "float": "X", "Path": "PATH", "str": "TEXT"}


def _placeholder(option: TyperOption) -> str:
    desc = option.type_descriptor
    if desc.is_choice and desc.choices:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices)
    bare = option.bare_type()
    return _METAVARS.get(bare.removeprefix("list[").removesuffix("]"), "VALUE")


def placeholder(param: Any) -> None:
    """Give ``param`` a clean placeholder (in place; done again, changes nothing)."""
    if isinstance(param, TyperArgument):
        param.__class__ = _Argument
    elif isinstance(param, TyperOption) and not isinstance(param, (_Option, _NamedOption)):
        if param.is_flag:
            param.metavar = ""
        elif param.metavar is None:
            param.metavar = _placeholder(param)
            param.__class__ = _NamedOption
        else:
            param.__class__ = _Option


def tidy(param: Any, fields: Mapping[str, str] | None = None) -> None:
    """Give ``param`` a clean placeholder and plain help (in place, once)."""
    placeholder(param)
    if getattr(param, "help", None):
        param.help = plain(param.help, fields)


class Command(TyperCommand):
    """A command with clean placeholders, plain help and an Examples block.

    Subclasses made by :func:`command` carry the examples, notes and fields.
    """

    examples: ClassVar[tuple[str, ...]] = ()
    #: (heading, text) blocks after the examples, e.g. the exit codes.
    notes: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: Filled into ``{name}`` placeholders of the help texts.
    fields: ClassVar[Mapping[str, str]] = {}
    #: The page of docs/ that says more.
    docs: ClassVar[str] = DOCS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            tidy(param, self.fields)
        self.help = plain(self.help, self.fields)
        self.epilog = epilog(self.examples, self.notes, docs=self.docs)

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # with --help and Typer's completion flags
        for param in params:
            placeholder(param)
        return params


class Group(TyperGroup):
    """A command group (``imgrestore``, ``imgrestore models``) with the same tidy help.

    Its commands that are not a :class:`Command` get the same placeholders and plain help
    (an Examples block needs a :func:`command` class).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            tidy(param)
        self.help = plain(self.help)
        for sub in self.commands.values():
            if not isinstance(sub, (Command, Group)):
                for param in sub.params:
                    tidy(param)
                sub.help = plain(sub.help)

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # with --help and Typer's completion flags
        for param in params:
            placeholder(param)
        return params


def command(*examples: str, notes: Sequence[tuple[str, str]] = (),
            fields: Mapping[str, str] | None = None, docs: str = DOCS,
            base: type[Command] = Command) -> type[Command]:
    """The command class (Typer's ``cls=``) of a command with these examples.

    An example is one command line without the ``$``; a long one may continue on the
    next line after a `` \\`` (shown indented, as in a shell).
    """
    return type(base.__name__, (base,), {
        "examples": tuple(examples), "notes": tuple(notes), "fields": dict(fields or {}),
        "docs": docs,
    })


def epilog(examples: Sequence[str], notes: Sequence[tuple[str, str]] = (), *,
           docs: str = DOCS) -> str:
    """The text after the options: examples, notes, and where the docs are."""
    blocks = []
    if examples:
        lines = []
        for example in examples:
            for i, line in enumerate(example.split("\n")):
                text = escape(line.strip().removesuffix("\\").rstrip())
                more = " \\" if line.rstrip().endswith("\\") else ""
                lines.append(f"  $ {text}{more}" if i == 0 else f"      {text}{more}")
        blocks.append("[bold]Examples[/bold]\n" + "\n".join(lines))
    for heading, text in notes:
        blocks.append(f"[bold]{escape(heading)}[/bold]\n{plain(text)}")
    # An unindented last line: Typer dedents the epilog by its common indentation.
    blocks.append(f"Reference: {docs}")
    return "\n\n".join(blocks)


__all__ = ["Command", "Group", "command", "epilog", "plain", "tidy"]
