"""Schemathesis over the service's own OpenAPI: no 5xx, no undocumented status or media type.

A bounded run (FUZZ_EXAMPLES cases per operation and mode, default small) is part of
`make test`; `make fuzz` raises FUZZ_EXAMPLES for a longer run. Every operation is fuzzed,
with valid (positive) and invalid (negative) requests; failures are collected, not fail-fast.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@pytest.fixture(scope="session")
def fuzz_headers() -> dict[str, str]:
    """Headers sent with every fuzzed request (the lead points this at an admin key)."""
    return {}


def fuzz(operation, headers: dict[str, str]) -> None:
    """Run the checks on EXAMPLES positive and EXAMPLES negative cases of one operation."""
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

    @given(case=st.one_of(*(operation.as_strategy(mode) for mode in modes)))
    @settings(
        max_examples=2 * EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_fuzz_every_operation(client, reference, fuzz_headers):
    """No operation answers 5xx, an undocumented status or an undocumented media type."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures, count = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        count += 1
        try:
            fuzz(operation, fuzz_headers)
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failures are reported
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert count >= 30
    assert not failures, "\n\n".join(failures)
