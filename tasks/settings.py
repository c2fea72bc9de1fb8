"""The one settings object: every knob Hitos has, from the environment (prefix ``HITOS_``)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings with a default each, so that one command runs a whole cycle on a laptop."""

    model_config = SettingsConfigDict(env_prefix="HITOS_", extra="ignore")

    home: Path = Field(Path(".hitos"), description="Workspace: ledger, files, mail, reports.")
    plan: Path = Field(
        Path(__file__).resolve().parents[1] / "plans" / "gt-pan5.yaml",
        description="Action plan file (YAML) the cycles run on.",
    )
    database_url: str = Field(
        "", description="SQLAlchemy URL of the ledger; empty means SQLite in the workspace."
    )
    language: str = Field(
        "",
        description="Language of emails, workbooks and reports (es, en); empty: the plan's "
        "`language:`.",
    )
    sender: str = Field(
        "gobiernoabierto@gae.example",
        description="From: address of every email; also the intake address institutions answer to.",
    )
    sender_name: str = Field(
        "Dirección de Gobierno Abierto",
        description="Display name on the From: of every email (the directorate's name).",
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server that sends Hitos' mail.")
    smtp_port: int = Field(8025, description="SMTP port (25 plain, 587 STARTTLS, 465 SSL).")
    smtp_security: Literal["plain", "starttls", "ssl"] = Field(
        "plain", description="SMTP transport security."
    )
    smtp_ca_file: Path | None = Field(
        None,
        description="CA certificates (PEM) that sign the SMTP server's; empty: the system's.",
    )
    smtp_user: str = Field("", description="SMTP login; empty means no login.")
    smtp_password: SecretStr = Field(
        SecretStr(""), description="SMTP password (secret: environment or Prefect Secret block)."
    )
    smtp_per_minute: int = Field(
        0, description="Most emails sent per minute (0: no limit), for capped providers."
    )
    smtp_retries: int = Field(4, description="Attempts for a temporarily refused email (4xx).")
    inbox: Literal["maildir", "imap"] = Field(
        "maildir", description="Where intake reads mail: the workspace Maildir or an IMAP mailbox."
    )
    imap_host: str = Field("127.0.0.1", description="IMAP server of the intake mailbox.")
    imap_port: int = Field(993, description="IMAP port (993 SSL, 143 plain).")
    imap_ssl: bool = Field(True, description="Use IMAP over SSL.")
    imap_user: str = Field("", description="IMAP login of the intake mailbox.")
    imap_password: SecretStr = Field(
        SecretStr(""), description="IMAP password (secret: environment or Prefect Secret block)."
    )
    imap_folder: str = Field("INBOX", description="IMAP folder intake reads.")
    imap_done_folder: str = Field(
        "Processed", description="IMAP folder a message moves to once its files are stored."
    )
    signing_key: SecretStr = Field(
        SecretStr("hitos-demo-signing-key"),
        description=(
            "Secret that signs request workbooks and keys Hitos' Message-IDs; set your own in "
            "production."
        ),
    )
    deadline_business_days: int = Field(
        10, description="Business days from opening to the deadline (weekends, holidays skipped)."
    )
    reminder_days: list[int] = Field(
        [5, 2, 0, -3, -6],
        description="Business days before the deadline to remind (0: the day; negative: after).",
    )
    claim_timeout_minutes: float = Field(
        15,
        description="Minutes after which work a crashed run left in doubt is taken by the next "
        "run: a received file it was validating, an email it was sending (sent again with the "
        "same Message-ID).",
    )
    close_after_days: int = Field(
        15,
        description="Business days after the deadline when a cycle closes by itself: late "
        "reminders (every 3 business days) stop there.",
    )
    operator_email: str = Field(
        "",
        description="Who is emailed when a flow run fails or crashes; empty: the plan's director.",
    )
    max_file_mb: int = Field(10, description="Largest attachment intake accepts, in MB.")
    max_rows: int = Field(1000, description="Most rows a sheet of a returned file may have.")
    max_columns: int = Field(50, description="Most columns a sheet of a returned file may have.")
    max_cells: int = Field(50_000, description="Most cells a returned file may have, all sheets.")
    max_findings: int = Field(
        50, description="Findings kept per file; the rest are counted in one summary finding."
    )
    max_seconds_per_file: float = Field(
        20.0, description="Seconds reading one returned file may take before it is refused."
    )
    report_base_url: str = Field(
        "",
        description="Public address of the reports folder (its `<plan>/<cycle>/latest/` is "
        "linked in the director's email); empty: the email links the console's copy.",
    )
    data_license: str = Field(
        "CC-BY-4.0",
        description="Licence (SPDX id) of the public board's open data, in its datapackage.json.",
    )

    evidence_allow_hosts: str = Field(
        "",
        description="Hosts (`host:port`, comma-separated) whose evidence links may be fetched "
        "even at a private, loopback or link-local address: an intranet, or a test server.",
    )
    evidence_timeout_seconds: float = Field(
        15.0, description="Seconds one evidence link's check may take, redirects included."
    )
    evidence_max_mb: int = Field(
        20, description="Largest evidence page archived, in MB (a larger one is only checked)."
    )

    portal_link_days: int = Field(
        60,
        description="Days a liaison's personal link works (it stops sooner when the cycle "
        "closes, the liaison changes or `hitos resend` sends a new one).",
    )
    portal_max_files: int = Field(
        30, description="Most files one personal link may upload in its whole life."
    )
    portal_files_per_hour: int = Field(
        10, description="Most files one personal link may upload in any hour."
    )
    demo_site_port: int = Field(
        8026,
        description="Port of the institutions' websites `hitos demo` runs on loopback (the "
        "demo's evidence links).",
    )

    console_url: str = Field(
        "http://127.0.0.1:8000",
        description="Address of the directorate's console, linked in reviewers' and the "
        "director's emails; the default is where `hitos serve` listens on this machine.",
    )

    @field_validator("evidence_allow_hosts")
    @classmethod
    def _hosts_and_ports(cls, value: str) -> str:
        """Refused at start-up, with the sentence to fix it, rather than at the first check."""
        hosts_and_ports(value)
        return value

    @property
    def console(self) -> str:
        """The console's address as emails link it (no trailing slash: paths are appended)."""
        return self.console_url.rstrip("/")

    @cached_property
    def plan_id(self) -> str:
        """The id of the plan this run works on: ``plan``'s own ``id:``."""
        from tasks.plans.plan import load_plan

        return load_plan(self.plan).id

    def on_plan(self, plan: Path) -> Settings:
        """The same settings on another plan file (``--plan``, a flow's ``plan`` parameter)."""
        return Settings(
            **{**{name: getattr(self, name) for name in Settings.model_fields}, "plan": plan}
        )

    @cached_property
    def database(self) -> str:
        """The ledger URL: the setting, or SQLite inside the workspace."""
        if self.database_url:
            return self.database_url
        self.home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.home / 'hitos.db').resolve()}"

    def folder(self, *parts: str) -> Path:
        """A folder inside the workspace, created on first use."""
        path = self.home.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


def hosts_and_ports(setting: str) -> set[tuple[str, int]]:
    """``HITOS_EVIDENCE_ALLOW_HOSTS`` as (host, port) pairs: ``"intranet.gob.gt:443, [::1]:8080"``
    → the host lower-cased, an IPv6 address unbracketed; ValueError with the one sentence an
    operator needs when an entry is not ``host:port``."""
    pairs = set()
    for entry in (e.strip() for e in setting.split(",")):
        if not entry:
            continue
        host, _, port = entry.rpartition(":")
        host = host.strip().lower()
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(
                f"HITOS_EVIDENCE_ALLOW_HOSTS: {entry!r} is not host:port "
                "(e.g. intranet.gob.gt:443, 127.0.0.1:8080, [::1]:8080)"
            )
        pairs.add((host, int(port)))
    return pairs


def secret(name: str, value: SecretStr) -> str:
    """A secret's value: the setting, else a Prefect Secret block named like the variable."""
    if value.get_secret_value():
        return value.get_secret_value()
    block = name.lower().replace("_", "-")
    from prefect.settings import get_current_settings

    if get_current_settings().api.url:
        from prefect.blocks.system import Secret

        try:
            loaded: Any = Secret.load(block)
        except ValueError:
            return ""
        return str(loaded.get())
    return ""


def settings_table() -> str:
    """The settings as a Markdown table for the README (a test keeps the two in step)."""
    rows = []
    for name, info in Settings.model_fields.items():
        default = info.default
        if isinstance(default, SecretStr):
            default = "(secret)" if default.get_secret_value() else ""
        if name == "plan":
            default = "plans/gt-pan5.yaml"
        if default is None:
            default = ""
        rows.append(f"| `HITOS_{name.upper()}` | `{default}` | {info.description} |")
    return "\n".join(rows)
