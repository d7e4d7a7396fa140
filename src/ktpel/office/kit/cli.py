"""`ktpel office kit-sync`: push a mobile kit's day into its home office now."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("kit-sync")
    def kit_sync(home: str = typer.Option(None, "--home", help="Home office URL (default KTPEL_KIT_HOME_URL)."),
                 token: str = typer.Option(None, "--token", help="Shared kit token (default KTPEL_KIT_TOKEN).")) -> None:
        """Send every queued packet of this kit to its home office; JSON summary on stdout."""
        from ktpel.config import get_settings
        from ktpel.domain.errors import KtpelError
        from ktpel.office.kit.service import push_to_home
        from ktpel.store.db import open_database

        settings = get_settings()
        update = {"mobile_kit": True, **({"kit_home_url": home} if home else {}), **({"kit_token": token} if token else {})}
        settings = settings.model_copy(update=update)
        db = open_database(settings, name="office")
        try:
            result = push_to_home(db, settings=settings)
        except KtpelError as exc:
            typer.echo(json.dumps({"error": exc.as_dict()}))
            raise typer.Exit(1)
        finally:
            db.dispose()
        typer.echo(json.dumps(result))
        raise typer.Exit(0 if not result["refused"] else 1)
