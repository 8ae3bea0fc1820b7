import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_data() -> Path | None:
    env = os.environ.get("PROOFPILE_TEST_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party inputs beside the checkout (../shared/data or $PROOFPILE_TEST_DATA)."""
    d = _shared_data()
    if d is None:
        pytest.skip("shared test data not found: set PROOFPILE_TEST_DATA or place it at ../shared/data")
    return d


@pytest.fixture(scope="session")
def lid_model(shared_data: Path) -> Path:
    p = shared_data / "models" / "lid.176.ftz"
    if not p.is_file():
        pytest.skip(f"fastText language-ID model missing: {p}")
    return p


@pytest.fixture
def warnings_logged():
    """Messages logged at WARNING or above while the test runs (bad inputs must be reported in one line)."""
    from datatrove.utils.logging import logger  # importing it first: the import resets loguru's handlers

    messages: list[str] = []
    handler = logger.add(lambda m: messages.append(m.record["message"]), level="WARNING")
    yield messages
    logger.remove(handler)
