"""Issue 9: SQL-injection and XSS strings in every text field of every form and JSON API, stored and reflected.

The sweep is generic: it walks every POST/PUT/PATCH route of the office and central apps, learns the route's
fields from what it declares (FastAPI form/body/query parameters), from the forms the app's pages render and
from the `form.get("…")` reads in the view's source, and fills every one of them with hostile text. A route
added later is swept without touching this file. Afterwards every page is read back by every role: a payload
stored by the sweep must come back escaped, and the residents table must still be there, untouched.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, inspect as sa_inspect, select

from ktpel.domain.clock import today_wib
from ktpel.security.access import CENTRAL_ROLES, OFFICE_ROLES, Role, iter_routes, route_roles
from ktpel.seeding.service import seed_district
from ktpel.store.schema.core import ResidentRow
from ktpel.keys.keyring import init_keys
from ktpel.web.app import create_app
from tests.auth_fixtures import login, login_form_token, make_user

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEMPLATE = "ktpel{{7*7}}ktpel"
PAYLOADS = [SCRIPT, IMG, "' OR '1'='1' --", "'; DROP TABLE residents; --", TEMPLATE, "../../etc/passwd",
            "x" * 10_000, "budi\x00santoso", "Budi 🇮🇩 \u202eOSOTNAS\u202c بودي",
            f"Budi {TEMPLATE}{SCRIPT}{IMG}"]  # last: what stays stored for the read-back
# what an HTML page must never contain once the payloads have been sent: each is the payload unescaped
RAW_MARKS = {"<script>alert(1)</script>": "script tag", "<img src=x onerror": "img onerror",
             "ktpel49ktpel": "template expression evaluated"}
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
WRITE_METHODS = {"POST", "PUT", "PATCH"}
SIGN_OUT = "/keluar"  # ends the sweeping client's own session; it has no fields to fill
FORM_READ = re.compile(r"""form(?:\.get|\.getlist|)\s*[\(\[]\s*f?["']([a-z_]+)(?:\{[^}]*\})?["']""")
LOOPBACK = ("127.0.0.1", 50000)
NIK_FIELD = re.compile(r"^nik(_[a-z])?$")


@dataclass
class Fields:
    """What one route reads: text fields get the payload, typed ones (numbers, dates, choices) a plausible value."""

    text: set[str] = field(default_factory=set)
    typed: dict[str, str] = field(default_factory=dict)
    json: bool = False


SOON = today_wib() + dt.timedelta(days=7)  # on the suite's clock (tests/conftest.py)
PLAUSIBLE = {"number": "1", "date": "{day}", "datetime-local": "{day}T08:00", "time": "08:00"}


class _Forms(HTMLParser):
    """Collects the POST forms (action → fields, typed ones with a plausible value) and the links of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, Fields] = {}
        self.links: set[str] = set()
        self._action: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "a" and (a.get("href") or "").startswith("/"):
            self.links.add(a["href"])
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._action = urlsplit(a.get("action") or "").path or None
            if self._action:
                self.forms.setdefault(self._action, Fields())
        elif self._action and tag == "option" and self._select and a.get("value"):
            self.forms[self._action].typed.setdefault(self._select, a["value"])
        elif self._action and tag in ("input", "textarea", "select") and a.get("name"):
            name, kind = a["name"], a.get("type") or tag
            if name == "csrf_token" or kind == "file":
                return
            self.forms[self._action].text.add(name)  # every field is text to an attacker
            if kind == "select":
                self._select = name
            elif kind in PLAUSIBLE:  # later dates in a form a day later: a window ends after it starts
                day = SOON + dt.timedelta(days=len(self.forms[self._action].typed))
                self.forms[self._action].typed[name] = PLAUSIBLE[kind].format(day=day.isoformat())
            elif kind == "hidden" and a.get("value"):
                self.forms[self._action].typed[name] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._action = None
        if tag == "select":
            self._select = None


def _template(path: str) -> re.Pattern:
    """A route path as a regex with one named group per path parameter."""
    return re.compile("^" + re.sub(r"\\\{([^}:]+)[^}]*\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


def _classify(found: Fields, name: str, annotation: object) -> None:
    # small numbers: a float is usually a wait in seconds (the scanner's timeout), an int an id or a version
    if annotation in (float, float | None):
        found.typed[name] = "0.05"
    elif annotation in (int, int | None):
        found.typed[name] = "1"
    else:
        found.text.add(name)


def _declared(route) -> Fields:  # noqa: ANN001
    """Fields a route declares to FastAPI (forms, JSON bodies with their model fields, query parameters)."""
    found = Fields()
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        stack.extend(dep.dependencies)
        for p in [*dep.body_params, *dep.query_params]:
            kind = type(p.field_info).__name__
            annotation = p.field_info.annotation
            if kind == "Body" or (isinstance(annotation, type) and issubclass(annotation, BaseModel | dict)):
                found.json = True
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    for name, f in annotation.model_fields.items():
                        _classify(found, name, f.annotation)
                continue
            _classify(found, p.alias, annotation)
    return found


def _read_in_source(route) -> set[str]:  # noqa: ANN001
    """Form fields a view reads by hand (`form.get("nik")`, `form["tanggal"]`, `form.get(f"phone_{i}")`)."""
    try:
        source = inspect.getsource(route.endpoint)
    except (OSError, TypeError):
        return set()
    module = inspect.getmodule(route.endpoint)
    helpers = re.findall(r"\b(_[a-z_]+)\(", source)  # small private helpers the view hands the form to
    for name in set(helpers):
        helper = getattr(module, name, None)
        if inspect.isfunction(helper):
            source += inspect.getsource(helper)
    names = set()
    for m in FORM_READ.finditer(source):
        names.add(m.group(1) + ("1" if "{" in m.group(0) else ""))
    return names - {"csrf_token"}


class Sweep:
    """One app with a signed-in client per role, the pages it renders, and the problems found so far."""

    def __init__(self, app, db, side: str) -> None:  # noqa: ANN001
        self.app, self.db, self.side = app, db, side
        self.clients: dict[Role, TestClient] = {}
        for role in [*(OFFICE_ROLES if side == "office" else CENTRAL_ROLES), Role.AUDITOR]:
            regency = app.state.settings.office_regency if side == "office" else None
            username, password = make_user(db, role=role, regency_code=regency)
            client = TestClient(app, raise_server_exceptions=False, client=LOOPBACK)
            assert login(client, username, password).status_code == 303, role
            self.clients[role] = client
        self.anonymous = TestClient(app, raise_server_exceptions=False, client=("198.51.100.9", 40000))
        self.anonymous.csrf = login_form_token(self.anonymous)
        self.routes = [r for r in iter_routes(app) if hasattr(r.route, "dependant")
                       and not r.path.startswith(("/docs", "/redoc", "/openapi"))]
        self.problems: list[str] = []
        self.forms: dict[str, Fields] = {}
        self.links: set[str] = set()
        self.path_values: dict[str, str] = {}  # a real value per path parameter name, seen in a rendered form
        self.field_names: set[str] = set()  # every text field of the app: the keys of free-form JSON bodies
        self.shown_escaped: set[str] = set()  # pages that showed a stored payload, escaped
        with db.unit_of_work() as s:
            self.niks = list(s.scalars(select(ResidentRow.nik).order_by(ResidentRow.id).limit(2)))

    def client_for(self, route) -> tuple[TestClient, bool]:  # noqa: ANN001
        """A client allowed on the route (anonymous for public and machine routes); True when it may write."""
        declared = route_roles(route)
        if declared is None or declared == "undeclared" or not declared:
            return self.anonymous, True
        # one signed-in role the route allows (by name: the head on the office side)
        for role in sorted(declared, key=lambda r: r.value):
            if role in self.clients:
                return self.clients[role], True
        return self.anonymous, False

    def pages(self) -> list[tuple[str, TestClient]]:
        """Every GET page without path parameters, once per role allowed on it."""
        out = []
        for info in self.routes:
            if "GET" not in info.methods or "{" in info.path:
                continue
            declared = route_roles(info.route)
            if declared is None or declared == "undeclared":
                out.append((info.path, self.anonymous))
            else:
                out.extend((info.path, c) for r, c in self.clients.items() if r in declared)
        return out

    def harvest(self) -> None:
        """Read every page as every role and remember its POST forms and links."""
        for path, client in self.pages():
            resp = client.get(path, follow_redirects=False)
            if "html" not in resp.headers.get("content-type", ""):
                continue
            parser = _Forms()
            parser.feed(resp.text)
            for action, found in parser.forms.items():
                known = self.forms.setdefault(action, Fields())
                known.text |= found.text
                known.typed.update(found.typed)
            self.links |= {urlsplit(link).path for link in parser.links}
        for info in self.routes:
            pattern = _template(info.path)
            for action in self.forms:
                if found := pattern.match(action):
                    self.path_values.update(found.groupdict())
            self.field_names |= self.targets(info)[1].text

    def check(self, what: str, resp) -> None:  # noqa: ANN001
        if resp.status_code >= 500 and not _typed_unavailable(resp):
            self.problems.append(f"{what}: {resp.status_code} {resp.text[:120]!r}")
        if "html" in resp.headers.get("content-type", ""):
            for mark, name in RAW_MARKS.items():
                if mark in resp.text:
                    self.problems.append(f"{what}: {name} in the HTML")

    def targets(self, info) -> tuple[list[str], Fields]:  # noqa: ANN001
        """Concrete URLs for a write route (from rendered forms, else '1' per parameter) and its fields."""
        fields = _declared(info.route)
        fields.text |= _read_in_source(info.route) - set(fields.typed)
        pattern = _template(info.path)
        urls = sorted(a for a in self.forms if pattern.match(a))[:3]
        for action in urls:
            fields.text |= self.forms[action].text - set(fields.typed)
            fields.typed = {**self.forms[action].typed, **fields.typed}
        if not urls:
            urls = [re.sub(r"\{([^}:]+)[^}]*\}", lambda m: self.path_value(m.group(1)), info.path)]
        if info.path.startswith("/api/") and not fields.text and not fields.typed:
            fields.json = True
        self.with_real_niks(fields.text, fields.typed)
        return urls, fields

    def path_value(self, name: str) -> str:
        """A real value for a path parameter: one seen in a rendered form, a resident's NIK, else 1."""
        return self.path_values.get(name) or (self.niks[0] if NIK_FIELD.match(name) else "1")

    def with_real_niks(self, names: set[str], typed: dict) -> None:
        """A NIK field gets a resident of this office, so the text next to it (a reason, a note) is stored."""
        niks = [n for n in sorted(names) if NIK_FIELD.match(n) and n not in typed]
        for i, name in enumerate(niks):
            typed[name] = self.niks[i % len(self.niks)]

    def send(self, client: TestClient, method: str, url: str, fields: Fields, payload: str) -> None:
        texts = {name: payload for name in fields.text if name not in fields.typed}
        if fields.json:
            free_form = {name: payload for name in self.field_names}  # a dict body: any key it may read
            self.with_real_niks(set(free_form), free_form)
            body = {**{k: _json_value(v) for k, v in fields.typed.items()}, **(texts or free_form)}
            resp = client.request(method, url, json=body, headers={"X-CSRF-Token": client.csrf},
                                  follow_redirects=False)
        else:
            resp = client.request(method, url, data={**fields.typed, **texts, "csrf_token": client.csrf},
                                  follow_redirects=False)
        self.check(f"{method} {url} {sorted(fields.text | set(fields.typed))} ← {payload[:30]!r}", resp)

    def sweep(self) -> int:
        """Send every payload in every field of every write route; returns how many fields were filled."""
        filled = 0
        for info in self.routes:
            methods = info.methods & WRITE_METHODS
            if not methods or info.path == SIGN_OUT:
                continue
            client, allowed = self.client_for(info.route)
            urls, fields = self.targets(info)
            filled += len(fields.text | set(fields.typed))
            for method in sorted(methods):
                # hostile text in the path itself and in the typed fields (numbers, dates, choices, hidden)
                hostile_path = re.sub(r"\{[^}]+\}", quote(SCRIPT, safe=""), info.path)
                if hostile_path != info.path:
                    self.send(client, method, hostile_path, fields, IMG)
                if fields.typed:
                    everything = Fields(text=fields.text | set(fields.typed), json=fields.json)
                    self.send(client, method, urls[0], everything, "' OR '1'='1' --")
                # then every payload in the text fields, with plausible typed values so the text gets stored;
                # the combined payload goes last, so it is what stays stored for the read-back
                for url in urls:
                    for payload in PAYLOADS if allowed else PAYLOADS[-1:]:
                        self.send(client, method, url, fields, payload)
        return filled

    def read_back(self) -> None:
        """Every page (and every page it links to) as every role: nothing stored comes back raw."""
        reads = [(path, client) for path, client in self.pages()]
        get_routes = [_template(i.path) for i in self.routes if "GET" in i.methods and "{" in i.path]
        reads += [(link, client) for link in sorted(self.links) if any(p.match(link) for p in get_routes)
                  for client in self.clients.values()]
        for path, client in reads:
            resp = client.get(path, follow_redirects=False)
            self.check(f"GET {path}", resp)
            if ESCAPED_SCRIPT in resp.text:
                self.shown_escaped.add(path)


def _json_value(text: str) -> object:
    try:
        return float(text)
    except ValueError:
        return text


def _typed_unavailable(resp) -> bool:  # noqa: ANN001
    """A 502–504 problem document naming its cause (the scanner did not answer) is a refusal, not a crash."""
    if resp.status_code not in (502, 503, 504) or "json" not in resp.headers.get("content-type", ""):
        return False
    return bool(resp.json().get("code"))


def _tables_and_residents(db) -> tuple[set[str], int]:  # noqa: ANN001
    with db.unit_of_work() as s:
        tables = set(sa_inspect(s.connection()).get_table_names())
        return tables, s.scalar(select(func.count()).select_from(ResidentRow))


@pytest.mark.parametrize("side", ["office", "central"])
def test_hostile_text_in_every_field_is_refused_or_stored_escaped(settings, db, regions, names, side):
    seed_district(db, regions=regions, names=names, regency_code="18.01", residents=20, seed=9,
                  today=today_wib())
    for node in ("office", "central"):  # an app in service has its signing keys (else sync answers 503)
        init_keys(settings, side=node)
    tables_before, residents_before = _tables_and_residents(db)
    sweep = Sweep(create_app(settings=settings, side=side, db=db), db, side)
    sweep.harvest()
    filled = sweep.sweep()
    sweep.read_back()
    assert filled >= (20 if side == "office" else 8), f"only {filled} fields found to sweep on {side}"
    assert not sweep.problems, "\n".join(sweep.problems)
    # the payloads did reach storage (templates, announcements, the audit trail) and came back as text
    assert sweep.shown_escaped, "no page showed a stored payload: the sweep stored nothing"
    tables_after, residents_after = _tables_and_residents(db)
    assert tables_after == tables_before
    assert residents_after == residents_before == 20
