"""Shared pytest fixtures: where the build and the test fixtures are."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def build_dir() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("SINKSCOPE_BUILD_DIR", ROOT / "build"))
    if not (path / "sinkscope-run").exists():
        pytest.fail(f"sinkscope-run not built in {path}; run scripts/test")
    return path


@pytest.fixture(scope="session")
def fixtures_dir() -> pathlib.Path:
    return ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def metrics() -> pathlib.Path:
    """The sinkscope-metrics binary (needs only the analyzers, not the model runtime)."""
    build = pathlib.Path(os.environ.get("SINKSCOPE_BUILD_DIR", ROOT / "build"))
    path = build / "sinkscope-metrics"
    if not path.exists():
        pytest.fail(f"sinkscope-metrics not built in {build}; run scripts/test")
    return path
