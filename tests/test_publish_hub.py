"""`proofpile publish` against a stand-in Hub on 127.0.0.1 (tests/hub_server.py): the real huggingface_hub
client, real HTTP, git-LFS uploads and ndjson commits. The files the server received must be exactly the
publishable ones, byte for byte, and must load with `datasets` like the local build."""

import json
import os
import socket

import pytest

from proofpile.publish.card import write_card
from proofpile.publish.hub import PublishError, local_files, publish
from tests.hub_server import TOKEN, FakeHub
from tests.publish_build import carded_build, proofpile
from tests.test_card import check_loads, language_configs_to_check


@pytest.fixture(scope="module")
def build(tmp_path_factory, lid_model, shared_data):
    return carded_build(tmp_path_factory.getbasetemp(), lid_model, shared_data)


@pytest.fixture
def hub():
    with FakeHub() as h:
        yield h


def _env(tmp_path, token: str | None = TOKEN) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["HF_HOME"] = str(tmp_path / "hf-home")  # no login cache from the machine running the tests
    if token:
        env["HF_TOKEN"] = token
    return env


def _publishable(build) -> dict[str, bytes]:
    manifest = json.loads((build / "manifest.json").read_text())
    paths = [s["path"] for s in manifest["outputs"]["shards"]]
    paths += ["README.md", "manifest.json", "assets/funnel.png", "assets/lengths.png", "assets/tokens.png"]
    return {p: (build / p).read_bytes() for p in paths}


def _uploads(hub) -> list:
    return [x for x in hub.log if x[0] == "PUT" or "/commit/" in x[1]]


def test_publish_sends_the_publishable_files_once(build, hub, tmp_path):
    r = proofpile("publish", build, "--repo", "org/pp2", "--endpoint", hub.url, "--batch-files", "8",
                  env=_env(tmp_path))
    assert r.stdout.strip().endswith(f"{hub.url}/datasets/org/pp2")
    received = hub.files("org/pp2")
    assert received == _publishable(build)  # paths and bytes; nothing from _work/, packed/, contamination.*
    commits = [x for x in hub.log if "/commit/" in x[1]]
    assert len(commits) == -(-len(received) // 8)
    assert not hub.repos["org/pp2"]["private"]

    before = len(_uploads(hub))
    again = proofpile("publish", build, "--repo", "org/pp2", "--endpoint", hub.url, env=_env(tmp_path))
    assert "uploaded 0 files" in again.stdout and f"{len(received)} unchanged" in again.stdout
    assert len(_uploads(hub)) == before  # no LFS object and no commit the second time


def test_dry_run_lists_and_writes_nothing(build, hub, tmp_path):
    r = proofpile("publish", build, "--repo", "org/dry", "--endpoint", hub.url, "--dry-run", env=_env(tmp_path))
    lines = [line for line in r.stdout.splitlines() if line.startswith("new ")]
    assert len(lines) == len(_publishable(build)) and "would create the repository" in r.stdout
    assert hub.writes() == [] and hub.repos == {}

    publish(build, "org/dry", endpoint=hub.url, token=TOKEN, batch_files=100)
    readme = build / "README.md"
    plan = publish(build, "org/dry", endpoint=hub.url, token=TOKEN, dry_run=True).plan
    assert plan.new == [] and plan.changed == [] and len(plan.unchanged) == len(_publishable(build))
    writes = len(hub.writes())
    original = readme.read_bytes()
    try:
        readme.write_bytes(original + b"\nA local edit.\n")
        plan = publish(build, "org/dry", endpoint=hub.url, token=TOKEN, dry_run=True).plan
        assert [f.path_in_repo for f in plan.changed] == ["README.md"]  # git blob id of a regular file differs
    finally:
        readme.write_bytes(original)
    assert len(hub.writes()) == writes


def test_errors_are_one_line_and_a_rerun_resumes(build, hub, tmp_path):
    def run(*extra, token=TOKEN):
        return proofpile("publish", build, "--repo", "org/err", "--endpoint", hub.url, "--batch-files", "10", *extra,
                         env=_env(tmp_path, token), check=False)

    def one_line_error(r, *words):
        assert r.returncode == 2, r.stderr
        # progress lines ("committed part i/n") may come first; the failure itself is one line
        lines = [line for line in r.stderr.splitlines() if line.strip() and not line.startswith("committed part")]
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr, r.stderr
        for w in words:
            assert w in lines[0], lines[0]

    one_line_error(run(token=None), "no Hugging Face token", "HF_TOKEN")

    def library_error(*words, **kwargs) -> None:  # the same messages, without a process start each
        with pytest.raises(PublishError) as e:
            publish(build, "org/err", **{"endpoint": hub.url, "token": TOKEN, **kwargs})
        assert "\n" not in str(e.value) and all(w in str(e.value) for w in words), str(e.value)

    library_error("401", token="hf_wrong")
    hub.forbid = True
    library_error("403", "org/err")
    hub.forbid = False
    assert hub.repos == {}
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    library_error("network error", "Connection refused", endpoint=closed)

    hub.drop["commit"] = 1  # the server goes away after the first commit
    one_line_error(run(), "network error", "10 of", "re-run")
    assert len(hub.files("org/err")) == 10
    del hub.drop["commit"]
    r = run()
    assert r.returncode == 0, r.stderr
    total = len(_publishable(build))
    assert f"uploaded {total - 10} files" in r.stdout and "10 unchanged" in r.stdout
    assert hub.files("org/err") == _publishable(build)


def test_received_files_load_with_datasets(build, hub, tmp_path):
    publish(build, "org/load", endpoint=hub.url, token=TOKEN)
    copy = hub.materialize("org/load", tmp_path / "received")
    check_loads(copy, build, ["default", "arxiv", "open-web-math", "algebraic-stack",
                              *language_configs_to_check(build)], tmp_path / "cache")


def test_pack_branch_and_private(build, hub, tmp_path):
    result = publish(build, "org/packed", endpoint=hub.url, token=TOKEN, with_pack=True, revision="v1",
                     private=True)
    assert result.url == f"{hub.url}/datasets/org/packed/tree/v1"
    assert hub.repos["org/packed"]["private"]
    files = hub.files("org/packed", "v1")
    packed = sorted(p for p in files if p.startswith("packed/"))
    assert "packed/tokens.json" in packed and any(p.endswith("_text_document.bin") for p in packed)
    assert files["packed/tokens.json"] == (build / "packed" / "tokens.json").read_bytes()
    assert hub.files("org/packed", "main") == {}  # the branch, not main


def test_a_shard_changed_since_the_build_is_refused(build, tmp_path):
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(build, copy, ignore=shutil.ignore_patterns("_work", "packed"))
    shard = next((copy / "data" / "arxiv").glob("*.parquet"))
    original = shard.read_bytes()
    shard.write_bytes(original[:-10])
    with pytest.raises(PublishError, match=f"{shard.name}.*sha256"):
        local_files(copy)
    shard.write_bytes(original)
    write_card(copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    rebuilt = json.loads(json.dumps(manifest))
    rebuilt["outputs"]["shards"][-1]["rows"] += 1  # same file names, other contents: the card's patterns still match
    (copy / "manifest.json").write_text(json.dumps(rebuilt))
    with pytest.raises(PublishError, match="another set of shards"):
        local_files(copy)
    manifest["outputs"]["shards"] = manifest["outputs"]["shards"][1:]  # as if rebuilt with one shard fewer
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PublishError, match="re-run `proofpile card`"):
        local_files(copy)
    (copy / "README.md").unlink()
    with pytest.raises(PublishError, match="proofpile card"):
        local_files(copy)
