"""`qa tenants list|add`: the departments this deployment serves and their contact data."""

from __future__ import annotations

import typer

from qa_service.cli.common import console, emit_json, fail, get_services

tenants_app = typer.Typer(help="Tenants (departments): list and register.", no_args_is_help=True)


@tenants_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout.")) -> None:
    """Registered tenants, and tenants that hold knowledge without a registry entry."""
    from qa_service.tenants import list_all

    with get_services().db.session() as s:
        rows = list_all(s)
    if as_json:
        emit_json({"tenants": [t.as_dict() for t in rows]})
        return
    for t in rows:
        state = "active" if t.active else "inactive"
        if not t.registered:
            state += ", not registered (holds knowledge)"
        names = " / ".join(n for n in (t.name_zh, t.name_en) if n) or "-"
        console.print(f"{t.id}: {names} [{state}] hotline {t.hotline}"
                      + (f", phone {t.phone}" if t.phone else ""))


@tenants_app.command("add")
def add_cmd(
    name: str = typer.Argument(..., help="Tenant name: a-z, 0-9, '_' or '-', at most 64."),
    name_zh: str | None = typer.Option(None, "--name-zh", help="Department name in Chinese."),
    name_en: str | None = typer.Option(None, "--name-en", help="Department name in English."),
    phone: str | None = typer.Option(None, "--phone", help="Contact phone."),
    address: str | None = typer.Option(None, "--address", help="Service hall address."),
    hours: str | None = typer.Option(None, "--hours", help="Opening hours."),
    hotline: str = typer.Option("12345", "--hotline", help="Public service hotline."),
    inactive: bool = typer.Option(False, "--inactive", help="Register it switched off (requests get 404)."),
    actor: str = typer.Option("cli", "--actor", help="Who registers it (recorded in the audit trail)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Register a tenant so its routes answer (unknown tenants get 404)."""
    from qa_service.tenants import TenantError, add, find

    profile = {"name_zh": name_zh, "name_en": name_en, "phone": phone, "address": address, "hours": hours,
               "hotline": hotline}
    try:
        with get_services().db.session() as s:
            add(s, name, profile, active=not inactive, actor=actor)
            info = find(s, name)
    except TenantError as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(info.as_dict() if info else {})
    else:
        console.print(f"tenant {name} registered" + (" (inactive)" if inactive else ""))
