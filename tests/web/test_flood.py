"""A flooding client beside polite ones against a real `qa serve --workers 2` (issue 19 item 3): the flooder is held
to 429 by the limit both workers share, every polite client is answered. Statuses only; the timings of the same
scenario are the bench's (eval/bench_api.py bench_workers)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from eval.bench_api import child_env, run_flood, start_server, stop_server
from qa_service.web.ratelimit import WINDOW_S
from tests.conftest import REPO
from tests.kbdata import write_folder
from tests.redis_server import redis_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LIMIT = 5
QUESTIONS = ["How much does a resident parking permit cost?", "停车证多少钱？", "Who can apply for a parking permit?"]


@pytest.fixture(scope="module")
def town_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("flood")
    data = root / "data"
    env = {**child_env(data, "town"), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "qa_service", "ingest", str(write_folder(root / "kb")),
                           "--tenant", "town", "--publish", "--json"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0 and json.loads(done.stdout.splitlines()[-1])["published"], done.stderr
    return data


@pytest.mark.parametrize("store", ["database", "redis"])
def test_a_flooding_client_is_held_to_429_while_polite_ones_are_answered(town_data: Path, tmp_path: Path,
                                                                         store: str) -> None:
    env = {"QA_SERVER__CITIZEN_RATE_PER_MINUTE": str(LIMIT), "QA_SERVER__CITIZEN_RATE_PER_MINUTE_TOTAL": "0",
           "PYTHONPATH": str(REPO)}
    if store == "redis":
        url = redis_url()
        env |= {"QA_SERVER__REDIS_URL": url, "QA_SERVER__REDIS_PREFIX": f"qa:test:{uuid.uuid4().hex}"}
    server = start_server(town_data, "town", tmp_path / "serve.log", workers=2, env=env)
    try:
        left = WINDOW_S - time.time() % WINDOW_S
        if left < 25:  # the whole flood inside one rate-limit window
            time.sleep(left + 0.1)
        # each polite client asks 3 times (under the limit of 5), the flooder as fast as two connections allow
        out = run_flood(server.base, "town", QUESTIONS, polite=4, polite_interval_s=4.0, flood_connections=2,
                        seconds=10.0)
    finally:
        stop_server(server)
    polite, flood = out["polite"], out["flood"]
    assert set(polite["statuses"]) == {200} and polite["requests"] >= 8, out
    assert set(flood["statuses"]) == {200, 429}, out
    assert flood["statuses"][200] == LIMIT  # counted once across both workers: not LIMIT per worker
    assert flood["statuses"][429] >= 3, out
