"""Schemathesis against the node's own OpenAPI document (issue 7: no server error, ever).

One real ``registry serve`` process on 127.0.0.1 (SQLite, no rate limit, an operator token so
the admin API is reached too) serves ``/schema/openapi.json``; schemathesis generates requests
for every operation in it, valid and invalid ones alike, and sends them over TCP. Each answer
must not be a server error (5xx; a 503 ``overloaded``/``unavailable`` problem with
``Retry-After`` is the one documented exception) and must match what the document says
(status codes it declares, content type, body schema). Bounded: a few dozen examples per
operation, no shrinking deadline flakiness (``deadline=None``), a per-request timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CheckContext
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from registry.app import create_app
from registry.config.settings import Settings
from tests.ops.support import NodeProcess, serving

ADMIN_TOKEN = "schemathesis-operator-token-0123456789"
MAX_EXAMPLES = 60


@pytest.fixture(scope="module")
def fuzzed_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    with serving(
        tmp,
        "--data-dir",
        str(tmp / "data"),
        "--origin",
        "fuzz.test/log",
        "--rate-limit",
        "0",
        "--address-hourly-limit",
        "0",
        "--batch-interval",
        "0.005",
        env={"REGISTRY_ADMIN_TOKEN": ADMIN_TOKEN},
    ) as node:
        yield node


def node_openapi() -> dict[str, Any]:
    """The node's OpenAPI document, as its app builds it (nothing is started for this)."""
    app = create_app(Settings(rate_limit=0, admin_token=ADMIN_TOKEN))
    document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


SCHEMA = schemathesis.openapi.from_dict(node_openapi())
OPERATIONS = {
    operation.label: operation
    for operation in (result.ok() for result in SCHEMA.get_all_operations())  # type: ignore[union-attr]
}


@schemathesis.check
def no_server_error(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """5xx is a failure, except a documented 503 problem with Retry-After (spec §6.10.2)."""
    status = response.status_code
    if status < 500:
        return None
    if status == 503 and "retry-after" in {k.lower() for k in response.headers}:
        return None
    raise Failure(
        operation=case.operation.label,
        title=f"server error {status}",
        message=response.text[:2000],
    )


def has_negative_cases(label: str) -> bool:
    """Whether an input of the operation can be invalid: a body, or a parameter that is not a
    free-form path string (any string is a valid path string: no negative case exists)."""
    definition = OPERATIONS[label].definition.raw
    parameters = definition.get("parameters", [])
    return "requestBody" in definition or any(
        p.get("in") != "path" or p.get("schema", {}).get("type") != "string" for p in parameters
    )


CASES = [
    pytest.param(label, mode, id=f"{label}-{mode.value}")
    for label in sorted(OPERATIONS)
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE or has_negative_cases(label)
]


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_operation_answers_without_server_error(
    label: str, mode: GenerationMode, fuzzed_node: NodeProcess
) -> None:
    operation = OPERATIONS[label]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Case[Any]) -> None:
        case.call_and_validate(
            base_url=fuzzed_node.base,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            checks=[no_server_error, response_schema_conformance],
            timeout=30,
        )

    check()


def test_every_operation_documents_its_status_codes_and_content_types(
    fuzzed_node: NodeProcess,
) -> None:
    undocumented: dict[str, str] = {}
    for label, operation in sorted(OPERATIONS.items()):

        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @settings(
            max_examples=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Case[Any]) -> None:
            case.call_and_validate(
                base_url=fuzzed_node.base,
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                checks=[status_code_conformance, content_type_conformance],
                timeout=30,
            )

        try:
            check()
        except FailureGroup as group:  # collected, reported below
            undocumented[label] = "; ".join(" ".join(str(e).split()) for e in group.exceptions)
    assert not undocumented, "\n".join(f"{k}: {v}" for k, v in undocumented.items())


VKEY = "fuzz.test/log+77485d2d+Ac2Xe7akWuUKbDefId+7J/KVvXm35t1buxhlGirgBNuI"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        # invalid UTF-8 in a JSON object key: msgspec raises UnicodeDecodeError, not DecodeError
        pytest.param("/v1/declarations:batch", b'{"\x80":1}', id="batch-utf8-key"),
        pytest.param("/v1/check", b'{"\x80":1}', id="check-utf8-key"),
        pytest.param("/v1/admin/peers", b'{"\x80":1}', id="admin-peers-utf8-key"),
        # urlsplit raises ValueError("Invalid IPv6 URL"), not PeerConfigError
        pytest.param(
            "/v1/admin/peers",
            b'{"url": "http://[a.test", "verifier_key": "' + VKEY.encode() + b'"}',
            id="admin-peers-ipv6-bracket",
        ),
    ],
)
def test_fuzzing_regressions_answer_4xx(path: str, body: bytes, fuzzed_node: NodeProcess) -> None:
    response = httpx.post(
        fuzzed_node.base + path,
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_served_schema_is_the_one_fuzzed(fuzzed_node: NodeProcess) -> None:
    served = httpx.get(fuzzed_node.base + "/schema/openapi.json").json()
    assert set(served["paths"]) == set(node_openapi()["paths"])
    paths = set(served["paths"])
    for path in ("/v1/declarations", "/v1/check", "/checkpoint", "/healthz", "/readyz"):
        assert path in paths
