"""Access tokens, tried as an attacker would.

- An assertion is for one node: its audience is the node's configured public URL, never
  what a request's Host or X-Forwarded-* headers say, and another node of the same chain
  (here a copy of the first's data directory, with its own public URL) refuses it.
- A token dies with its key: revoked or rotated through the ledger, the next request
  with the token is refused.
- Scopes in SMART v1 and v2 syntax; each request needs the one its method and path
  call for; unknown scopes are refused with the reason.
- The memory of used assertions and served read requests outlives the node's process.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ident
from records_net import bundle_for
from salus.api import scopes
from salus.client import SalusClient, SalusError
from salus.identity import Identity
from salus.identity.assertion import ASSERTION_TYPE, client_assertion, sign_jwt
from salus.ledger.log import leaf_hash
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from salus.records.fhir_export import patient_fhir_id
from servers import node_server

ORGS = [OrgSpec("st-mary", "hospital", "St Mary's")]
#: Node B's public URL: not the address the tests reach it at.
B_PUBLIC = "https://b.salus.example/"


@dataclass
class Twins:
    """Two nodes of one chain: B runs on a copy of A's data directory."""

    a: str  # the URL of A, which is also its public URL (the default)
    b: str  # where B listens; its public URL is B_PUBLIC
    admin: Identity  # St Mary's admin, on both
    alice: Identity  # a clinician of St Mary's, on both
    patient: Identity  # a patient with records at St Mary's (on A)
    records: list[str]

    def endpoint(self, which: str) -> str:
        return {"a": f"{self.a}/v1/auth/token", "b": "https://b.salus.example/v1/auth/token"}[which]


def ask(url: str, assertion: str, scope: str | None = None, **headers: str) -> httpx.Response:
    """A token request to the node at ``url`` (however the assertion names it)."""
    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion}
    if scope is not None:
        form["scope"] = scope
    return httpx.post(f"{url}/v1/auth/token", data=form, headers=headers)


def error(resp: httpx.Response) -> tuple[int, str, str]:
    """(status, code, reason) of a refusal: JSON ``error``, or under /fhir an
    OperationOutcome whose diagnostics read ``CODE: reason``."""
    body = resp.json()
    if body.get("resourceType") == "OperationOutcome":
        code, _, reason = body["issue"][0]["diagnostics"].partition(": ")
        return resp.status_code, code, reason
    return resp.status_code, body["error"]["code"], body["error"]["reason"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twins]:
    a_data, b_data = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    init_datadir(a_data, "salus-token-test", ORGS)
    shutil.copytree(a_data, b_data, dirs_exist_ok=True)  # same chain, same keys
    admin = Identity.load(admin_key_path(DataDir(a_data), "st-mary"))
    alice, patient = ident("token-alice"), ident("token-patient")
    served_a, node_a = node_server(a_data, block_max_wait_ms=5)
    served_b, node_b = node_server(b_data, block_max_wait_ms=5, custodians=(),
                                   public_url=B_PUBLIC)
    with served_a as a, served_b as b:
        for url in (a.url, b.url):
            with SalusClient(url, admin) as c:
                c.call("membership", "enrol", {"org": "st-mary", "member": alice.did,
                                               "roles": ["clinician"],
                                               "encryption_key": alice.encryption_did})
        with SalusClient(a.url, patient) as me:
            me.call("membership", "register_patient", {"encryption_key": patient.encryption_did})
        with SalusClient(a.url, alice) as doc:
            stored = doc.ingest("st-mary", patient.did, bundle_for("MRN-token-test"))
        yield Twins(a.url, b.url, admin, alice, patient, sorted(s["record"] for s in stored))
    node_a.ledger.close()
    node_b.ledger.close()


# -- the audience ----------------------------------------------------------------------------
def test_an_assertion_made_for_another_address_is_refused(twins: Twins) -> None:
    now = int(time.time())
    elsewhere = ask(twins.a, client_assertion(twins.alice, "http://elsewhere/v1/auth/token", now))
    status, code, reason = error(elsewhere)
    assert (status, code) == (400, "INVALID_CLIENT")
    assert "audience" in reason and twins.endpoint("a") in reason
    # the attack of issue 14: an assertion for evil.example, sent naming evil.example as
    # the host (and as the forwarded host and scheme), got a token
    evil = client_assertion(twins.alice, "http://evil.example/v1/auth/token", now)
    for headers in ({"Host": "evil.example"},
                    {"Host": "evil.example", "X-Forwarded-Host": "evil.example",
                     "X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.9"}):
        status, code, reason = error(ask(twins.a, evil, **headers))
        assert (status, code) == (400, "INVALID_CLIENT") and "audience" in reason
    # nor does discovery tell a client a Host-made endpoint
    found = httpx.get(f"{twins.a}/.well-known/smart-configuration",
                      headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert found.json()["token_endpoint"] == twins.endpoint("a")
    # the right audience gets a token, and the node served throughout
    assert ask(twins.a, client_assertion(twins.alice, twins.endpoint("a"), now)).status_code == 200
    assert httpx.get(f"{twins.a}/health").status_code == 200


def test_an_assertion_is_redeemed_at_its_own_node_only(twins: Twins) -> None:
    now = int(time.time())
    for_a = client_assertion(twins.alice, twins.endpoint("a"), now)
    status, code, reason = error(ask(twins.b, for_a))  # alice is a member at B too
    assert (status, code) == (400, "INVALID_CLIENT") and twins.endpoint("b") in reason
    # B's public URL, not the address it listens on, is its audience
    listening = client_assertion(twins.alice, f"{twins.b}/v1/auth/token", now)
    assert error(ask(twins.b, listening))[:2] == (400, "INVALID_CLIENT")
    from_b = ask(twins.b, client_assertion(twins.alice, twins.endpoint("b"), now))
    assert from_b.status_code == 200
    assert claims(from_b.json()["access_token"])["aud"] == B_PUBLIC.rstrip("/")
    from_a = ask(twins.a, for_a)  # B's refusal did not spend it
    assert from_a.status_code == 200
    # a token of A is no token at B, though both sign with the same (copied) key
    token_a = from_a.json()["access_token"]
    assert httpx.get(f"{twins.a}/v1/members", headers=bearer(token_a)).status_code == 200
    status, code, _ = error(httpx.get(f"{twins.b}/v1/members", headers=bearer(token_a)))
    assert (status, code) == (401, "INVALID_TOKEN")


def test_the_sdk_takes_the_audience_from_the_node_it_talks_to(twins: Twins) -> None:
    with SalusClient(twins.a, twins.alice) as c:
        assert c.token_endpoint() == twins.endpoint("a")
        assert c.members("st-mary")["members"]
    # B advertises an endpoint on another origin than the address this client uses: the
    # SDK signs nothing for it (a node advertising a third node's endpoint would
    # otherwise collect assertions it could redeem there)
    with SalusClient(twins.b, twins.alice) as c, pytest.raises(SalusError) as err:
        c.members()
    assert err.value.code == "AUDIENCE_MISMATCH" and "b.salus.example" in err.value.reason
    # reaching B through another address on purpose: name its public URL
    with SalusClient(twins.b, twins.alice, public_url=B_PUBLIC) as c:
        assert c.members("st-mary")["members"]


# -- a token dies with its key ---------------------------------------------------------------
def nurse_with_token(twins: Twins, name: str) -> tuple[Identity, str]:
    """A nurse newly enrolled at A, and a token of hers that works."""
    nurse = ident(name)
    with SalusClient(twins.a, twins.admin) as admin:
        admin.call("membership", "enrol", {"org": "st-mary", "member": nurse.did,
                                           "roles": ["nurse"]})
    with SalusClient(twins.a, nurse) as c:
        token = c.token()
    assert httpx.get(f"{twins.a}/v1/members", headers=bearer(token)).status_code == 200
    return nurse, token


def test_a_token_stops_working_when_its_key_is_rotated(twins: Twins) -> None:
    old, token = nurse_with_token(twins, "token-rotating-nurse")
    new = ident("token-rotating-nurse-2")
    with SalusClient(twins.a, old) as c:
        assert c.call("membership", "rotate_key", {"new_key": new.did}).valid
    for path in ("/v1/members", f"/v1/members/{old.did}", "/v1/state/org/st-mary",
                 f"/v1/records?patient={twins.patient.did}"):
        answer = httpx.get(f"{twins.a}{path}", headers=bearer(token))
        assert error(answer)[:2] == (401, "KEY_NOT_ACTIVE"), path
        assert "invalid_token" in answer.headers["WWW-Authenticate"]
    with SalusClient(twins.a, new) as c:  # the new key is the same member
        assert c.members("st-mary")["members"]
        assert claims(c.token())["sub"] == old.did
    with SalusClient(twins.a, old) as c, pytest.raises(SalusError) as err:
        c.token()
    assert err.value.code == "INVALID_CLIENT"


def test_a_token_stops_working_when_its_key_is_revoked(twins: Twins) -> None:
    lost, token = nurse_with_token(twins, "token-revoked-nurse")
    with SalusClient(twins.a, twins.admin) as admin:
        assert admin.call("membership", "revoke_key", {"key": lost.did,
                                                       "reason": "key_compromise"}).valid
    status, code, reason = error(httpx.get(f"{twins.a}/v1/members", headers=bearer(token)))
    assert (status, code) == (401, "KEY_NOT_ACTIVE") and "revoked" in reason
    fresh = ask(twins.a, client_assertion(lost, twins.endpoint("a"), int(time.time())))
    assert error(fresh)[:2] == (400, "INVALID_CLIENT")


# -- scopes ------------------------------------------------------------------------------------
ACCEPTED = ["system/*.rs", "user/*.rs", "system/*.cruds", "system/Observation.rs",
            "user/Condition.s", "system/*.read", "system/*.write", "system/*.*",
            "system/*.read user/Observation.rs", "system/*.c"]
REFUSED = {
    "patient/*.rs": "patient/ scopes need a patient",
    "system/Spaceship.rs": "not a resource type",
    "system/*.sr": "in that order",
    "system/*.rss": "in that order",
    "system/*.x": "in that order",
    "system/*.": "in that order",
    "system/Observation.rs?category=laboratory": "with a query",
    "openid": "<context>/<resource>.<permissions>",
    "launch/patient": "<context>/<resource>.<permissions>",
    "admin/*.rs": "the context must be",
    "system/*.rs openid": "openid",
}


def token_with(twins: Twins, who: Identity, scope: str) -> str:
    answer = ask(twins.a, client_assertion(who, twins.endpoint("a"), int(time.time())), scope)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def test_smart_v1_and_v2_scopes_are_granted_and_unknown_ones_refused(twins: Twins) -> None:
    for scope in ACCEPTED:
        answer = ask(twins.a, client_assertion(twins.alice, twins.endpoint("a"),
                                               int(time.time())), scope)
        assert answer.status_code == 200, (scope, answer.text)
        assert answer.json()["scope"] == scope
        assert claims(answer.json()["access_token"])["scope"] == scope
    for scope, why in REFUSED.items():
        assertion = client_assertion(twins.alice, twins.endpoint("a"), int(time.time()))
        status, code, reason = error(ask(twins.a, assertion, scope))
        assert (status, code) == (400, "INVALID_SCOPE"), scope
        assert why in reason and scope.split()[-1].split("?")[0] in reason, (scope, reason)
        # a refused scope does not spend the assertion
        assert ask(twins.a, assertion, "system/*.rs").status_code == 200
    # without a scope: SMART v1's read of everything
    answer = ask(twins.a, client_assertion(twins.alice, twins.endpoint("a"), int(time.time())))
    assert answer.json()["scope"] == "system/*.read"


def test_discovery_advertises_the_scopes_it_grants(twins: Twins) -> None:
    found = httpx.get(f"{twins.a}/.well-known/smart-configuration").json()
    for scope in ("system/*.rs", "user/*.rs", "system/*.cruds", "system/Observation.rs",
                  "system/*.read", "system/*.write"):
        assert scope in found["scopes_supported"]
    assert {"permission-v1", "permission-v2"} <= set(found["capabilities"])
    for scope in found["scopes_supported"]:
        scopes.parse_all(scope)


def test_each_request_needs_the_scope_its_method_and_path_call_for(twins: Twins) -> None:
    def get(token: str, path: str, **params: str) -> httpx.Response:
        return httpx.get(f"{twins.a}{path}", params=params, headers=bearer(token))

    read_all = token_with(twins, twins.alice, "system/*.rs")
    observations = token_with(twins, twins.alice, "system/Observation.rs")
    create_only = token_with(twins, twins.alice, "system/*.c")
    assert get(read_all, "/v1/members").status_code == 200
    for token in (observations, create_only):
        answer = get(token, "/v1/members")
        status, code, reason = error(answer)
        assert (status, code) == (403, "INSUFFICIENT_SCOPE") and "system/*.r" in reason
        assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]
    # writing with a token that only reads: refused before anything is looked at
    record = twins.records[0]
    key = {"version": 1, "recipient": twins.alice.did,
           "wrapped_key": base64.b64encode(bytes(80)).decode()}
    answer = httpx.post(f"{twins.a}/v1/records/{record}/keys", json=key, headers=bearer(read_all))
    assert error(answer)[:2] == (403, "INSUFFICIENT_SCOPE")
    answer = httpx.post(f"{twins.a}/v1/records/{record}/keys", json=key,
                        headers=bearer(create_only))  # past the scope: alice is no patient
    assert error(answer)[:2] == (403, "FORBIDDEN")
    # FHIR: a resource-specific scope opens that type, and only its granted interactions
    patient = twins.patient
    fhir_id = patient_fhir_id(patient.did)
    mine = token_with(twins, patient, "user/Observation.rs")
    found = get(mine, "/fhir/Observation", patient=fhir_id)
    assert found.status_code == 200
    (entry, *_) = found.json()["entry"]
    one = entry["resource"]["id"]
    assert get(mine, f"/fhir/Observation/{one}").json()["resourceType"] == "Observation"
    for path, params in (("/fhir/Condition", {"patient": fhir_id}),
                         (f"/fhir/Patient/{fhir_id}/$everything", {}),
                         (f"/fhir/Patient/{fhir_id}", {}), ("/v1/records", {"patient": patient.did})):
        assert error(get(mine, path, **params))[:2] == (403, "INSUFFICIENT_SCOPE"), path
    search_only = token_with(twins, patient, "user/Observation.s")
    assert get(search_only, "/fhir/Observation", patient=fhir_id).status_code == 200
    status, code, reason = error(get(search_only, f"/fhir/Observation/{one}"))
    assert (status, code) == (403, "INSUFFICIENT_SCOPE") and "Observation.r" in reason


NEEDS = [
    ("GET", "/v1/members", ("*", "r")),
    ("GET", "/v1/state/member/x", ("*", "r")),
    ("POST", "/v1/records/st-mary/ingest", ("*", "c")),
    ("PUT", "/v1/anything", ("*", "u")),
    ("DELETE", "/v1/anything", ("*", "d")),
    ("GET", "/fhir/Observation", ("Observation", "s")),
    ("GET", "/fhir/Observation/r-1", ("Observation", "r")),
    ("GET", "/fhir/Patient/abc/$everything", ("*", "r")),
    ("POST", "/fhir/Observation", ("*", "c")),
]


@pytest.mark.parametrize(("method", "path", "need"), NEEDS)
def test_what_each_request_needs(method: str, path: str, need: tuple[str, str]) -> None:
    assert scopes.needed(method, path) == need


def test_v1_and_v2_permissions_mean_the_same() -> None:
    (v1,) = scopes.parse_all("system/*.read")
    (v2,) = scopes.parse_all("system/*.rs")
    assert v1.permissions == v2.permissions == frozenset("rs")
    (write,) = scopes.parse_all("user/*.write")
    assert write.permissions == frozenset("cud") and write.context == "user"
    (one,) = scopes.parse_all("system/Observation.rs")
    assert one.allows("Observation", "r") and not one.allows("Condition", "r")
    assert not one.allows("*", "r")


@given(st.text(max_size=60))
def test_any_scope_text_parses_or_is_refused_with_a_reason(text: str) -> None:
    try:
        parsed = scopes.parse_all(text)
    except scopes.ScopeError as exc:
        assert str(exc)
    else:
        assert parsed and all(s.context in scopes.CONTEXTS for s in parsed)


# -- the memory outlives the process ---------------------------------------------------------
PUBLIC = "https://salus.restart.example"


def remembered(data: Path, guard: str) -> set[str]:
    with sqlite3.connect(DataDir(data).replay_file) as db:
        return {row[0] for row in db.execute("SELECT id FROM seen WHERE guard = ?", (guard,))}


def test_a_request_served_before_a_restart_is_refused_after_it(tmp_path: Path) -> None:
    init_datadir(tmp_path, "salus-replay-test", ORGS)
    admin = Identity.load(admin_key_path(DataDir(tmp_path), "st-mary"))
    doc, patient = ident("replay-doc"), ident("replay-patient")
    served, node = node_server(tmp_path, block_max_wait_ms=5, public_url=PUBLIC)
    with served as server:
        with SalusClient(server.url, admin, public_url=PUBLIC) as c:
            c.call("membership", "enrol", {"org": "st-mary", "member": doc.did,
                                           "roles": ["clinician"],
                                           "encryption_key": doc.encryption_did})
        with SalusClient(server.url, patient, public_url=PUBLIC) as me:
            me.call("membership", "register_patient", {"encryption_key": patient.encryption_did})
        with SalusClient(server.url, doc, public_url=PUBLIC) as c:
            body = json.dumps(bundle_for("MRN-replay")).encode()
            ingest_headers = {"Content-Type": "application/fhir+json",
                              **c.ingest_headers("st-mary", patient.did, body)}
            token = c.token()
            stored = httpx.post(f"{server.url}/v1/records/st-mary/ingest",
                                params={"patient": patient.did}, content=body,
                                headers={**ingest_headers, **bearer(token)})
            assert stored.status_code == 201, stored.text
        record = stored.json()["records"][0]["record"]
        with SalusClient(server.url, patient, public_url=PUBLIC) as me:
            signed = me.sign("access", "read", {"custodian": "st-mary", "record": record,
                                                "purpose": "TREAT"})
            read = {"request": base64.b64encode(signed).decode()}
        assert httpx.post(f"{server.url}/v1/records/read", json=read).status_code == 200
        # on disk while the node runs (a kill -9 now would not forget it), not at exit only
        deadline = time.monotonic() + 5
        while leaf_hash(signed).hex() not in remembered(tmp_path, "read_requests"):
            assert time.monotonic() < deadline, "the served read never reached replay.db"
            time.sleep(0.01)
        assertion = client_assertion(patient, f"{PUBLIC}/v1/auth/token", int(time.time()))
        assert ask(server.url, assertion).status_code == 200
    node.ledger.close()
    assert DataDir(tmp_path).replay_file.exists()

    served, node = node_server(tmp_path, block_max_wait_ms=5, public_url=PUBLIC)
    with served as server:  # the same node, restarted on its data directory
        status, code, _ = error(httpx.post(f"{server.url}/v1/records/read", json=read))
        assert (status, code) == (409, "REPLAYED_REQUEST")
        status, code, reason = error(ask(server.url, assertion))
        assert (status, code) == (400, "INVALID_CLIENT") and "replay" in reason
        with SalusClient(server.url, doc, public_url=PUBLIC) as c:
            again = httpx.post(f"{server.url}/v1/records/st-mary/ingest",
                               params={"patient": patient.did}, content=body,
                               headers={**ingest_headers, **bearer(c.token())})
        assert error(again)[:2] == (409, "REPLAYED_REQUEST")
        # and it serves fresh requests as before
        with SalusClient(server.url, patient, public_url=PUBLIC) as me:
            assert me.read_record("st-mary", record)["resourceType"]
    node.ledger.close()


def test_assertion_claims_of_the_wrong_type_are_refused_as_bad_clients(twins: Twins) -> None:
    """A string exp (or a number where a string belongs) from any key is a 400
    INVALID_CLIENT (an ApiError, so the failure budget counts it), never a 500."""
    now = int(time.time())
    stranger = Identity.generate()
    endpoint = twins.endpoint("a")
    base = {"iss": stranger.did, "sub": stranger.did, "aud": endpoint, "exp": now + 60,
            "jti": "j-types"}
    for claims in ({**base, "exp": str(now + 60)}, {**base, "iat": str(now)},
                   {**base, "jti": 17}, {**base, "nbf": [now]}):
        for who in (stranger, twins.alice):
            signed = sign_jwt(who, {**claims, "iss": who.did, "sub": who.did})
            r = ask(twins.a, signed)
            assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_CLIENT", r.text


def test_a_token_request_with_a_parameter_twice_is_refused(twins: Twins) -> None:
    """RFC 6749 section 3.2: a parameter sent twice (two assertions, two scopes) left it
    to the reader which one counted (the first did). Now: 400 INVALID_REQUEST, and the
    same request sent once each is served."""
    now = int(time.time())
    good = client_assertion(twins.alice, twins.endpoint("a"), now)
    other = client_assertion(twins.alice, twins.endpoint("a"), now)
    base = (f"grant_type=client_credentials&client_assertion_type={ASSERTION_TYPE}"
            f"&client_assertion={good}")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for extra in (f"&client_assertion={other}", "&scope=system/*.rs&scope=system/*.cruds",
                  "&grant_type=client_credentials"):
        r = httpx.post(f"{twins.a}/v1/auth/token", content=base + extra, headers=headers)
        assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_REQUEST", r.text
    assert httpx.post(f"{twins.a}/v1/auth/token", content=base,
                      headers=headers).status_code == 200
