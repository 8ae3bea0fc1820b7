"""`proofpile pack INPUT ...` and `proofpile pack verify DIR` through the real CLI, and the recipe's pack stage."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .test_pack import make_build, trained_tokenizer  # noqa: F401  (a fixture)

PROOFPILE = [sys.executable, "-m", "proofpile.cli"]


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*PROOFPILE, *map(str, args)], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}")
    return proc


def test_pack_and_verify_through_the_cli(tmp_path, trained_tokenizer):  # noqa: F811
    root = tmp_path / "build"
    make_build(root)
    out = tmp_path / "packed"
    proc = run_cli("pack", root, "--tokenizer", trained_tokenizer, "--out", out, "--workers", "2",
                   "--seq-len", "8", "--shuffle-seed", "4", "--weight", "arxiv=2", "--weight", "algebraic-stack=1")
    assert "uint16 tokens" in proc.stdout and "train_seq8.npy" in proc.stdout
    assert "empty text, skipped" in proc.stderr  # the one bad record is named, the rest packed
    record = json.loads((out / "tokens.json").read_text())
    assert record["shuffle"]["seed"] == 4 and record["sequences"]["seq_len"] == 8

    # options before INPUT: still the pack command, not a subcommand called like the input
    again = tmp_path / "again"
    run_cli("pack", "--tokenizer", trained_tokenizer, "--shuffle-seed", "4", root, "--out", again, "--workers", "2",
            "--seq-len", "8", "--weight", "arxiv=2", "--weight", "algebraic-stack=1")
    assert (again / "arxiv/train/arxiv_text_document.bin").read_bytes() == (
        out / "arxiv/train/arxiv_text_document.bin").read_bytes()

    ok = run_cli("pack", "verify", out)
    assert ok.stdout.startswith("ok: 4 prefixes") and "1 sequence files" not in ok.stderr

    bin_path = out / "algebraic-stack/validation/algebraic-stack_text_document.bin"
    bin_path.write_bytes(bin_path.read_bytes()[:-4])
    bad = run_cli("pack", "verify", out, check=False)
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert any(line.startswith(f"error: {bin_path}: truncated") for line in lines), lines

    usage = run_cli("pack", root, "--tokenizer", trained_tokenizer, "--out", tmp_path / "x", "--format", "npy",
                    check=False)
    assert usage.returncode == 2 and usage.stderr.strip() == "error: --format npy writes fixed-length sequences: give --seq-len"


def test_recipe_pack_stage(tmp_path, lid_model, trained_tokenizer):  # noqa: F811
    out = tmp_path / "out"
    base = ["build", "algebraic-stack", "--sample", "--out", out, "--set", f"langid.model={lid_model}",
            "--set", "pack.enabled=true", "--set", f"pack.tokenizer={trained_tokenizer}"]
    run_cli(*base)
    manifest = json.loads((out / "manifest.json").read_text())
    record = json.loads((out / "packed" / "tokens.json").read_text())
    assert manifest["pack"]["total"] == record["total"] and record["total"]["documents"] == manifest["outputs"]["documents"]
    assert record["input"]["kind"] == "build"
    assert run_cli("pack", "verify", out / "packed").returncode == 0

    # changing only the pack stage resumes the build (nothing recrawled) and re-packs
    run_cli(*base, "--set", "pack.by_lang=true")
    record = json.loads((out / "packed" / "tokens.json").read_text())
    assert record["by_lang"] and all(p["lang"] for p in record["prefixes"])
    assert not list((out / "packed").rglob("algebraic-stack_text_document.bin"))


@pytest.mark.parametrize("override, expected", [
    ("pack.format=bin", "stages.pack.format"),
    ("pack.seq_len=0", "stages.pack.seq_len"),
])
def test_recipe_pack_stage_errors(tmp_path, override, expected):
    proc = run_cli("build", "algebraic-stack", "--out", tmp_path / "o", "--dry-run", "--set", override, check=False)
    assert proc.returncode == 2 and expected in proc.stderr


def test_hub_id_resolves_through_huggingface_hub(tmp_path, trained_tokenizer):  # noqa: F811
    """A Hub id goes through hf_hub_download; here the Hub is a server on 127.0.0.1 holding tokenizer.json."""
    import hashlib
    import os
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = trained_tokenizer.read_bytes()
    etag = hashlib.sha256(body).hexdigest()
    seen = []

    class Hub(BaseHTTPRequestHandler):
        def _answer(self, with_body: bool) -> None:
            seen.append(self.path)
            if self.path.split("?")[0] != "/math-org/tiny-tok/resolve/main/tokenizer.json":
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("X-Repo-Commit", "0123456789abcdef0123456789abcdef01234567")
            self.send_header("ETag", f'"{etag}"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_HEAD(self):
            self._answer(False)

        def do_GET(self):
            self._answer(True)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}", "HF_HOME": str(tmp_path / "hf"),
               "HF_HUB_DISABLE_TELEMETRY": "1"}
        env.pop("HF_HUB_OFFLINE", None)
        code = ("from proofpile.pack import load_tokenizer; t = load_tokenizer('math-org/tiny-tok'); "
                "r = t.record(); print(r['backend'], r['vocab_size'], r['sha256'])")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["tokenizers", "600", etag]
    assert any(p.startswith("/math-org/tiny-tok/resolve/main/tokenizer.model") for p in seen)
