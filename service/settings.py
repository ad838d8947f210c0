"""The service's settings: one pydantic model, read from `RAG_*` environment variables.

    RAG_CONFIGS_DIR        folder of pipeline YAML files, one per config name (configs)
    RAG_DEFAULT_CONFIG     the config a request without `config` uses (bm25)
    RAG_CORS_ORIGINS       comma-separated origins allowed by CORS ("" = none)
    RAG_MAX_BODY_BYTES     larger request bodies get 413 (65536)
    RAG_RATE_PER_S         token-bucket refill rate per client, requests/s (20; 0 = off)
    RAG_RATE_BURST         token-bucket capacity per client, requests (40)
    RAG_LLM_CHECK_S        timeout of /ready's LLM reachability probe, seconds (2)
    RAG_WORKERS            pipeline runs at once per config; more wait (4, see workers.py)

The admin key is read by `service.auth` at request time (RAG_ADMIN_KEY), never stored
here, so it cannot leak through a settings dump. Left out on purpose: config files for
the service itself and pydantic-settings (a dozen variables do not need a framework).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.config import format_validation_error
from rag.errors import ConfigError

_ENV = {
    "configs_dir": "RAG_CONFIGS_DIR",
    "default_config": "RAG_DEFAULT_CONFIG",
    "cors_origins": "RAG_CORS_ORIGINS",
    "max_body_bytes": "RAG_MAX_BODY_BYTES",
    "rate_per_s": "RAG_RATE_PER_S",
    "rate_burst": "RAG_RATE_BURST",
    "llm_check_s": "RAG_LLM_CHECK_S",
    "workers": "RAG_WORKERS",
}


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    configs_dir: Path = Path("configs")
    default_config: str = Field("bm25", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = Field(64 * 1024, ge=256)
    rate_per_s: float = Field(20.0, ge=0, description="0 turns rate limiting off")
    rate_burst: int = Field(40, ge=1)
    llm_check_s: float = Field(2.0, gt=0)
    workers: int = Field(4, ge=1, le=64)
    preload: bool = Field(True, description="load the default config when the app starts")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from `RAG_*` variables, then explicit keyword overrides (e.g. from the CLI)."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for key, var in _ENV.items():
            if var in env:
                value = env[var]
                raw[key] = _origins(value) if key == "cors_origins" else value
        raw.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, "service settings (RAG_*)")) from None

    def config_path(self, name: str) -> Path:
        return self.configs_dir / f"{name}.yaml"


def _origins(value: str) -> tuple[str, ...]:
    return tuple(o.strip() for o in value.split(",") if o.strip())
