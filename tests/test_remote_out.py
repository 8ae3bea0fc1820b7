"""`--out s3://...` end to end against a real S3 API: moto's server on 127.0.0.1, reached by s3fs.

The sample build (with its pack and card stages) goes to S3 and is compared byte for byte with the same build
made locally; then a re-run, a foreign prefix, an upload that fails half-way, stale objects, and the reading
commands (`stats`, `pack`) on a URL from a work directory that has never seen the build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("s3fs", reason="s3fs is needed for s3:// outputs (pip install proofpile[s3])")
moto_server = pytest.importorskip("moto.server", reason="moto[server] provides the local S3 API")

PROOFPILE = [sys.executable, "-m", "proofpile.cli"]
BUCKET = "corpora"


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on 127.0.0.1 and the environment that points boto (in this process and in the CLI's)
    at it."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem()
    fs.mkdir(BUCKET)
    yield fs, {**os.environ, **env}
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def run_cli(env, *args, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*PROOFPILE, *map(str, args)], capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}")
    return proc


def in_process(*args):
    """The CLI in this process (no interpreter start-up): for the commands that need no build."""
    from typer.testing import CliRunner

    from proofpile.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def objects(fs, prefix: str) -> dict[str, bytes]:
    root = f"{BUCKET}/{prefix}/"
    return {k[len(root):]: fs.cat_file(k) for k in fs.find(root)}


def local_outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.relative_to(out).parts[0] != "_work"}


@pytest.fixture(scope="module")
def built(tmp_path_factory, s3, lid_model, shared_data):
    """The same sample build (pack and card on) made locally and to s3://corpora/sample; the sample's file://
    URLs contain the build directory, so both are made at one path (the S3 build's --work-dir)."""
    fs, env = s3
    tokenizer = shared_data / "tokenizer" / "llama2-tokenizer.model"
    if not tokenizer.is_file():
        pytest.skip(f"tokenizer missing: {tokenizer}")
    root = tmp_path_factory.mktemp("remote")
    work = root / "work"
    args = ["build", "algebraic-stack", "--sample", "--no-progress", "--set", f"langid.model={lid_model}",
            "--set", "pack.enabled=true", "--set", f"pack.tokenizer={tokenizer}", "--set", "card.enabled=true"]
    run_cli(env, *args, "--out", work)
    reference = local_outputs(work)
    shutil.move(work, root / "local")
    proc = run_cli(env, *args, "--out", f"s3://{BUCKET}/sample", "--work-dir", work)
    return {"args": args, "work": work, "reference": reference, "first": proc, "root": root, "tokenizer": tokenizer}


def test_build_to_s3_matches_the_local_build(s3, built):
    fs, env = s3
    remote = objects(fs, "sample")
    reference = built["reference"]
    assert "manifest.json" in reference and "README.md" in reference and "packed/tokens.json" in reference
    assert sorted(remote) == sorted(reference)
    for name in reference:
        assert remote[name] == reference[name], f"{name} differs between the local and the S3 build"
    assert "under s3://corpora/sample/data" in built["first"].stdout
    state = json.loads((built["work"] / "_work" / "remote.json").read_text())
    assert state["url"] == f"s3://{BUCKET}/sample" and sorted(state["uploaded"]) == sorted(reference)


def test_rerun_uploads_nothing(s3, built):
    fs, env = s3
    before = {k: v["LastModified"] for k, v in fs.find(f"{BUCKET}/sample", detail=True).items()}
    proc = run_cli(env, *built["args"], "--out", f"s3://{BUCKET}/sample", "--work-dir", built["work"])
    assert f"uploaded 0 files (0 bytes), {len(before)} unchanged, 0 stale deleted" in proc.stderr
    fs.invalidate_cache()
    after = {k: v["LastModified"] for k, v in fs.find(f"{BUCKET}/sample", detail=True).items()}
    assert after == before


def test_foreign_prefix_is_refused(s3, tmp_path, lid_model):
    fs, env = s3
    fs.pipe(f"{BUCKET}/theirs/notes.txt", b"someone else's")
    proc = in_process("build", "algebraic-stack", "--sample", "--out", f"s3://{BUCKET}/theirs",
                      "--work-dir", tmp_path / "w", "--set", f"langid.model={lid_model}")
    assert proc.exit_code == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: s3://{BUCKET}/theirs: not empty and not made by proofpile (no .proofpile-out); refusing to write "
        "there, since a re-run deletes what proofpile uploaded: use a new or empty prefix"]
    fs.invalidate_cache()
    assert objects(fs, "theirs") == {"notes.txt": b"someone else's"}
    assert not (tmp_path / "w").exists()
    # the commands left for later say so in one line
    for cmd in (["dedup", tmp_path], ["decontaminate", tmp_path]):
        bad = in_process(*cmd, "--out", f"s3://{BUCKET}/x")
        assert bad.exit_code == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert "writes local directories only" in bad.stderr


class _Failing:
    """Fails the upload after `n` objects were sent: the connection dropping half-way."""

    def __init__(self, n: int):
        from proofpile import atomic

        self.n, self.real = n, atomic.put_file

    def __call__(self, local, url, fs=None):
        if self.n == 0:
            raise ConnectionError("connection reset")
        self.n -= 1
        return self.real(local, url, fs=fs)


def test_failed_upload_leaves_no_manifest_without_its_data(s3, built, tmp_path, monkeypatch):
    from proofpile import remote

    fs, _ = s3
    work = tmp_path / "w"
    shutil.copytree(built["root"] / "local", work, ignore=shutil.ignore_patterns("_work"))
    url = f"s3://{BUCKET}/partial"
    monkeypatch.setattr(remote, "put_file", _Failing(3))
    with pytest.raises(ConnectionError):
        remote.RemoteOut(url, work).upload()
    sent = objects(fs, "partial")
    assert len(sent) == 3 and ".proofpile-out" in sent and "manifest.json" not in sent
    monkeypatch.undo()
    done = remote.RemoteOut(url, work).upload()  # resumes: what was sent is not sent again
    assert done["uploaded"] == len(built["reference"]) - 3
    fs.invalidate_cache()
    assert objects(fs, "partial") == built["reference"]

    # data changed under a published manifest, and the upload fails after the first data object: the old
    # manifest (and card) were taken down first, so no reader sees them over data they do not describe
    shard = next(p for p in sorted((work / "data").rglob("*.parquet")))
    shard.write_bytes(shard.read_bytes() + b"changed")
    monkeypatch.setattr(remote, "put_file", _Failing(0))
    with pytest.raises(ConnectionError):
        remote.RemoteOut(url, work).upload()
    fs.invalidate_cache()
    left = objects(fs, "partial")
    assert "manifest.json" not in left and "README.md" not in left and "packed/tokens.json" not in left
    monkeypatch.undo()
    remote.RemoteOut(url, work).upload()
    fs.invalidate_cache()
    assert objects(fs, "partial") == local_outputs(work)


def test_stale_objects_of_ours_are_deleted_foreign_ones_never(s3, built, tmp_path):
    from proofpile.remote import RemoteOut

    fs, _ = s3
    work = tmp_path / "w"
    shutil.copytree(built["root"] / "local", work, ignore=shutil.ignore_patterns("_work"))
    url = f"s3://{BUCKET}/stale"
    RemoteOut(url, work).upload()
    fs.pipe(f"{BUCKET}/stale/data/algebraic-stack/their-notes.txt", b"keep me")
    (work / "dropped" / "algebraic-stack.parquet").unlink()
    done = RemoteOut(url, work).upload()
    assert done["deleted"] == 1
    fs.invalidate_cache()
    left = objects(fs, "stale")
    assert "dropped/algebraic-stack.parquet" not in left
    assert left.pop("data/algebraic-stack/their-notes.txt") == b"keep me"
    assert left == local_outputs(work)


def test_reading_commands_take_a_url(s3, built, tmp_path):
    """`stats`, `card` and `pack` from a machine without the work directory: the prefix is downloaded first;
    `pack` writes to another prefix, `tokens.json` last."""
    fs, env = s3
    url = f"s3://{BUCKET}/sample"
    stats = in_process("stats", url, "--json", "--work-dir", tmp_path / "read")
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.stdout)["totals"]["documents"] == json.loads(
        built["reference"]["manifest.json"])["outputs"]["documents"]
    # card from that other machine: written there, and only what changed is uploaded, the card after its figures
    card = in_process("card", url, "--work-dir", tmp_path / "read", "--repo", "org/other-name")
    assert card.exit_code == 0, card.output
    assert "uploaded 1 files" in card.stderr and "0 stale deleted" in card.stderr  # README.md: another repo id
    fs.invalidate_cache()
    after = objects(fs, "sample")
    assert after["README.md"] == (tmp_path / "read" / "README.md").read_bytes() != built["reference"]["README.md"]
    assert b"org/other-name" in after["README.md"]
    assert {k: v for k, v in after.items() if k != "README.md"} == {
        k: v for k, v in built["reference"].items() if k != "README.md"}

    proc = in_process("pack", url, "--input-work-dir", tmp_path / "read", "--tokenizer", built["tokenizer"],
                      "--out", f"s3://{BUCKET}/packed", "--work-dir", tmp_path / "pack", "--no-progress")
    assert proc.exit_code == 0, proc.output
    assert f"tokens.json: s3://{BUCKET}/packed/tokens.json" in proc.stdout
    fs.invalidate_cache()
    packed = objects(fs, "packed")
    assert packed[".proofpile-pack"] and packed == local_outputs(tmp_path / "pack")
    reference = {k.removeprefix("packed/"): v for k, v in built["reference"].items() if k.startswith("packed/")}
    for name, data in reference.items():
        if name.endswith((".bin", ".idx")):
            assert packed[name] == data, f"{name}: the pack of the S3 build differs from the build's own pack"
