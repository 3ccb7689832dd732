"""CLI-1/CLI-2: the scanner's fast paths change nothing but the time. A plain JSON policy file is read by the
standard library's parser with the same document and statement lines as cfn-lint's decoder; whatever that
reader declines (a key given twice, a template, AWS CLI output) goes through the decoder as before; and a
scan forked over several processes gives the byte-identical report."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cfnlint.decode import decode_str

from iam_guard.scan.intrinsics import Located, Resolved, line_of
from iam_guard.scan.parallel import MIN_FILES, PARTS_PER_WORKER, chunks, worker_count
from iam_guard.scan.sources import Candidate, _standalone_json_policy, parse
from scan_cli import ADMIN, analyze, template, write_json
from support import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures"
POLICY_FILES = sorted((FIXTURES / "aws-managed").glob("*.json")) + sorted(
    path
    for path in (FIXTURES / "policies").glob("*.json")
    if path.name not in ("broken.json", "not-a-policy.json")
)
SHAPES = {
    "one statement object": '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*",'
    ' "Resource": "*"}}',
    "blank lines first, CRLF": '\r\n\r\n  {\r\n "Statement": [\r\n  {"Effect": "Deny",\r\n "Action": "s3:*",'
    ' "Resource": "*"},\r\n\r\n {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}',
    "statement after version": '{\n"Statement":\n[\n\n{"Sid": "A", "Effect": "Allow",\n'
    '"Action": "s3:GetObject",\n'
    '"Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": ["o-1234567890"]}}}\n, {"Effect":'
    ' "Allow", "Action": "ec2:*", "Resource": "*"}\n],\n"Version": "2012-10-17"\n}\n',
    "space around every separator": '{ "Version" :\t"2012-10-17" ,\n "Statement" :\n [ \n {"Effect": "Allow",'
    ' "Action": "*", "Resource": "*"} \n ,\n\n {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}'
    "\n ]\n }\n",
}


def _lines(document: dict) -> tuple[int | None, list[int | None]]:
    statements = document["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    return line_of(document), [line_of(statement) for statement in statements]


@pytest.mark.parametrize(
    "text",
    [path.read_text(encoding="utf-8") for path in POLICY_FILES] + list(SHAPES.values()),
    ids=[path.name for path in POLICY_FILES] + list(SHAPES),
)
def test_cli_2_plain_json_policy_keeps_the_decoders_lines(text: str) -> None:
    fast = _standalone_json_policy(text)
    decoded, problems = decode_str(text)

    assert problems == []
    assert isinstance(fast, Located)
    assert fast == json.loads(text)
    assert _lines(fast) == _lines(decoded)
    assert all(line is not None for line in _lines(fast)[1])


@pytest.mark.parametrize(
    "text",
    [
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}], "Statement": []}',
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Action": "s3:GetObject", "Resource": "*"}]}',
        json.dumps(
            template({"P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": ADMIN}}})
        ),
        json.dumps({"PolicyVersion": {"Document": ADMIN, "VersionId": "v1"}}),
        json.dumps({"Role": {"AssumeRolePolicyDocument": ADMIN}}),
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]} trailing',
        "Statement: []",
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"} {"Effect": "Deny"}]}',
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},]}',
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],}',
        '{"Version": "2012-10-17" "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}',
        '{"Statement" [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}',
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]',
    ],
    ids=[
        "statement twice",
        "action twice",
        "template",
        "cli output",
        "get-role output",
        "trailing text",
        "yaml",
        "no comma between statements",
        "comma after the last statement",
        "comma after the last member",
        "no comma between members",
        "no colon after a key",
        "object never closed",
    ],
)
def test_cli_2_what_the_fast_reader_declines_goes_through_the_decoder(text: str) -> None:
    assert _standalone_json_policy(text) is None


def test_cli_2_a_policy_given_a_key_twice_is_refused_never_read_as_its_last_copy(tmp_path: Path) -> None:
    policy = tmp_path / "twice.json"
    policy.write_text(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],'
        ' "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'
    )

    outcome = analyze(str(policy), "--format", "json")

    assert outcome.code == 2
    assert "Duplicate found 'Statement'" in outcome.stderr
    assert outcome.stdout == ""


def test_cli_2_only_text_free_of_intrinsics_skips_their_resolution() -> None:
    plain = (
        '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",'
        ' "Resource": "arn:aws:s3:::b/${aws:username}"}]}'
    )
    spelled = (
        '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",'
        ' "Resource": {"\\u0052ef": "AWS::NoValue"}}]}'
    )
    intrinsic = (
        '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "arn:${A}"}}]}'
    )
    deep = (
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": '
        + "[" * 250
        + "]" * 250
        + "}]}"
    )

    assert type(_standalone_json_policy(plain)) is Resolved
    for text in (spelled, intrinsic, deep):
        assert type(_standalone_json_policy(text)) is Located
    assert type(parse(deep)) is Located


def test_cli_2_parallel_scan_forks_only_when_safe_and_worth_it() -> None:
    many = [Candidate(Path(f"/p/{index}.json"), f"{index}.json", False) for index in range(MIN_FILES * 2)]
    few = many[: MIN_FILES - 1]
    with_stdin = [*many, Candidate(None, "-", True)]

    assert worker_count(1, many) == 1
    assert worker_count(4, few) == 1
    assert worker_count(4, with_stdin) == 1
    for count in (2, 3 * PARTS_PER_WORKER):
        parts = chunks(many, count)
        assert len(parts) == count
        assert [candidate for part in parts for candidate in part] == many
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert len(chunks(few[:5], 64)) == 5


FORKED_SCAN = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from iam_guard.report import render
    from iam_guard.scan import parallel, scan_paths
    from iam_guard.scan.sources import discover

    folder, root = sys.argv[1], Path(sys.argv[2])
    candidates, _ = discover([folder])
    forked = scan_paths([folder], 2)
    single = scan_paths([folder], 1)
    print(json.dumps({
        "workers": parallel.worker_count(2, candidates),
        "files": forked.files,
        "same": {f: render(forked, f, "high", root) == render(single, f, "high", root)
                 for f in ("json", "sarif", "text")},
        "findings": len(forked.findings),
        "skipped": sorted(skip.file.rsplit("/", 1)[-1] for skip in forked.skipped),
        "unreadable": sorted(f.file.rsplit("/", 1)[-1] for f in forked.findings if f.code == "IAMG903"),
    }))
    """
)


def test_cli_1_a_scan_forked_over_two_processes_gives_the_same_report(tmp_path: Path) -> None:
    folder = tmp_path / "repo"
    folder.mkdir()
    sources = [path.read_text(encoding="utf-8") for path in POLICY_FILES]
    for index in range(MIN_FILES + 40):
        (folder / f"policy-{index:03}.json").write_text(sources[index % len(sources)])
    write_json(
        folder,
        "stack.json",
        template({"P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": ADMIN}}}),
    )
    (folder / "notes.json").write_text('["not a policy"]')
    (folder / "broken.template").write_text('{"Resources": {"X": {"Type": "AWS::IAM::Role", ')

    result = subprocess.run(
        [sys.executable, "-c", FORKED_SCAN, str(folder), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    outcome = json.loads(result.stdout)

    assert outcome["workers"] == 2
    assert outcome["files"] == MIN_FILES + 43
    assert outcome["same"] == {"json": True, "sarif": True, "text": True}
    assert outcome["skipped"] == ["notes.json"]
    assert outcome["unreadable"] == ["broken.template"]
    assert outcome["findings"] > MIN_FILES


DYING_WORKER_SCAN = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from iam_guard.report import render
    from iam_guard.scan import parallel, scanner
    from iam_guard.scan.sources import discover

    folder, root, how, marks = sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    candidates, _ = discover([folder])
    parent = os.getpid()

    def scan_chunk(part):
        if os.getpid() != parent:
            (marks / str(os.getpid())).write_text(str(len(part)))
            if how == "exit":
                os._exit(9)
            raise MemoryError("the child ran out of memory")
        deadline = time.monotonic() + 60
        while len(list(marks.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # both children take a part before this process takes the rest
        return scanner.scan_chunk(part)

    parts = parallel.scan_in_processes(candidates, 3, scan_chunk)
    merged = scanner.ScanResult()
    for part in parts:
        merged.add(part)
    single = scanner.scan_paths([folder], 1)
    print(json.dumps({
        "parts": len(parts),
        "children that died": len(list(marks.iterdir())),
        "files": merged.files,
        "same": render(merged, "json", "high", root) == render(single, "json", "high", root),
    }))
    """
)


@pytest.mark.parametrize("how", ["exit", "raise"])
def test_cli_1_a_worker_that_dies_loses_no_file(tmp_path: Path, how: str) -> None:
    """Forked children that die (killed, out of memory) on the first part they take send nothing: the parts
    they took are scanned again by the parent, and the report is the one a single process writes."""
    folder = tmp_path / "repo"
    folder.mkdir()
    sources = [path.read_text(encoding="utf-8") for path in POLICY_FILES]
    for index in range(MIN_FILES + 10):
        (folder / f"policy-{index:03}.json").write_text(sources[index % len(sources)])
    marks = tmp_path / "marks"
    marks.mkdir()

    result = subprocess.run(
        [sys.executable, "-c", DYING_WORKER_SCAN, str(folder), str(tmp_path), how, str(marks)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )

    outcome = json.loads(result.stdout.splitlines()[-1])
    assert outcome == {
        "parts": min(3 * PARTS_PER_WORKER, MIN_FILES + 10),
        "children that died": 2,
        "files": MIN_FILES + 10,
        "same": True,
    }


def test_cli_1_a_finding_pickles_as_its_fields_and_comes_back_equal() -> None:
    """Forked scanners send their findings pickled: every field, in any state, survives the trip."""
    import pickle

    from iam_guard.scan.model import ScanFinding

    finding = ScanFinding(
        "repo/stack.json",
        "Role",
        "AWS::IAM::Role",
        "Policies[0]",
        "identity",
        12,
        "IAMG001",
        "critical",
        "statement 0 allows every action",
        0,
        "Admin",
        ["*"],
        ["*"],
        "Name the actions.",
        "IsProd=true",
        "Admin",
        True,
        "break-glass role, reviewed",
    )
    plain = ScanFinding("p.json", None, None, "policy", "identity", None, "IAMG011", "low", "typo")
    for original in (finding, plain):
        copy = pickle.loads(pickle.dumps(original, pickle.HIGHEST_PROTOCOL))
        assert copy == original and copy.to_dict() == original.to_dict()
        assert copy.actions is not original.actions
