"""The registry and config are the first stage: bad input must give a one-line reason, secrets never leak."""

from __future__ import annotations

from pathlib import Path

import pytest

from ogi.config import Settings, redact_url
from ogi.registry import RegistryError, load_registry

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "r.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_contract_example_loads_with_defaults(tmp_path):
    p = write(
        tmp_path,
        """
portals:
  - id: henan-zhoukou-fugou
    name: 扶沟县人民政府
    division_code: "411621"
    province: 河南省
    city: 周口市
    county: 扶沟县
    start_urls:
      - http://www.fugou.gov.cn/zwgk/zfxxgknb/
""",
    )
    [portal] = load_registry(p)
    assert portal.id == "henan-zhoukou-fugou"
    assert portal.allowed_hosts == ("www.fugou.gov.cn",)  # default: hosts of start_urls
    assert portal.cms == "auto"
    assert portal.allows("http://www.fugou.gov.cn/zwgk/zfxxgknb/202101/t20210120_1.html")
    assert not portal.allows("http://evil.example.com/")


@pytest.mark.parametrize(
    "body, needle",
    [
        ("portals: []\nfoo", "not valid YAML"),
        ("[]", "expected a mapping"),
        ("portals:\n  - id: Bad_ID\n    start_urls: [http://a.gov.cn/]", "lowercase slug"),
        ("portals:\n  - id: a-b\n    start_urls: []", "start_urls is empty"),
        ("portals:\n  - id: a-b\n    start_urls: [ftp://a.gov.cn/]", "not an http(s) URL"),
        ("portals:\n  - id: a-b\n    start_urls: [http://a.gov.cn/]\n    cms: drupal", "cms 'drupal'"),
        ("portals:\n  - id: a-b\n    start_urls: [http://a.gov.cn/]\n  - id: a-b\n    start_urls: [http://b.gov.cn/]", "duplicate id"),
        ("portals:\n  - id: a-b\n    start_urls: [http://a.gov.cn/]\n    division_code: 12", "6 digits"),
    ],
)
def test_bad_registry_names_the_problem(tmp_path, body, needle):
    with pytest.raises(RegistryError, match=None) as e:
        load_registry(write(tmp_path, body))
    assert needle in str(e.value)
    assert "\n" not in str(e.value).strip() or "YAML" in str(e.value)


def test_missing_registry(tmp_path):
    with pytest.raises(RegistryError, match="not found"):
        load_registry(tmp_path / "nope.yaml")


def test_shipped_registries_load():
    for name in ("registry.yaml", "sample.yaml"):
        portals = load_registry(ROOT / "portals" / name)
        assert portals, name
        assert len({p.id for p in portals}) == len(portals)


@pytest.mark.parametrize(
    "url, secret",
    [
        ("dingtalk://s3cretTOKEN/", "s3cretTOKEN"),
        ("dingtalk://sig@s3cretTOKEN/", "s3cretTOKEN"),
        ("json://127.0.0.1:8765/hook?token=abc123", "abc123"),
        ("mailtos://user:pa55word@smtp.example.com", "pa55word"),
        ("wecombot://KEY12345", "KEY12345"),
        ("https://hooks.slack.com/services/T000/B000/XXXXSECRET", "XXXXSECRET"),
    ],
)
def test_redact_url_hides_tokens(url, secret):
    red = redact_url(url)
    assert secret not in red
    assert red.split("://")[0] == url.split("://")[0]


def test_alert_urls_from_env_override_config(tmp_path, monkeypatch):
    cfg = tmp_path / "ogi.yaml"
    cfg.write_text("alerts:\n  urls: [json://127.0.0.1:1/a]\ncrawl:\n  per_host_concurrency: 3\n", encoding="utf-8")
    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    for var in ("OGI_ALERT_URLS", "OGI_CONFIG", "OGI_DB", "OGI_DATA_DIR", "OGI_ARCHIVE", "OGI_PORTALS"):
        monkeypatch.delenv(var, raising=False)
    s = Settings.load()
    assert s.alert_urls == ["json://127.0.0.1:1/a"]
    assert s.crawl.per_host_concurrency == 3
    assert s.db_path == tmp_path / "data" / "ogi.duckdb"
    monkeypatch.setenv("OGI_ALERT_URLS", "json://127.0.0.1:2/b, json://127.0.0.1:3/c")
    assert Settings.load().alert_urls == ["json://127.0.0.1:2/b", "json://127.0.0.1:3/c"]
