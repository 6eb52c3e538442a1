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
        ("key sk-ant-api03-AbC_dEf-123456", "key ***"),
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
