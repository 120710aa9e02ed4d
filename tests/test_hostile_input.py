"""Hostile input against a real node on 127.0.0.1: oversized, deeply nested, duplicated,
out-of-range. Each is refused quickly with a stable code in JSON (an OperationOutcome
under /fhir), nothing is written, and the node keeps serving."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from records_net import RecordsNet, fixture_bundle, running
from salus.api import body as api_body
from salus.api import errors
from salus.canonical import MAX_DEPTH, JSONError, loads_strict, nesting_depth
from salus.credentials.presentation import MAX_CREDENTIALS
from salus.identity import Identity
from salus.ledger import transaction
from salus.ledger.codes import Code, Rejected

DEEP = b"[" * 2000 + b"]" * 2000
PAST_2_64 = str(2**64)


@pytest.fixture(scope="module")
def net(tmp_path_factory) -> Iterator[RecordsNet]:
    with running(tmp_path_factory.mktemp("hostile"), "pat-hostile") as net:
        yield net


def _log_size(net: RecordsNet) -> int:
    return httpx.get(f"{net.url}/v1/status").json()["log_size"]


def _error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


# -- the loader -----------------------------------------------------------------------------
def test_the_loader_measures_nesting_outside_strings() -> None:
    assert nesting_depth(b'{"a": [1, {"b": []}]}') == 4
    assert nesting_depth(b'{"a": "[[[[{{{{", "b": "\\"[[["}') == 1
    assert nesting_depth(b"17") == 0
    assert nesting_depth(DEEP) == 2000
    ok = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert loads_strict(ok) == json.loads(ok)
    for bad, why in ((b"[" + ok + b"]", "deeper than"), (DEEP, "deeper than"),
                     (b'{"a": 1, "a": 2}', "duplicate key"), (b'{"x": 1.5}', "floats"),
                     (PAST_2_64.encode(), "safe range"), (b"NaN", "not JSON"),
                     ("[" * 5000, "deeper than")):
        with pytest.raises(JSONError, match=why):
            loads_strict(bad)
    # Documents that are never signed (FHIR) take decimals, but only finite ones.
    assert loads_strict(b'{"value": 2.37}', decimals=True) == {"value": 2.37}
    for bad in (b'{"value": 1e400}', b'{"value": -Infinity}', b'{"a": 1, "a": 1}'):
        with pytest.raises(JSONError):
            loads_strict(bad, decimals=True)


def test_the_envelope_takes_exact_types_only() -> None:
    signer = Identity.generate()
    good = transaction.encode(signer, chain="c", contract="notary", method="anchor",
                              args={"hash": "00" * 32}, nonce=1, time=1)
    assert transaction.decode(good).nonce == 1
    envelope = json.loads(good[transaction.SIGNATURE_BYTES:])
    for field, value in (("v", True), ("nonce", True), ("time", False), ("v", 1.0)):
        payload = json.dumps({**envelope, field: value}).encode()
        with pytest.raises(Rejected) as exc:
            transaction.decode(signer.sign(payload) + payload)
        assert exc.value.code == Code.MALFORMED


# -- integer parameters ---------------------------------------------------------------------
@pytest.mark.parametrize("path", [
    f"/v1/blocks/{PAST_2_64}", "/v1/blocks/-1", "/v1/blocks/abc", "/v1/blocks/1e3",
    f"/v1/blocks/{'9' * 5000}",
    f"/v1/log/sth?tree_size={PAST_2_64}", "/v1/log/sth?tree_size=-5", "/v1/log/sth?tree_size=x",
    f"/v1/log/entries?start=0&end={PAST_2_64}", f"/v1/log/entries?start={PAST_2_64}&end=1",
    "/v1/log/entries?start=-1&end=2",
    f"/v1/log/proof?hash={'00' * 32}&tree_size={PAST_2_64}",
    f"/v1/log/consistency?first=1&second={PAST_2_64}", "/v1/log/consistency?first=-1&second=2",
    f"/v1/tx?timeout={PAST_2_64}",
])
def test_integer_parameters_out_of_range_are_bad_requests(net: RecordsNet, path: str) -> None:
    method = "POST" if path.startswith("/v1/tx?") else "GET"
    r = httpx.request(method, net.url + path, json={"tx": ""} if method == "POST" else None)
    assert _error(r) == (400, "BAD_REQUEST"), r.text
    assert r.json()["error"]["reason"]
    assert httpx.get(f"{net.url}/health").status_code == 200


# -- bodies -------------------------------------------------------------------------------
def test_duplicate_keys_are_refused_in_every_json_body(net: RecordsNet) -> None:
    size = _log_size(net)
    dup = b'{"tx": "AAAA", "tx": "AAAA"}'
    for path in ("/v1/tx", "/v1/txs", "/v1/records/read", "/v1/credentials/verify",
                 "/v1/credentials/verify-presentation"):
        r = httpx.post(net.url + path, content=dup, headers={"content-type": "application/json"})
        assert _error(r) == (400, "INVALID_JSON"), (path, r.text)
        assert "duplicate key" in r.json()["error"]["reason"]
    with net.client("pat-hostile") as me:
        r = httpx.post(f"{net.url}/v1/records/rec-x/keys", content=b'{"version": 1, "version": 2}',
                       headers={"authorization": f"Bearer {me.token()}"})
    assert _error(r) == (400, "INVALID_JSON")
    assert _log_size(net) == size


def _ingest(net: RecordsNet, body: bytes, who: str = "dr-adams") -> httpx.Response:
    patient = net.did("pat-hostile")
    with net.client(who) as doc:
        return httpx.post(f"{net.url}/v1/records/st-mary/ingest", params={"patient": patient},
                          content=body, timeout=30,
                          headers={"authorization": f"Bearer {doc.token()}",
                                   "content-type": "application/fhir+json",
                                   **doc.ingest_headers("st-mary", patient, body)})


def test_fhir_bodies_with_duplicate_keys_or_deep_nesting_are_refused(net: RecordsNet) -> None:
    size = _log_size(net)
    observation = json.dumps(fixture_bundle()["entry"][2]["resource"])
    # The same Observation, its status given twice: which one would a reader believe?
    twice = observation.replace('"status": ', '"status": "cancelled", "status": ', 1)
    assert twice != observation
    deep_inside = json.dumps({"resourceType": "Observation", "status": "final",
                              "code": {"text": "x"}, "extension": []}
                             ).replace("[]", "[" * 1000 + "]" * 1000)
    for body, why in ((twice.encode(), "duplicate key"), (DEEP, "deeper than"),
                      (deep_inside.encode(), "deeper than")):
        r = _ingest(net, body)
        assert r.status_code == 400, r.text
        outcome = r.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert why in outcome["issue"][0]["diagnostics"]
    assert _log_size(net) == size
    with net.client("pat-hostile") as me:
        assert me.record_index() == []


def test_deep_json_to_verification_is_refused(net: RecordsNet) -> None:
    wrapped = b'{"credential": ' + DEEP + b"}"
    for path in ("/v1/credentials/verify", "/v1/credentials/verify-presentation"):
        for body in (DEEP, wrapped):
            r = httpx.post(net.url + path, content=body)
            assert _error(r) == (400, "INVALID_JSON"), r.text
            assert "deeper than" in r.json()["error"]["reason"]


def test_text_that_is_not_utf8_or_holds_lone_surrogates_is_refused(net: RecordsNet) -> None:
    """JSON is UTF-8 (RFC 8259 8.1). UTF-16 would hide brackets from the nesting count
    (U+5C41 is the bytes ``A\\`` there, "escaping" a quote) and give a transaction a second
    spelling; a lone surrogate is text no UTF-8 encoder can write back (it was a 500)."""
    deep16 = ('["\u5c41", ' + "[" * 900 + "]" * 900 + ', "z"]').encode("utf-16-le")
    lone = b'{"credential": {"id": "\\ud800"}}'
    for path in ("/v1/credentials/verify", "/v1/credentials/verify-presentation"):
        for body in (deep16, '{"credential": {}}'.encode("utf-16"), lone,
                     b'{"challenge": "\\udc00", "domain": "d", "presentation": {}}'):
            r = httpx.post(net.url + path, content=body)
            assert _error(r) == (400, "INVALID_JSON"), (path, body[:20], r.text)
    for bad in (deep16, b"\xef\xbb\xbf{}", "\ud800".encode("utf-8", "surrogatepass"),
                '"\ud800"', b'"\\ud83d"', b'"\\ude00"'):
        with pytest.raises(JSONError):
            loads_strict(bad)
    assert loads_strict(b'"\\ud83d\\ude00 caf\xc3\xa9"') == "\U0001f600 caf\u00e9"
    signer = Identity.generate()
    envelope = {"v": 1, "chain": "c", "contract": "notary", "method": "anchor",
                "args": {"hash": "00" * 32}, "signer": signer.did, "nonce": 1, "time": 1}
    payload = json.dumps(envelope).encode("utf-16-le")
    with pytest.raises(Rejected) as exc:
        transaction.decode(signer.sign(payload) + payload)
    assert exc.value.code == Code.MALFORMED
    # ingest: the same UTF-16 trick, 83 levels of FHIR extensions, is refused too
    nested = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    inner: dict = nested
    for _ in range(40):
        inner["extension"] = [{"url": "http://example.org/x"}]
        inner = inner["extension"][0]
    r = _ingest(net, json.dumps(nested).encode("utf-16-le"))
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome", r.text


def test_a_client_gone_mid_body_costs_no_traceback(net: RecordsNet, caplog) -> None:
    """Declaring a body and closing the connection after one byte, on every POST that
    reads a body: each used to log a ~4 KB ASGI traceback, unbudgeted and token-free."""
    host, port = net.url.removeprefix("http://").split(":")
    caplog.set_level(logging.INFO)
    for path in ("/v1/credentials/verify", "/v1/records/read", "/v1/tx", "/v1/txs"):
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
                      f"application/json\r\nContent-Length: 100\r\n\r\n{{".encode())
    time.sleep(0.5)
    assert httpx.get(net.url + "/health").status_code == 200
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not logged, [r.getMessage()[:200] for r in logged]


def test_a_body_trickled_slower_than_its_deadline_is_cut_off(net: RecordsNet, monkeypatch) -> None:
    """Declaring a body and sending it a byte at a time held the connection and its task
    for as long as the client liked (uvicorn has no body timeout): now the body must
    arrive by its deadline, or the answer is 408 BODY_TIMEOUT and the connection closes."""
    monkeypatch.setattr(api_body, "BODY_SECONDS", 0.5)
    monkeypatch.setattr(api_body, "MIN_BODY_RATE", 10**9)  # the deadline is BODY_SECONDS
    host, port = net.url.removeprefix("http://").split(":")
    for path in ("/v1/credentials/verify", "/v1/tx"):
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
                      f"application/json\r\nContent-Length: 100\r\n\r\n{{".encode())
            started = time.monotonic()
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                s.sendall(b" ")  # a trickle, well within the declared length
                time.sleep(0.1)
                s.settimeout(0.05)
                with contextlib.suppress(TimeoutError):
                    answer += s.recv(4096)
                assert time.monotonic() - started < 8, "the trickle was never cut off"
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), head
        assert json.loads(payload)["error"]["code"] == "BODY_TIMEOUT"
    assert httpx.get(net.url + "/health").status_code == 200


def _flood(count: int) -> bytes:
    return b'{"credentials": [' + b",".join([b"{}"] * count) + b"]}"


def test_a_flood_of_credentials_is_refused_fast_and_health_answers(net: RecordsNet) -> None:
    """The issue's attack: 4 MB of a million ``{}`` to verify took 41-51 s, 6 GB and
    stalled /health for 24 s. Now: 413 before the body is read, or 400 for a body under
    the limit that holds more credentials than a verification takes."""
    url = f"{net.url}/v1/credentials/verify"
    flood = _flood(4_000_000 // 3)
    assert len(flood) >= 4_000_000
    answers: dict[str, httpx.Response] = {}
    took: dict[str, float] = {}

    def send(name: str, **kw) -> None:
        began = time.monotonic()
        answers[name] = httpx.post(url, timeout=60, **kw)
        took[name] = time.monotonic() - began

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for i in range(0, len(flood), 64 * 1024):
            yield flood[i:i + 64 * 1024]

    attacks = [threading.Thread(target=send, args=(name,), kwargs=kw) for name, kw in (
        ("declared", {"content": flood}), ("chunked", {"content": chunks()}),
        ("under the limit", {"content": _flood(600_000)}))]
    health: list[float] = []
    for attack in attacks:
        attack.start()
    while any(a.is_alive() for a in attacks):
        began = time.monotonic()
        assert httpx.get(f"{net.url}/health", timeout=30).status_code == 200
        health.append(time.monotonic() - began)
        time.sleep(0.02)
    for attack in attacks:
        attack.join()
    assert _error(answers["declared"]) == (413, "TOO_LARGE")
    assert _error(answers["chunked"]) == (413, "TOO_LARGE")
    assert _error(answers["under the limit"]) == (400, "TOO_MANY")
    assert str(MAX_CREDENTIALS) in answers["under the limit"].json()["error"]["reason"]
    assert max(took.values()) < 10, took
    assert health and max(health) < 3, health


def test_oversized_bodies_are_refused_before_they_are_read(net: RecordsNet) -> None:
    big = b"x" * (40 * 1024 * 1024)
    with net.client("dr-adams") as doc:
        token = {"authorization": f"Bearer {doc.token()}"}
    for path, size, kw in (
            ("/v1/tx", 200_000, {}), ("/v1/txs", len(big), {}),
            ("/v1/records/read", 100_000, {}),
            ("/v1/records/rec-x/keys", 100_000, {"headers": token}),
            (f"/v1/records/st-mary/ingest?patient={net.did('pat-hostile')}", 20_000_000,
             {"headers": token})):
        r = httpx.post(net.url + path, content=big[:size], timeout=60, **kw)
        assert _error(r) == (413, "TOO_LARGE"), (path, r.text)
    assert httpx.get(f"{net.url}/health").status_code == 200


# -- errors are JSON, and OperationOutcomes under /fhir ---------------------------------------
def test_fhir_errors_are_operation_outcomes(net: RecordsNet) -> None:
    patient = net.did("pat-hostile").removeprefix("did:key:")
    with net.client("dr-adams") as doc:
        token = {"authorization": f"Bearer {doc.token()}"}
    for path, headers, status in (
            (f"/fhir/Observation?patient={patient}", {}, 401),
            (f"/fhir/Observation?patient={patient}", {"authorization": "Bearer junk"}, 401),
            ("/fhir/Observation", token, 400),  # patient is required
            ("/fhir/Nowhere/x/y/z", token, 404)):
        r = httpx.get(net.url + path, headers=headers)
        assert r.status_code == status, (path, r.text)
        outcome = r.json()
        assert outcome["resourceType"] == "OperationOutcome", (path, outcome)
        assert outcome["issue"][0]["diagnostics"]


def test_an_unexpected_failure_is_a_json_500() -> None:
    app = FastAPI()
    errors.install(app, {"/fhir/": lambda status, code, reason: JSONResponse(
        {"resourceType": "OperationOutcome", "code": code}, status)})

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("patient Jane Doe's secret")

    @app.get("/fhir/boom")
    async def fhir_boom() -> None:
        raise KeyError("x")

    async def ask(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            return await client.get(path)

    r = asyncio.run(ask("/boom"))
    assert _error(r) == (500, "INTERNAL")
    assert "Jane" not in r.text  # the exception's text stays in the log
    r = asyncio.run(ask("/fhir/boom"))
    assert r.status_code == 500 and r.json() == {"resourceType": "OperationOutcome",
                                                 "code": "INTERNAL"}


def test_the_node_serves_after_all_of_it(net: RecordsNet) -> None:
    with net.client("dr-adams") as doc:
        assert doc.call("notary", "anchor", {"hash": "ef" * 32}).valid
    tx = base64.b64encode(b"\x00" * 100).decode()
    r = httpx.post(f"{net.url}/v1/tx", json={"tx": tx})
    assert r.status_code == 422 and r.json()["error"]["code"] in {"MALFORMED", "BAD_SIGNATURE"}
