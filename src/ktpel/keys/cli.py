"""`ktpel keys …`: create, rotate and show this side's sync keys."""

from __future__ import annotations

import json

import typer

from ktpel.config import get_settings

keys_app = typer.Typer(help="Office/central signing and encryption keys (Ed25519 + X25519).", no_args_is_help=True)

SIDE = typer.Option("office", "--side", help="office or central")


@keys_app.command("init")
def init(side: str = SIDE) -> None:
    """Create this side's key pair under data_dir/keys (kept if it exists)."""
    from ktpel.cli_console import console
    from ktpel.keys.keyring import init_keys, keyring_path

    ring, created = init_keys(get_settings(), side=side)
    verb = "created" if created else "already present"
    console.print(f"[green]✓[/green] {side} keys {verb}: {ring.active.kid} ({keyring_path(get_settings(), side=side)})")


@keys_app.command("rotate")
def rotate(side: str = SIDE) -> None:
    """Make a new active key pair; old ones stay valid for packets already in flight."""
    from ktpel.cli_console import console
    from ktpel.keys.keyring import rotate_keys

    ring = rotate_keys(get_settings(), side=side)
    console.print(f"[green]✓[/green] new active {side} key {ring.active.kid}; still accepted: "
                  + ", ".join(p.kid for p in ring.pairs[:-1]))
    if side == "office":
        console.print("Run `ktpel office register --central URL` so central learns the new key.")


@keys_app.command("show")
def show(side: str = SIDE) -> None:
    """Print this side's public keys as JSON."""
    from ktpel.keys.keyring import load_keyring

    print(json.dumps({"side": side, "keys": [k.to_dict() for k in load_keyring(get_settings(), side=side).publics()]}))
