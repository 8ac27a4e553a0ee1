"""The README's examples, run in order against a fresh `make run`-style server, so they cannot drift.

The server is made as `make run` makes it: `harken db upgrade`, `harken demo` (whose printed API keys
the reader copies), `harken serve` — on a temporary SQLite file and a free port, over real HTTP.

Every ```sh / ```bash / ```console block of README.md runs in order in bash (`set -e -o pipefail`), its
variables and functions carried to the next block, `localhost:8000` pointed at the test's server, with
Harken's virtual environment first on PATH (the README's `harken` and `python3`). A line
`[export ]NAME=xx_…` is a value the reader copies from elsewhere; the test supplies it (`READER_VALUES`).
Every ```python block runs too, after the shell blocks before it, with the same variables in its
environment.

What a block prints is checked against the block right after it, when that is a ```json block (the last
JSON document the block printed has that shape: the same keys, the same values, where a string with `…`
matches any text in its place, a bare `…` value any value, and a bare `…` entry any further keys) or a
```text block (the same lines, `…` matching any text). Without one, the block must still succeed and
print no problem detail. `<!-- readme-test: skip -->` right before a block exempts it (it cannot run
here: `make run` itself, a server or worker that runs until stopped).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveHub, serve

pytestmark = [pytest.mark.slow, pytest.mark.readme]

README = Path(__file__).resolve().parents[1] / "README.md"
SHELL = ("sh", "bash", "console")
SKIP = "<!-- readme-test: skip -->"
ANY = "…"
# Values a reader copies from elsewhere: the demo's keys as `make run` prints them, a person's token
# from the Preference Centre's "My data" page.
READER_VALUES = {
    "KEY": "Chapter & Verse Books",
    "COFFEE_KEY": "Bean There Coffee",
    "AIRLINE_KEY": "Skyway Airlines",
    "TOKEN": "lena@example.com",
}
PLACEHOLDER = re.compile(r"^(export\s+)?(?P<name>[A-Z_]+)=(?P<prefix>[a-z]{2}_)…\s*(#.*)?$")
# What the README promises a reader needs is Python: no jq, no GNU-only date.
NOT_PROMISED = re.compile(r"(^|[|;(&\s])jq\s|\bdate\b[^\n#]*\s-d\b")


@dataclass(frozen=True)
class Block:
    line: int  # where its fence opens in README.md
    lang: str
    code: str
    skip: bool
    expected_lang: str | None = None
    expected: str | None = None

    def __str__(self) -> str:
        first = self.code.strip().splitlines()[0] if self.code.strip() else ""
        return f"README.md:{self.line} ```{self.lang} block ({first[:70]})"


def blocks(text: str) -> list[Block]:
    """The fenced blocks to run, in order, each with the expected-output block right after it."""
    fences = list(re.finditer(r"^```(\w*)\n(.*?)^```\s*$", text, re.M | re.S))
    found: list[Block] = []
    for i, fence in enumerate(fences):
        lang = fence.group(1)
        if lang not in (*SHELL, "python"):
            continue
        before = text[: fence.start()].rstrip().splitlines()
        skip = bool(before) and before[-1].strip() == SKIP
        expected_lang = expected = None
        if i + 1 < len(fences):
            after = fences[i + 1]
            if text[fence.end() : after.start()].strip() == "" and after.group(1) in ("json", "text"):
                expected_lang, expected = after.group(1), after.group(2)
        line = text[: fence.start()].count("\n") + 1
        found.append(Block(line, lang, fence.group(2), skip, expected_lang, expected))
    return found


# ---- shapes ----------------------------------------------------------------------------------------


def parse_shape(shown: str) -> Any:
    """The README's JSON with `…` placeholders, as JSON: a bare `…` entry becomes `"…": "…"`, a bare
    `…` value becomes `"…"`."""
    shown = re.sub(r"([{,]\s*)…(\s*[,}])", r'\1"…": "…"\2', shown)
    shown = re.sub(r"(:\s*)…(?=\s*[,}\]])", r'\1"…"', shown)
    return json.loads(shown)


def documents(output: str) -> list[Any]:
    """Every JSON document printed, in order (curl prints one after another, without newlines)."""
    decoder, at = json.JSONDecoder(), 0
    found: list[Any] = []
    while True:
        start = min((i for i in (output.find("{", at), output.find("[", at)) if i >= 0), default=-1)
        if start < 0:
            return found
        try:
            value, at = decoder.raw_decode(output, start)
        except json.JSONDecodeError:
            at = start + 1
            continue
        found.append(value)


def is_problem(value: Any) -> bool:
    return isinstance(value, dict) and {"type", "title", "status"} <= set(value) and value["status"] >= 400


def text_matches(pattern: str, actual: str) -> bool:
    parts = [re.escape(part) for part in pattern.split(ANY)]
    return re.fullmatch(".*?".join(parts), actual, re.S) is not None


def mismatch(expected: Any, actual: Any, where: str = "$") -> str | None:
    """Why `actual` does not have the shape `expected` shows, or None."""
    if expected == ANY:
        return None
    if isinstance(expected, str) and ANY in expected:
        if isinstance(actual, str) and text_matches(expected, actual):
            return None
        return f"{where}: expected text like {expected!r}, got {actual!r}"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {actual!r}"
        keys = set(expected) - {ANY}
        missing, extra = keys - set(actual), set(actual) - keys
        if missing or (extra and ANY not in expected):
            return f"{where}: keys differ: missing {sorted(missing)}, not shown {sorted(extra)}"
        for key in sorted(keys):
            if why := mismatch(expected[key], actual[key], f"{where}.{key}"):
                return why
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{where}: expected a list of {len(expected)}, got {json.dumps(actual)[:300]}"
        for n, (e, a) in enumerate(zip(expected, actual, strict=True)):
            if why := mismatch(e, a, f"{where}[{n}]"):
                return why
        return None
    if expected != actual or type(expected) is not type(actual):
        return f"{where}: expected {expected!r}, got {actual!r}"
    return None


def output_mismatch(block: Block, output: str) -> str | None:
    """Why what the block printed differs from what the README shows after it, or None."""
    printed = documents(output)
    if block.expected is None:
        problems = [doc for doc in printed if is_problem(doc)]
        return f"it printed a problem: {problems[0]}" if problems else None
    if block.expected_lang == "text":
        shown = block.expected.strip().splitlines()
        lines = output.strip().splitlines()
        if len(lines) != len(shown) or not all(
            text_matches(s, a) for s, a in zip(shown, lines, strict=False)
        ):
            return f"expected lines like {shown}, got {lines}"
        return None
    shape = parse_shape(block.expected)
    if not printed:
        return f"expected JSON like the README's, got {output[:500]!r}"
    if is_problem(printed[-1]) is not is_problem(shape) or any(is_problem(doc) for doc in printed[:-1]):
        return f"it printed a problem: {next(doc for doc in printed if is_problem(doc))}"
    return mismatch(shape, printed[-1])


# ---- running ---------------------------------------------------------------------------------------


def localised(code: str, port: int) -> str:
    return re.sub(r"(localhost|127\.0\.0\.1):8000\b", f"127.0.0.1:{port}", code)


def shell_code(block: Block, port: int, values: dict[str, str]) -> str:
    """The block as the test runs it: placeholders the reader fills in are filled in, and unknown ones
    fail."""
    lines = []
    for line in localised(block.code, port).splitlines():
        placeholder = PLACEHOLDER.match(line.strip())
        if placeholder:
            name = placeholder.group("name")
            assert name in values, f"{block}: no value for the reader's placeholder {name}"
            assert values[name].startswith(placeholder.group("prefix")), (name, placeholder.group("prefix"))
            line = f"export {name}={values[name]}"
        lines.append(line)
    return "\n".join(lines)


@dataclass
class Reader:
    """A reader's terminal: one working directory, the variables and functions each block defines."""

    workdir: Path
    env: dict[str, str]
    port: int
    values: dict[str, str]

    @property
    def state(self) -> Path:
        return self.workdir / ".readme-state.sh"

    def run_shell(self, block: Block) -> str:
        script = "\n".join(
            [
                "set -a -e -o pipefail",
                f"source {self.state}" if self.state.exists() else ":",
                shell_code(block, self.port, self.values),
                # carried to the next block: what it assigned (exported by set -a) and its functions
                f"{{ declare -px | grep -v '^declare -[a-zA-Z]*r'; declare -f; }} > {self.state}",
            ]
        )
        return self._run(["bash", "-c", script], block)

    def run_python(self, block: Block) -> str:
        env = dict(self.env)
        if self.state.exists():  # the variables the shell blocks before it set, as the reader's shell has
            listed = subprocess.run(
                ["bash", "-c", f"source {self.state} && env -0"], capture_output=True, check=True
            ).stdout
            env.update(dict(item.split("=", 1) for item in listed.decode().split("\0") if "=" in item))
        return self._run([sys.executable, "-c", localised(block.code, self.port)], block, env)

    def _run(self, command: list[str], block: Block, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            command, cwd=self.workdir, env=env or self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, (
            f"{block} failed ({done.returncode}): {done.stderr[-2000:]}{done.stdout[-1000:]}"
        )
        return done.stdout


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveHub, dict[str, str]]]:
    """A server made as `make run` makes it, and the demo keys `harken demo` printed."""
    home = tmp_path_factory.mktemp("readme")
    mail = home / "mail"
    mail.mkdir()
    env = {
        **os.environ,
        "HARKEN_DATABASE_URL": f"sqlite:///{home / 'harken.db'}",
        "HARKEN_DATA_DIR": str(home / "data"),
        "HARKEN_MAILER": f"directory:{mail}",
        "COLUMNS": "200",
    }
    harken = [sys.executable, "-m", "harken"]
    subprocess.run([*harken, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    demo = subprocess.run([*harken, "demo"], env=env, check=True, capture_output=True, text=True, timeout=120)
    keys = dict(re.findall(r"^\s+(.+?)\s+API key: (hk_\S+)$", demo.stdout, re.M))
    assert len(keys) == 3, demo.stdout
    with serve(env["HARKEN_DATABASE_URL"], Path(env["HARKEN_DATA_DIR"]), extra_env=env) as live:
        yield live, keys


def test_every_readme_example_runs_and_prints_what_the_readme_shows(
    hub: tuple[LiveHub, dict[str, str]], tmp_path: Path
) -> None:
    live, keys = hub
    port = int(live.url.rsplit(":", 1)[1])
    visitor = live.visitor()
    visitor.sign_in("lena@example.com", confirm=False)  # as a reader may: no business confirmed
    values = {name: keys.get(source, "") for name, source in READER_VALUES.items()}
    values["TOKEN"] = visitor.person_token()
    venv = str(Path(sys.executable).parent)
    env = {**live.env, "PATH": f"{venv}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    reader = Reader(tmp_path, env, port, values)
    text = README.read_text()
    shown = {b.expected for b in blocks(text) if b.expected_lang == "json"}
    for fence in re.finditer(r"^```json\n(.*?)^```\s*$", text, re.M | re.S):
        line = text[: fence.start()].count("\n") + 1
        assert fence.group(1) in shown, f"README.md:{line}: a JSON output that follows no example block"
    ran = 0
    for block in blocks(text):
        if block.skip:
            continue
        assert not NOT_PROMISED.search(block.code), (
            f"{block}: uses jq or GNU date; the README promises Python"
        )
        output = reader.run_shell(block) if block.lang in SHELL else reader.run_python(block)
        why = output_mismatch(block, output)
        assert why is None, f"{block}: {why}\n--- output ---\n{output[-3000:]}"
        ran += 1
    assert ran >= 10, f"only {ran} README blocks ran"


# ---- the checker itself ----------------------------------------------------------------------------


def test_shapes_match_placeholders_and_refuse_what_differs() -> None:
    shape = parse_shape('{"id": "5b1e…", "n": …, "notice": {"version": 2}, …}')
    assert mismatch(shape, {"id": "5b1e-x", "n": 7, "notice": {"version": 2}, "more": 1}) is None
    assert "version" in (mismatch(shape, {"id": "5b1e", "n": 1, "notice": {"version": 1}}) or "")
    assert "5b1e" in (mismatch(shape, {"id": "9c4f", "n": 1, "notice": {"version": 2}}) or "")
    exact = parse_shape('{"a": [1, "x…"]}')
    assert "keys differ" in (mismatch(exact, {"a": [1, "xy"], "b": 0}) or "")
    assert "list of 2" in (mismatch(exact, {"a": [1]}) or "")
    assert documents('{"a": 1}{"b": [2]}\nnot json') == [{"a": 1}, {"b": [2]}]


def test_blocks_pair_each_example_with_the_output_shown_after_it() -> None:
    text = "\n".join(
        ["<!-- readme-test: skip -->", "```sh", "make run", "```", "", "```sh", "curl x", "```",
         "```json", '{"a": 1}', "```", "```python", "print(1)", "```", "```text", "1", "```"]
    )  # fmt: skip
    found = blocks(text)
    assert [(b.lang, b.skip, b.expected_lang) for b in found] == [
        ("sh", True, None),
        ("sh", False, "json"),
        ("python", False, "text"),
    ]
    assert output_mismatch(found[1], '{"a": 2}') == "$.a: expected 1, got 2"
    assert output_mismatch(found[2], "1\n") is None
    problem = Block(1, "sh", "curl", False)
    assert "problem" in (
        output_mismatch(problem, '{"type": "/problems/x", "title": "t", "status": 410}') or ""
    )
