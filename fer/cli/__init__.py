"""The `ferkit` commands: main.py dispatches `ferkit <command>` to the module of that name (train, eval, webcam,
serve, analyze, export, search), which scripts/<command>.py also runs; entrypoint.py is what they share."""
