"""`ferkit <command> [arguments]`: one program for every entry point (installed by pip as `ferkit`).

Each command is the module fer.cli.<command>, the same code `python scripts/<command>.py` runs in a
checkout: the Hydra commands take the same overrides (`key=value`, `group=option`, `-m` for sweeps,
`--help`, `--cfg job`), `export` its own options (`ferkit export --help`).
"""

from __future__ import annotations

import importlib
import sys

# name -> what it does, in one line (the order of `ferkit --help`).
COMMANDS = {
    "train": "train a model on FER-2013 (Lightning + Hydra overrides, -m for sweeps)",
    "eval": "score checkpoints, an ensemble or the bundled model on a split; writes a report",
    "webcam": "live recognition from a camera, video, image or folder; window or headless=true",
    "serve": "the REST/WebSocket service and browser demo (FastAPI on uvicorn)",
    "analyze": "a video -> per-frame, per-face probabilities (CSV) and a timeline (PNG); a corpus of videos",
    "export": "a checkpoint -> ONNX (fp32/int8) or a weights-only bundle (its own --options)",
    "search": "Optuna hyperparameter search over training runs (needs ferkit[optuna])",
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    return "\n".join(["usage: ferkit <command> [arguments]", "",
                      "Facial-expression recognition: training, evaluation and live inference.", "",
                      "commands:", *lines, "",
                      "`ferkit <command> --help` shows a command's options; Hydra commands take key=value overrides",
                      "(e.g. ferkit webcam headless=true source=clip.mp4 output=out.mp4)."])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args:
        print(usage(), file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] in ("-V", "--version"):
        from fer import __version__

        print(f"ferkit {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}; choose one of: {', '.join(COMMANDS)} (ferkit --help)",
              file=sys.stderr)
        return 2
    command = importlib.import_module(f"fer.cli.{name}")
    if name == "export":
        return command.main(rest)
    # Hydra reads its overrides from sys.argv; the command name is not one of them.
    sys.argv = [f"{sys.argv[0]} {name}", *rest]
    command.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
