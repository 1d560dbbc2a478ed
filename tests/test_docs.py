"""Documentation is tested: every command and option is in the README, and the
README's two set-up commands are the ones CI runs."""

from __future__ import annotations

from pathlib import Path

import click

from beaconhunt.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _commands() -> dict[str, click.Command]:
    assert isinstance(main, click.Group)
    return dict(main.commands)


def test_every_command_is_in_the_readme() -> None:
    for name in _commands():
        assert f"beaconhunt {name}" in README, name


def test_every_option_is_in_the_readme() -> None:
    for name, cmd in _commands().items():
        for param in cmd.params:
            if isinstance(param, click.Option):
                longest = max(param.opts, key=len)
                assert longest in README, f"{name} {longest}"


def test_readme_starts_with_the_two_setup_commands() -> None:
    block = README.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2
    assert block[0].endswith("beaconhunt demo")
    assert "pytest" in block[1] and "[dev]" in block[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert block[1] in ci


def test_public_api_is_declared() -> None:
    import beaconhunt.decide
    import beaconhunt.detect
    import beaconhunt.enrich
    import beaconhunt.report
    import beaconhunt.synth

    for mod in (beaconhunt.decide, beaconhunt.detect, beaconhunt.enrich, beaconhunt.report,
                beaconhunt.synth):  # fmt: skip
        for name in mod.__all__:
            assert hasattr(mod, name), f"{mod.__name__}.{name}"


def test_every_network_reader_is_in_the_readme_formats_table() -> None:
    """A new reader must get a row (with a one-line example) in the README's formats table."""
    from beaconhunt.ingest.readers import READER_MODULES

    row_word = {
        "suricata": "Suricata `eve.json`",
        "nfdump": "nfdump -o csv",
        "squid": "Squid `access.log`",
        "w3c": "W3C extended",
        "panos": "Palo Alto Networks",
        "winfw": "`pfirewall.log`",
        "netfilter": "netfilter",
    }
    table = README.split("<!-- formats:start -->")[1].split("<!-- formats:end -->")[0]
    assert set(READER_MODULES) == set(row_word), "add the new reader to this test and the README"
    for name in READER_MODULES:
        rows = [line for line in table.splitlines() if row_word[name] in line]
        assert rows, name
        assert "beaconhunt hunt " in rows[0], name
