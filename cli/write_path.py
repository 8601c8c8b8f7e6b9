"""``directory token``, ``history`` and ``stale``: the carriers' write path from the command
line (docs/administrators.md)."""

from __future__ import annotations

import json
import sys

import click

from .context import (
    _open,
    cli,
)

# -- tokens, history, staleness ----------------------------------------------------------


def _check_carriers(directory, carriers: tuple[str, ...]) -> None:
    """A usage error naming the first ``--carrier`` the instance does not list."""
    unknown = [c for c in carriers if c not in directory.carrier_by_key]
    if unknown:
        raise click.BadParameter(
            f"unknown carrier {unknown[0]!r}; the instance lists: "
            f"{', '.join(sorted(directory.carrier_by_key))}",
            param_hint="--carrier",
        )


@cli.group("token")
def token_group() -> None:
    """API tokens: create, list, revoke (see docs/administrators.md)."""


@token_group.command("create")
@click.option("--role", type=click.Choice(["admin", "editor", "counsellor"]), required=True)
@click.option(
    "--carrier",
    "carriers",
    multiple=True,
    metavar="KEY",
    help="A carrier whose offers an editor may write (repeat for several).",
)
@click.option("--name", required=True, help="Who or what uses the token (shown in the history).")
@click.option("--expires", type=int, default=None, metavar="DAYS", help="Valid for DAYS days.")
@click.pass_context
def token_create(
    ctx: click.Context, role: str, carriers: tuple[str, ...], name: str, expires: int | None
) -> None:
    """Create a token; its secret is printed once, alone on the last line."""
    from directory_core.auth import create_token

    directory = _open(ctx)
    try:
        _check_carriers(directory, carriers)
        try:
            token_id, token = create_token(directory.store, name, role, carriers, expires)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    finally:
        directory.close()
    scope = f" of {', '.join(sorted(set(carriers)))}" if carriers else ""
    until = f", valid for {expires} days" if expires else ""
    click.echo(f"token {token_id}: {name} ({role}{scope}{until})")
    click.echo("Keep the token now; it is not shown again (the store keeps only a hash):")
    click.echo(token)


@token_group.command("list")
@click.pass_context
def token_list(ctx: click.Context) -> None:
    """List tokens (never their secrets)."""
    from directory_core.auth import list_tokens
    from directory_core.store import utcnow

    directory = _open(ctx)
    try:
        tokens = list_tokens(directory.store)
    finally:
        directory.close()
    if not tokens:
        click.echo("no tokens")
        return
    now = utcnow()
    for token in tokens:
        if token["revoked_at"] is not None:
            state = f"revoked {token['revoked_at']:%Y-%m-%d}"
        elif token["expires_at"] is not None and token["expires_at"] <= now:
            state = f"expired {token['expires_at']:%Y-%m-%d}"
        elif token["expires_at"] is not None:
            state = f"valid until {token['expires_at']:%Y-%m-%d}"
        else:
            state = "valid"
        carriers = ",".join(token["carriers"]) or "-"
        click.echo(
            f"{token['id']}\t{token['name']}\t{token['role']}\t{carriers}\t"
            f"created {token['created_at']:%Y-%m-%d}\t{state}"
        )


@token_group.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@click.pass_context
def token_revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke the token ID (it stops working at once)."""
    from directory_core.auth import revoke_token

    directory = _open(ctx)
    try:
        revoked = revoke_token(directory.store, token_id)
    finally:
        directory.close()
    if not revoked:
        raise click.ClickException(
            f"no valid token with id {token_id} (see `directory token list`)"
        )
    click.echo(f"token {token_id} revoked")


@cli.command("history")
@click.argument("offer_id")
@click.pass_context
def history_command(ctx: click.Context, offer_id: str) -> None:
    """Show the changes of an offer, newest first: when, who, how, what."""
    from directory_core.history import offer_history

    directory = _open(ctx)
    try:
        if directory.get(offer_id) is None:
            raise click.ClickException(f"no offer with id {offer_id!r}")
        rows = offer_history(directory.store.engine, offer_id)
    finally:
        directory.close()
    for row in rows:
        note = f" ({row['note']})" if row["note"] else ""
        click.echo(
            f"version {row['version']}  {row['at']:%Y-%m-%d %H:%M:%S}  {row['who']} "
            f"via {row['how']}{note}"
        )
        for name, change in sorted(row["changes"].items()):
            old = json.dumps(change["old"], ensure_ascii=False)
            new = json.dumps(change["new"], ensure_ascii=False)
            click.echo(f"    {name}: {old} -> {new}")


@cli.command("stale")
@click.option("--carrier", "carriers", multiple=True, metavar="KEY", help="Only this carrier.")
@click.option("--days", default=365, show_default=True, type=click.IntRange(min=0))
@click.pass_context
def stale_command(ctx: click.Context, carriers: tuple[str, ...], days: int) -> None:
    """List active offers not verified within --days days, as CSV on stdout."""
    import csv

    from directory_core.staleness import stale_offers

    directory = _open(ctx)
    try:
        _check_carriers(directory, carriers)
        offers = stale_offers(directory.store, days, carriers or None)
    finally:
        directory.close()
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "title", "carrier", "district", "verified_at", "verified_by"])
    for offer in offers:
        verified = offer.verified_at.isoformat() if offer.verified_at else ""
        writer.writerow(
            [offer.id, offer.title, offer.carrier or "", offer.district or "", verified,
             offer.verified_by or ""]
        )  # fmt: skip
