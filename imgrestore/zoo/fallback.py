"""When a task's official weights cannot be had, its built-in model stands in: what the
user is told about it.

The one line puts the consequence first and fits a terminal line:
``denoise: using built-in model builtin_denoise (compact, lower quality): official
weights unavailable (no network). Get them: imgrestore models download denoise``.
The failed URL and the full reason are kept beside it (``-v``, the JSON report).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from imgrestore.zoo import cache
from imgrestore.zoo.cards import Card

#: What a failed download says when there is no network at all, as the user would put it.
_NO_NETWORK = re.compile(
    r"name or service not known|name not resolved|host name not resolved|getaddrinfo|"
    r"nodename nor servname|temporary failure in name resolution|connection refused|"
    r"network is unreachable|no route to host|timed out|could not be reached|no network",
    re.I,
)


@dataclass(frozen=True)
class Fallback:
    """Why ``model`` (built in) is used for ``task`` instead of the official ``wanted``."""

    task: str
    model: str
    wanted: str
    #: A few words: "no network", "offline mode is on", "the download was refused", ...
    reason: str
    #: The command that gets the official weights.
    get: str
    #: The failed URL (or ``hf:`` reference), when one was tried.
    source: str
    #: The failure in its own words ("connection refused", "[Errno -2] Name or service
    #: not known").
    failure: str
    #: The whole error message, with every route to the weights.
    error: str

    def line(self) -> str:
        """The notice: consequence, cause, fix; one short line."""
        return (f"{self.task}: using built-in model {self.model} (compact, lower quality): "
                f"official weights unavailable ({self.reason}). Get them: {self.get}")

    def details(self) -> list[str]:
        """What ``-v`` adds: the URL that failed and why, then the whole message."""
        return ([f"{self.source}: {self.failure}"] if self.source else []) + [self.error]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def describe(wanted: Card, model: Card, error: Exception) -> Fallback:
    """The notice for ``model`` standing in for ``wanted``, whose weights failed with
    ``error`` (a :class:`~imgrestore.errors.WeightsError`; a ``DownloadError`` carries
    ``reason`` and ``source`` as data)."""
    alias = wanted.aliases[0] if wanted.aliases else wanted.name
    return Fallback(
        task=wanted.task, model=model.name, wanted=wanted.name, reason=short_reason(error),
        get=f"imgrestore models download {alias}",
        source=str(getattr(error, "source", "") or ""),
        failure=str(getattr(error, "reason", "") or error), error=str(error),
    )


def short_reason(error: Exception) -> str:
    """A few words on why a download failed, for the notice's one line."""
    text = f"{getattr(error, 'reason', '')} {error}"
    if cache.offline():
        return "offline mode is on"
    if getattr(error, "refused", False) or "refused the download" in text:
        return "the download was refused"  # the latter: a refusal remembered (not retried)
    if _NO_NETWORK.search(text):
        return "no network"
    if re.search(r"sha256|bytes, not the pinned|corrupt", text):
        return "the download did not match its checksum"
    if re.search(r"no download source|not downloaded\b(?!.*\()", text):
        return "not downloaded"
    return "the download failed"


__all__ = ["Fallback", "describe", "short_reason"]
