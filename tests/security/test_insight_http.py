"""The insight web app's HTTP surface under attack: path traversal, SQL injection, fuzzing.

Routes are enumerated from the app's own router (``create_app(settings).router``), so a route
added later is covered without editing this file. Requests go to the running app of
tests/security/conftest.py over raw ``http.client`` (no client-side path normalisation).
"""

from __future__ import annotations

import http.client
import json
import re
import string
from pathlib import Path
from typing import Dict, List, Tuple
from urllib.parse import quote, urlsplit

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insight.web.app import create_app
from knowledge.secret_files import identity_secret
from tests.security.conftest import LiveSystem
from tests.security.test_bad_input_live import _counts

pytestmark = pytest.mark.slow

TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fknowledge%2fsettings.py",
    "%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "..%5c..%5c..%5cknowledge%5csettings.py",
    "....//....//....//etc/passwd",
    "..;/..;/..;/etc/passwd",
    "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "widget.js%00.png",
    "../../../../knowledge/settings.py",
    "../../../var/identity.secret",
]
# Text that must never come back from a static route.
LEAKS = ("root:x:0:0", "class Settings(BaseSettings)", "PROJECT_ROOT")


def _raw(
    live: LiveSystem, method: str, target: str, body: bytes = b"", **headers: str
) -> Tuple[int, bytes]:
    """One request with the target sent exactly as given."""
    parts = urlsplit(live.insight_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name.replace("_", "-"), value)
        if body or method in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _router(live: LiveSystem) -> web.UrlDispatcher:
    return create_app(live.settings).router


def _file_prefixes(live: LiveSystem) -> List[str]:
    """Every route prefix that serves files: static folders and ``.../{name}`` file routes."""
    prefixes = []
    for resource in _router(live).resources():
        info = resource.get_info()
        if isinstance(resource, web.StaticResource):
            prefixes.append(info["prefix"].rstrip("/") + "/")
        elif re.fullmatch(r".*/\{name\}", info.get("formatter", "")):
            prefixes.append(info["formatter"][: -len("{name}")])
    return prefixes


def test_every_static_and_file_route_refuses_path_traversal(live: LiveSystem) -> None:
    prefixes = _file_prefixes(live)
    assert {"/widget/", "/static/", "/vendor/", "/console/static/"} <= set(prefixes), prefixes
    secret = identity_secret(live.settings)
    for prefix in prefixes:
        for attack in TRAVERSALS:
            status, body = _raw(live, "GET", prefix + attack)
            assert status in (400, 403, 404), (prefix + attack, status, body[:200])
            assert secret not in body and not any(leak.encode() in body for leak in LEAKS)
    # The routes still serve what they are for.
    assert _raw(live, "GET", "/widget/widget.js")[0] == 200
    assert _raw(live, "GET", "/vendor/socket.io.min.js")[0] == 200


def test_sql_injection_in_query_parameters_is_refused_or_harmless(live: LiveSystem) -> None:
    before = _counts(live.database_url)
    payloads = ["1' OR '1'='1", "1; DROP TABLE orders;--", "' UNION SELECT * FROM agents--"]
    for payload in payloads:
        status, _ = _raw(live, "GET", "/?customer=" + quote(payload))
        assert status == 400
    session_cookie = _supervisor_cookie(live)
    names = ["conversations", "segments", "recommendations", *_known_names(live, session_cookie)]
    answered = 0
    for name in names:
        path = f"/dashboard/api/{name}"
        for payload in payloads:
            for param in QUERY_NAMES:
                status, body = _raw(
                    live, "GET", f"{path}?{param}={quote(payload)}", Cookie=session_cookie
                )
                assert status < 500, (path, param, payload, body[:300])
                answered += status in (200, 400)
        status, body = _raw(live, "GET", f"/dashboard/api/conversations/{quote(payload, safe='')}")
        assert status < 500
    assert answered > 100  # the handlers themselves answered (a value error or data)
    assert _counts(live.database_url) == before


def _supervisor_cookie(live: LiveSystem) -> str:
    """A ``Cookie`` header of a signed-in supervisor session, through the real sign-in form."""
    parts = urlsplit(live.insight_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", "/console/login")
        response = connection.getresponse()
        page = response.read()
        cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
        csrf = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        form = f"username=supervisor&password=supervisor-demo-pass&csrf_token={quote(csrf)}"
        connection.request(
            "POST",
            "/console/login",
            body=form,
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
        assert response.status == 303, response.status
        return response.getheader("Set-Cookie", "").split(";", 1)[0]
    finally:
        connection.close()


# ----------------------------------------------------------------- property-based fuzz run

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
NASTY = st.sampled_from(
    ["..", "%2e%2e", "\x00", "' OR 1=1--", "<script>", "😀", "a" * 300, "-1", "1e9", "NaN"]
)


def segments(known: List[str]) -> st.SearchStrategy[str]:
    """Route parameter values: plausible ids and names half the time, anything otherwise."""
    return st.one_of(
        st.integers(min_value=0, max_value=5).map(str),
        st.sampled_from(known or ["x"]),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.text(max_size=30),
        NASTY,
    )


QUERY_NAMES = ["customer", "from", "to", "channel", "intent", "category", "segment", "min_risk",
               "format", "ids", "limit", "offset", "measure", "row", "refresh", "q"]  # fmt: skip
# (path template, methods, route regex or "", files of a static folder)
Route = Tuple[str, List[str], str, List[str]]
HEADER_VALUE = st.text(alphabet=string.ascii_letters + string.digits + " -_;=,./:*\"'", max_size=60)


def _fill(template: str, values: List[str]) -> str:
    """``template`` with each ``{param}`` replaced by a percent-encoded value."""
    out, i = template, 0
    while "{" in out and i < len(values):
        start, end = out.index("{"), out.index("}", out.index("{"))
        out = out[:start] + quote(values[i], safe="", errors="surrogatepass") + out[end + 1 :]
        i += 1
    return out


def paths(route: Route, known: List[str]) -> st.SearchStrategy[str]:
    """Paths for one route: ones its pattern matches (real handler code) and near misses."""
    template, _, pattern, files = route
    misses = st.lists(segments(known), min_size=3, max_size=3).map(
        lambda values: _fill(template, values)
    )
    if files:
        prefix = template[: -len("{file}")]
        hits = st.sampled_from(files).map(lambda name: prefix + name)
        return st.one_of(hits, misses)
    if pattern:
        hits = st.from_regex(pattern, fullmatch=True).map(
            lambda path: quote(path, safe="/", errors="surrogatepass")
        )
        return st.one_of(hits, misses)
    return st.just(template)


@st.composite
def requests(
    draw: st.DrawFn, routes: List[Route], known: List[str], csrf: str
) -> Dict[str, object]:
    """A random request aimed at one of the app's routes (mostly with one of its methods)."""
    route = draw(st.sampled_from(routes))
    methods = route[1]
    method = draw(st.sampled_from(methods) if draw(st.booleans()) else st.sampled_from(METHODS))
    path = draw(paths(route, known))
    if draw(st.booleans()):
        path += draw(st.sampled_from(["", "/", "/x", "/../..", "%2f..", ".csv", ".json"]))
    names = st.sampled_from(QUERY_NAMES) | st.text(max_size=12)
    query = draw(st.dictionaries(names, segments(known) | st.text(max_size=40), max_size=4))
    if query:
        path += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
    body = draw(
        st.one_of(
            st.binary(max_size=300),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                lambda inner: (
                    st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4)
                ),
                max_leaves=10,
            ).map(lambda value: json.dumps(value).encode()),
        )
    )
    headers = {
        "Content-Type": draw(
            st.sampled_from(
                [
                    "application/json",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data; boundary=xyz",
                    "text/plain",
                    "application/octet-stream",
                ]
            )
        )
    }
    if draw(st.booleans()):
        headers["X-CSRF-Token"] = draw(st.sampled_from([csrf, "forged"]))
    for name in draw(
        st.lists(st.sampled_from(["Accept", "Origin", "Range", "If-Match"]), max_size=2)
    ):
        headers[name] = draw(HEADER_VALUE)
    return {
        "method": method,
        "path": path,
        "body": body,
        "headers": headers,
    }


def _routes(live: LiveSystem) -> List[Route]:
    """Every route of the app: (path template, methods, pattern or "", files of a static folder)."""
    routes: Dict[str, Route] = {}
    for resource in _router(live).resources():
        info = resource.get_info()
        files: List[str] = []
        pattern = ""
        if isinstance(resource, web.StaticResource):
            template = info["prefix"].rstrip("/") + "/{file}"
            files = sorted(p.name for p in Path(info["directory"]).iterdir() if p.is_file())
        elif "pattern" in info:
            template, pattern = info["formatter"], info["pattern"].pattern
        else:
            template = info["path"]
        methods = {route.method for route in resource if route.method != "*"} or {"GET"}
        if template in routes:
            methods |= set(routes[template][1])
        routes[template] = (template, sorted(methods), pattern, files)
    return sorted(routes.values())


def _known_names(live: LiveSystem, cookie: str) -> List[str]:
    """Names the app itself lists (analytics measures etc.), so fuzzed paths hit real handlers."""
    status, body = _raw(live, "GET", "/dashboard/api/measures", Cookie=cookie)
    if status != 200:
        return []
    return sorted(set(re.findall(r'"([a-z][a-z_-]{1,30})"', body.decode(errors="replace"))))


def test_fuzzing_every_route_finds_no_server_errors(live: LiveSystem) -> None:
    routes = _routes(live)
    assert any(route[0].startswith("/console/api/") for route in routes), routes
    cookie = _supervisor_cookie(live)  # a signed-in supervisor: handlers past auth get fuzzed
    known = _known_names(live, cookie)
    _, page = _raw(live, "GET", "/console", Cookie=cookie)
    csrf = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()
    failures: List[str] = []

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=requests(routes, known, csrf), signed_in=st.booleans())
    def probe(request: Dict[str, object], signed_in: bool) -> None:
        headers = dict(request["headers"])  # type: ignore[arg-type]
        if signed_in:
            headers["Cookie"] = cookie
        status, body = _raw(
            live,
            str(request["method"]),
            str(request["path"]),
            request["body"],
            **headers,  # type: ignore[arg-type]
        )
        if status >= 500 and status not in (502, 503):
            failures.append(f"{request['method']} {request['path']} -> {status}: {body[:200]!r}")
        assert status < 500 or status in (502, 503), failures[-1]

    probe()
    assert failures == []
    assert _raw(live, "GET", "/healthz")[0] == 200
