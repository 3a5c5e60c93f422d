"""Hydra's refusals of a command line as one line that names the mistake and what is valid.

Hydra checks the overrides while it composes the config, before any command runs: a misspelt key
(`smoothin.ema_alpha=0.3`), a group option that does not exist (`detector=nosuch`), or text it cannot
parse (an unquoted path with spaces arrives as two arguments). A misspelt key gets the very message
`fer.numbers.unknown_setting` gives the Python API's settings.
"""

from __future__ import annotations

from hydra.errors import ConfigCompositionException, OverrideParseException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from fer.numbers import unknown_setting

# What Hydra raises for a command line it cannot compose or parse (MissingConfigException is a
# ConfigCompositionException).
COMMAND_LINE_MISTAKES = (ConfigCompositionException, OverrideParseException)


def explain(err: Exception, argv: list[str]) -> str:
    """One line for a Hydra refusal; argv: the command's arguments, to show how a split value is quoted."""
    if isinstance(err, OverrideParseException):
        return unreadable_override(err, argv)
    cause = err.__cause__
    if isinstance(cause, ConfigKeyError | ConfigAttributeError) and "not in struct" in str(cause.msg) \
            and cause.parent_node is not None:
        return str(unknown_setting(str(cause.full_key), cause.parent_node.keys()))
    options = getattr(err, "options", None)
    missing = getattr(err, "missing_cfg_file", None)
    if options is not None and missing and "/" in missing:
        group, _, option = missing.rpartition("/")
        return f"there is no {group}={option}; choose one of: {', '.join(options)}"
    return "; ".join(first_line(e) for e in (err, cause) if e is not None)


def unreadable_override(err: OverrideParseException, argv: list[str]) -> str:
    text = err.override
    split = quoted_whole(text, argv)
    if split:
        return (f"{text!r} is not a key=value override; if it is the rest of a value with spaces, "
                f"quote the whole override: {split}")
    # The parser's own words, without Hydra's heading and link (its lines vary with the kind of mistake).
    detail = [line.strip() for line in err.message.splitlines()
              if line.strip() and not line.startswith(("Error parsing override", "See https://"))]
    why = f" ({detail[0]})" if detail else ""
    return (f"cannot read the override {text!r}{why}; quote a value with spaces or brackets, "
            "e.g. \"source='my clip (1).mp4'\"")


def quoted_whole(piece: str, argv: list[str]) -> str | None:
    """For a piece without '=' that follows `key=start` on the command line, `"key='start piece ...'"`:
    the shell cut the value at its spaces."""
    if "=" in piece or piece not in argv:
        return None
    at = argv.index(piece)
    start = at
    while start > 0 and "=" not in argv[start - 1]:
        start -= 1
    if start == 0:
        return None
    end = at + 1
    while end < len(argv) and "=" not in argv[end] and not argv[end].startswith("-"):
        end += 1
    key, _, value = argv[start - 1].partition("=")
    return f"\"{key}='{' '.join([value, *argv[start:end]])}'\""


def first_line(err: BaseException) -> str:
    return next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
