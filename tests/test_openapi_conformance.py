"""Schemathesis against the node's own OpenAPI document: a real node on 127.0.0.1 with the
demo's consortium, records, consents and credentials, called with a member's bearer
token. Any 5xx, and any answer the document does not describe (status, media type, body,
headers), fails. Examples are bounded per operation so the run takes a minute or two.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from salus.client import SalusClient
from salus.credentials import demo as demo_credentials
from salus.demo import seed
from salus.identity import Identity
from salus.node.rate_limits import Budget, RateLimits
from salus.node.server import NodeConfig, build, uvicorn_options
from salus.ports import free_port
from salus.records.demo import seed_records
from servers import ServerThread

#: Examples per operation: enough to reach each parameter's edges, few enough that some
#: sixty operations take a minute or two on two cores.
EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
UNLIMITED = Budget(0, 1)


class Served:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("openapi")
    seed(data)
    # The fuzzer's refusals would spend an address's budgets within seconds, and then
    # every answer would be a 429: it reaches the code only without them.
    config = NodeConfig(data, port=free_port(), block_max_wait_ms=5, token_lifetime=3600,
                        rate_limits=RateLimits(UNLIMITED, UNLIMITED, UNLIMITED))
    app, node = build(config)
    with ServerThread(app, **uvicorn_options(config)) as server:
        seed_records(server.url, data / "keys")
        demo_credentials.seed_credentials(server.url, data)
        with SalusClient(server.url, Identity.load(data / "keys" / "patient-ivy.key")) as ivy:
            token = ivy.token()
        yield Served(server.url, token)
    node.ledger.close()


def _operations(url: str) -> list:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json").exclude(
        # a server-sent event stream never ends: its own tests read it
        path="/v1/access/events")
    return [result.ok() for result in schema.get_all_operations()]


def _exercise(operation, mode: GenerationMode, served: Served) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(mode))
    def run(case) -> None:
        case.call_and_validate(base_url=served.url, headers=served.headers, checks=CHECKS,
                               timeout=30)

    run()


def test_every_answer_keeps_to_the_document(served: Served) -> None:
    """Every operation, with data the document allows and data it refuses. (One test
    that walks the operations: schemathesis's pytest fixture loader does not run on
    pytest 9.)"""
    operations = _operations(served.url)
    assert len(operations) > 40
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _exercise(operation, mode, served)
            except Unsatisfiable:  # nothing to get wrong: no parameter, or free strings
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, FailureGroup) as exc:  # (a FailureGroup is a BaseException)
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
