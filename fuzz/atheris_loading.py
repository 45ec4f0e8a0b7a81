"""Coverage-guided fuzzing of ``load_config`` on JSON and TOML files with atheris.

Run from the repository root (atheris is not a dependency of the project: ``pip install atheris``)::

    python fuzz/atheris_loading.py -atheris_runs=100000
    python fuzz/atheris_loading.py -max_total_time=300 fuzz/corpus/loading

The first byte chooses the file type (``.json`` or ``.toml``); the other bytes are the file, as
they are (not necessarily UTF-8; with ``--utf8``, decoded with replacement characters first, so that
the fuzzing goes past a file that is not UTF-8). Only ``PolicyConfigError`` may come out of
``load_config``, each of its lines ending with a ``$`` path; a configuration that loads must dump
and load back equal. Anything else is a crash that libFuzzer saves as ``crash-<hash>``.

Seed the corpus with the examples (``mkdir -p fuzz/corpus/loading && cp examples/*.json
fuzz/corpus/loading/``) for a head start.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import atheris  # type: ignore[import-not-found,import-untyped,unused-ignore]

with atheris.instrument_imports(include=["policy_engine"]):
    from policy_engine import PolicyConfigError, dump_config, load_config

PATH = re.compile(r'\$(?:\.[A-Za-z_][\w-]*|\[[0-9]+\]|\["(?:[^"\\]|\\.)*"\])*', re.DOTALL)
DIRECTORY = Path(tempfile.mkdtemp(prefix="atheris-loading-"))
UTF8_ONLY = "--utf8" in sys.argv


def test_one_input(data: bytes) -> None:
    """One libFuzzer input: a configuration file's bytes."""
    suffix = ".toml" if data[:1] == b"T" else ".json"
    path = DIRECTORY / f"config{suffix}"
    content = data[1:]
    if UTF8_ONLY:
        content = content.decode("utf-8", errors="replace").encode("utf-8")
    path.write_bytes(content)
    try:
        config = load_config(path)
    except PolicyConfigError as error:
        for line, (where, message) in zip(error.errors, error.problems, strict=True):
            if not PATH.fullmatch(where) or line != f"{message} @ {where}":
                raise AssertionError(line) from None
        return
    if load_config(dump_config(config)) != config:
        raise AssertionError("the configuration does not load back equal")


def main() -> None:
    """Hand the target to libFuzzer with the command line's options."""
    atheris.Setup([arg for arg in sys.argv if arg != "--utf8"], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
