"""All configuration in one place (environment prefix KTPEL_), with defaults that run the embedded demo."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def find_shared_data() -> Path | None:
    """Locate ../shared/data beside the repository (or the working directory)."""
    starts = [Path.cwd(), Path(__file__).resolve()]
    for start in starts:
        for parent in [start, *start.parents]:
            candidate = parent / "shared" / "data"
            if (candidate / "wilayah" / "wilayah.csv").is_file():
                return candidate
            candidate = parent.parent / "shared" / "data"
            if (candidate / "wilayah" / "wilayah.csv").is_file():
                return candidate
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KTPEL_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path.cwd() / ".ktpel")
    database_url: str | None = None
    shared_data: Path | None = None
    # the regency this office serves, e.g. "18.01" (Kabupaten Lampung Selatan)
    office_regency: str = "18.01"
    office_name: str = "Disdukcapil Kabupaten Lampung Selatan"
    central_url: str = "http://127.0.0.1:8001"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None
    page_size: int = 25

    def resolved_database_url(self, *, name: str = "office") -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / (name + '.db')}"

    def resolved_shared_data(self) -> Path:
        path = self.shared_data or find_shared_data()
        if path is None or not (path / "wilayah" / "wilayah.csv").is_file():
            raise FileNotFoundError(
                "Reference data not found: put the shared data folder beside the repository "
                "(../shared/data) or set KTPEL_SHARED_DATA."
            )
        return path


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
