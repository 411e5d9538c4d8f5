"""``bryta evaluate``: did areas with an intervention develop differently? One subcommand per
design (``did``, ``synth``), each a thin shell over :mod:`bryta.evaluate`."""

from __future__ import annotations

import typer

from bryta.cli import evaluate_did, evaluate_registry, evaluate_synth

evaluate_app = typer.Typer(
    help="Evaluate interventions: staggered difference-in-differences, synthetic control.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    evaluate_did.register(evaluate_app)
    evaluate_synth.register(evaluate_app)
    evaluate_registry.register(evaluate_app)
    app.add_typer(evaluate_app, name="evaluate")
