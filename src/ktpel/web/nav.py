"""The menu: built from the routes' own access rules, so it lists only pages the user's role can open."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from ktpel.security.access import User


@dataclass(frozen=True)
class MenuItem:
    path: str
    label_id: str
    label_en: str


# The order is the order of work at the counter; central pages after.
MENU: dict[str, tuple[MenuItem, ...]] = {
    "office": (
        MenuItem("/penduduk", "Penduduk", "Residents"),
        MenuItem("/rekam", "Perekaman", "Recording"),
        MenuItem("/cetak", "Cetak", "Print"),
        MenuItem("/ambil", "Ambil kartu", "Pickup"),
        MenuItem("/suket", "Suket", "Temporary certificate"),
        MenuItem("/ikd", "IKD", "Digital ID"),
        MenuItem("/blanko", "Blanko", "Blanks"),
        MenuItem("/data-ganda", "Data ganda", "Duplicates"),
        MenuItem("/panggilan", "Panggilan", "Call list"),
        MenuItem("/notifikasi", "Notifikasi", "Notifications"),
        MenuItem("/sinkron", "Sinkron", "Sync"),
        MenuItem("/dasbor", "Dasbor", "Dashboard"),
        MenuItem("/audit", "Jejak audit", "Audit trail"),
        MenuItem("/kebijakan-cetak", "Prioritas cetak", "Print priority"),
        MenuItem("/status", "Cek status", "Status"),
        MenuItem("/verifikasi", "Verifikasi kartu", "Verify card"),
    ),
    "central": (
        MenuItem("/dasbor-pusat", "Dasbor", "Dashboard"),
        MenuItem("/adjudikasi", "Adjudikasi", "Adjudication"),
        MenuItem("/kasus-ganda", "Kasus data ganda", "Duplicate cases"),
        MenuItem("/pipeline", "Alur proses", "Pipeline"),
        MenuItem("/pusat/sinkron", "Sinkron kantor", "Office sync"),
        MenuItem("/alokasi-blanko", "Alokasi blanko", "Blank allocation"),
        MenuItem("/audit", "Jejak audit", "Audit trail"),
    ),
}
# public pages a signed-in officer does not need in the menu (they stay in the footer)
PUBLIC_ONLY = {"/status", "/verifikasi", "/kebijakan-cetak"}


def _route_roles(app: FastAPI) -> dict[str, frozenset | None]:
    """GET path -> the roles its access dependency allows (None: public); read once per app."""
    cached = getattr(app.state, "_menu_route_roles", None)
    if cached is not None:
        return cached
    from ktpel.security.access import iter_routes, route_roles

    roles: dict[str, frozenset | None] = {}
    for info in iter_routes(app):
        if "GET" in info.methods and "{" not in info.path:
            found = route_roles(info.route)
            if found != "undeclared":
                roles[info.path] = found
    app.state._menu_route_roles = roles
    return roles


def can_open(app: FastAPI, path: str, user: User | None) -> bool:
    roles = _route_roles(app)
    if path not in roles:
        return False
    allowed = roles[path]
    if allowed is None:
        return True
    return user is not None and user.role in allowed


def menu_for(app: FastAPI, *, side: str, user: User | None) -> list[MenuItem]:
    """The pages this user can open on this side, in menu order."""
    items = [m for m in MENU.get(side, ()) if can_open(app, m.path, user)]
    if user is not None:
        items = [m for m in items if m.path not in PUBLIC_ONLY or _route_roles(app).get(m.path) is not None]
    return items


def landing_for(app: FastAPI, *, side: str, user: User | None) -> str:
    """The first page after sign-in: the first menu page the role can open."""
    if user is None:
        return "/penduduk" if side == "office" else "/dasbor-pusat"
    items = menu_for(app, side=side, user=user)
    return items[0].path if items else ("/status" if side == "office" else "/dasbor-pusat")
