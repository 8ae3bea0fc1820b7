from pathlib import Path

import pytest

from proofpile.sources.repo_manifest import ManifestError, RepoSpec, parse_manifest

SHA = "0123456789abcdef0123456789abcdef01234567"


def write(tmp_path: Path, text: str, name: str = "lean.txt") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_all_entry_forms(tmp_path):
    p = write(
        tmp_path,
        "\n".join(
            [
                "# whole-line comment",
                "",
                f"leanprover-community/mathlib@{SHA}",
                "   ",
                "owner/unpinned",
                f"https://gitlab.com/group/sub/proj.git@{SHA[:7]}  # trailing comment",
                f"git@github.com:o2/n2.git@{SHA.upper()}",
                "git@example.org:o3/n3.git",
                f"ssh://git@example.org/o4/n4@{SHA}",
                f"file:///srv/mirrors/o5/n5@{SHA}",
                "https://user@example.org/o6/n6",
            ]
        ),
    )
    specs, errors = parse_manifest(p)
    assert errors == []
    got = [(s.name, s.url, s.commit, s.lang, s.origin) for s in specs]
    assert got == [
        ("leanprover-community/mathlib", "https://github.com/leanprover-community/mathlib.git", SHA, "lean", f"{p}:3"),
        ("owner/unpinned", "https://github.com/owner/unpinned.git", None, "lean", f"{p}:5"),
        ("sub/proj", "https://gitlab.com/group/sub/proj.git", SHA[:7], "lean", f"{p}:6"),
        ("o2/n2", "git@github.com:o2/n2.git", SHA, "lean", f"{p}:7"),
        ("o3/n3", "git@example.org:o3/n3.git", None, "lean", f"{p}:8"),
        ("o4/n4", "ssh://git@example.org/o4/n4", SHA, "lean", f"{p}:9"),
        ("o5/n5", "file:///srv/mirrors/o5/n5", SHA, "lean", f"{p}:10"),
        ("o6/n6", "https://user@example.org/o6/n6", None, "lean", f"{p}:11"),
    ]
    assert all(isinstance(s, RepoSpec) for s in specs)


def test_lang_from_file_name_or_argument(tmp_path):
    p = write(tmp_path, "a/b\n", name="isabelle.txt")
    assert parse_manifest(p)[0][0].lang == "isabelle"
    assert parse_manifest(p, lang="coq")[0][0].lang == "coq"


@pytest.mark.parametrize(
    "line, problem",
    [
        ("owner/name@", "without a commit"),
        ("owner/name@xyz", "7-40 hex"),
        (f"owner/name@{SHA}0", "7-40 hex"),  # 41 digits
        ("owner/name@abc12", "7-40 hex"),  # too short
        ("just-a-word", "owner/name or a git URL"),
        ("owner/na me", "whitespace"),
        ("owner/", "owner/name or a git URL"),
        ("/name", "owner/name or a git URL"),
        ("owner/.git", "empty repository name"),
        (f"@{SHA}", "empty repository name"),
        ("a/b/c", "owner/name or a git URL"),
        ("https://github.com/o/n.git@nothex!", "7-40 hex"),
        ("file:///", "no repository path"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, line, problem):
    p = write(tmp_path, f"good/one\n# note\n{line}\ngood/two\n")
    specs, errors = parse_manifest(p)
    assert [s.name for s in specs] == ["good/one", "good/two"]
    assert len(errors) == 1
    err = errors[0]
    assert isinstance(err, ManifestError) and isinstance(err, ValueError)
    msg = str(err)
    assert "\n" not in msg
    assert msg.startswith(f"{p}:3: ")
    assert problem in msg
    assert msg.endswith(line.strip())


def test_duplicates_keep_first_and_report_later(tmp_path):
    p = write(
        tmp_path,
        f"Owner/Repo@{SHA}\nother/x\nhttps://github.com/owner/repo.git\nowner/repo.git@{SHA[:8]}\nother/x\n",
    )
    specs, errors = parse_manifest(p)
    assert [(s.name, s.commit) for s in specs] == [("Owner/Repo", SHA), ("other/x", None)]
    assert [str(e).split(": ")[0] for e in errors] == [f"{p}:3", f"{p}:4", f"{p}:5"]
    assert all(f"duplicate of {p}:" in str(e) for e in errors)
    assert f"duplicate of {p}:1" in str(errors[0]) and f"duplicate of {p}:2" in str(errors[2])


def test_hash_inside_url_is_not_a_comment_without_space(tmp_path):
    p = write(tmp_path, f"owner/name@{SHA}#no-space-so-not-a-comment\n")
    specs, errors = parse_manifest(p)
    assert specs == [] and len(errors) == 1
