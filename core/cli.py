"""Registers each feature's command groups with `flask --app wsgi <group> <command>`."""

from __future__ import annotations

import importlib

from flask import Flask

CLI_MODULES = ("auth.cli", "sharing.cli", "partnership.cli", "cohort.cli", "duplicates.cli", "panels.cli",
               "core.demo", "core.backup", "notifications.cli", "lifecycle.cli")


def register_cli(app: Flask) -> None:
    for name in CLI_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        for group in getattr(module, "CLI_GROUPS", ()):
            app.cli.add_command(group)
