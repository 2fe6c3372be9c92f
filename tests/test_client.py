"""The client: one method per operation; the version asked once; lookups that raise NotFound."""

from scripted import scripted_cli

ACCOUNT = "+4915112345678"
OTHER = "+4915100000001"


def test_version_is_asked_once(tmp_path):
    count = tmp_path / "count"
    cli = scripted_cli(tmp_path, f"echo x >> {count}\necho 'signal-cli 0.13.19'\n")
    assert [cli.version() for _ in range(3)] == ["0.13.19"] * 3
    assert count.read_text().count("x") == 1
