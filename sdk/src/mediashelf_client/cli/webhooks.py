"""`mediashelf webhooks add|ls|rm|test|deliveries`: the tenant's signed webhook endpoints."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from mediashelf_client.cli.common import (
    DEFAULT_URL,
    ApiKey,
    AsJson,
    Url,
    connect,
    emit_json,
    err,
    out,
)

app = typer.Typer(no_args_is_help=True, help="Signed webhook endpoints (Standard Webhooks).")
HookId = Annotated[str, typer.Argument(help="The endpoint's id")]


@app.command("add")
def add(target: Annotated[str, typer.Argument(metavar="URL", help="https:// URL of the receiver")],
        events: Annotated[list[str] | None, typer.Option(
            "--event", "-e", help="An event type to send (repeat; default: every event, *)")
        ] = None,
        description: Annotated[str | None, typer.Option(help="A note for people")] = None,
        url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Add an endpoint; prints its signing secret, which is shown only this once."""
    with connect(url, api_key) as client:
        hook = client.webhooks.create(target, events or ["*"], description=description)
    if as_json:
        emit_json(dict(hook.raw))
        return
    print(f"{hook.id}  {hook.url}  {','.join(hook.events)}")
    err().print("[dim]the signing secret, shown only now (the last line):[/]")
    print(hook.secret)


@app.command("ls")
def ls(url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """The tenant's endpoints."""
    with connect(url, api_key) as client:
        hooks = client.webhooks.list()
    if as_json:
        emit_json([dict(h.raw) for h in hooks])
        return
    table = Table(Column("id", no_wrap=True), Column("url", overflow="fold"), "events", "state",
                  box=None)
    for h in hooks:
        state = "enabled" if h.enabled else f"disabled: {h.disabled_reason or ''}"
        table.add_row(h.id, escape(h.url), ",".join(h.events), escape(state))
    out().print(table)
    if not hooks:
        err().print("[dim]no webhook endpoints · mediashelf webhooks add URL[/]")


@app.command("rm")
def rm(hook_id: HookId, url: Url = DEFAULT_URL, api_key: ApiKey = None) -> None:
    """Delete an endpoint and its deliveries."""
    with connect(url, api_key) as client:
        client.webhooks.delete(hook_id)
    print(f"{hook_id}  deleted")


@app.command("test")
def test(hook_id: HookId, url: Url = DEFAULT_URL, api_key: ApiKey = None,
         as_json: AsJson = False) -> None:
    """Queue a webhook.test event to the endpoint."""
    with connect(url, api_key) as client:
        sent = client.webhooks.test(hook_id)
    if as_json:
        emit_json(dict(sent.raw))
    else:
        print(f"{sent.id}  {sent.webhook_id}  {sent.status}")


@app.command("deliveries")
def deliveries(hook_id: HookId,
               page: Annotated[int, typer.Option(min=1, help="Page to show")] = 1,
               page_size: Annotated[int, typer.Option(min=1, max=100,
                                                      help="Deliveries per page")] = 20,
               url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """The endpoint's deliveries, newest first, with their last answer."""
    with connect(url, api_key) as client:
        found = client.webhooks.deliveries(hook_id, page=page, page_size=page_size)
    if as_json:
        emit_json([dict(d.raw) for d in found])
        return
    table = Table(Column("id", no_wrap=True), "event", "status", "attempts", "code",
                  Column("error", overflow="fold"), box=None)
    for d in found:
        table.add_row(d.id, d.event_type, d.status, str(d.attempts),
                      str(d.response_code or ""), escape(d.error or ""))
    out().print(table)
