from __future__ import annotations

import pytest

from dacrew.findings.redact import redact_obj, redact_text


def test_env_secrets_are_masked_wherever_they_appear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "plainkeyvalue")
    monkeypatch.setenv("MY_SERVICE_PASSWORD", "correct-horse")
    monkeypatch.setenv("GITHUB_TOKEN", "short")  # under 8 characters: too short to mask safely
    assert redact_text("a plainkeyvalue b correct-horse c short") == "a *** b *** c short"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-ant-" + "api03-AbC_dEf-123456", "key ***"),
        ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ***"),
        ("postgres://u@h?password=s3cr3t&x=1", "postgres://u@h?password=***&x=1"),
        ('{"x-api-key": "abc123def"}', '{"x-api-key": "***"}'),
        ("PASSWORD: hunter2", "PASSWORD: ***"),
        ("input_tokens: 12, tokens used", "input_tokens: 12, tokens used"),
    ],
)
def test_credential_patterns(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_redact_obj_recurses_and_masks_secret_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DACREW_ORCHESTRA__API_KEY", "orchestra-secret")
    obj = {"a": ["x orchestra-secret", 3, ("orchestra-secret",)], "api_key": "anything", "n": None}
    assert redact_obj(obj) == {"a": ["x ***", 3, ("***",)], "api_key": "***", "n": None}


def test_env_names_that_hold_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Review: these variables were printed raw."""
    names = {
        "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "passphrase-1",
        "SNOWFLAKE_PWD": "pwd-value-2",
        "DBT_PASS": "dbtpass3",
        "SNOWFLAKE_PRIVATE_KEY": "MIIEvkeybody4",
        "SERVICE_CREDENTIALS": "credvalue5",
    }
    for name, value in names.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PWD", "/home/someone/project")  # the working directory is not a secret
    text = " ".join(names.values()) + " in /home/someone/project"
    assert redact_text(text) == "*** *** *** *** *** in /home/someone/project"


def test_changed_environment_is_seen_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBT_PASS", "first-secret")
    assert redact_text("first-secret") == "***"
    monkeypatch.setenv("DBT_PASS", "second-secret")
    assert redact_text("first-secret second-secret") == "first-secret ***"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("snowflake://user:hunter2@acct/db", "snowflake://user:***@acct/db"),
        ("https://x.example/cb?token=abc123xyz&y=2", "https://x.example/cb?token=***&y=2"),
        ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIE\nabc\n-----END ENCRYPTED PRIVATE KEY-----\nafter", "***\nafter"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE truncated", "***"),
        ("ghp_" + "a1B2" * 9, "***"),
        ("github_pat_" + "11ABCDEFG0" * 4, "***"),
        ("key AKIA" + "IOSFODNN7EXAMPLE here", "key *** here"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = ***"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
        ('password: "two words"', 'password: "***"'),
        ("password: 'two words' rest", "password: '***' rest"),
        ("passphrase=abc def", "passphrase=*** def"),
        ("the token_name: dacrew-ci", "the token_name: dacrew-ci"),
    ],
)
def test_more_credential_patterns(text: str, expected: str) -> None:
    assert redact_text(text, []) == expected


def test_secret_keys_are_masked_whole() -> None:
    obj = {
        "token": "t0k3n",
        "pat": "p4t",
        "private_key": "k3y",
        "passphrase": "ph",
        "secret": "s",
        "api_key": "a",
        "github_pat": "g",
        "token_name": "dacrew-ci",
        "unique_key": "customer_id",
        "path": "models/x.sql",
    }
    assert redact_obj(obj, []) == {
        **{k: "***" for k in ("token", "pat", "private_key", "passphrase", "secret", "api_key", "github_pat")},
        "token_name": "dacrew-ci",
        "unique_key": "customer_id",
        "path": "models/x.sql",
    }
